"""The evidence check: dense closeness alone is not enough, the quoted passage must support the question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import texts
from knowledge.aliases import AliasNormalizer
from knowledge.answering import has_evidence
from knowledge.chunking import chunk_document
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.loaders import load
from knowledge.models import Passage
from knowledge.retrieval import Retrieval
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR
from knowledge.tokenize import Tokenizer, asks_quantity, salient_terms, states_quantity

DEVSET = Path(__file__).resolve().parents[2] / "bench" / "kb_devset.jsonl"
BLIND = DEVSET.with_name("kb_cppcc_blind.jsonl")

GUIDE = """标题：委员服务指南 | 发布机关：本委员会办公室

# 委员服务指南

## 委员证

政协委员由委员会统一制发委员证，委员证是委员参加政协活动的身份凭证。

## 学习心得

委员提交学习心得，每篇记2分。
"""


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(AliasNormalizer.from_file())


@pytest.fixture
def guide_kb(tmp_path: Path) -> KnowledgeBase:
    # min_dense=0.0: every passage is "close enough" by cosine, so only the lexical checks decide.
    config = KnowledgeConfig(persist_dir=tmp_path / "c", embedder="hash", thresholds=Thresholds(min_dense=0.0))
    kb = KnowledgeBase.open(config, embedder=HashEmbedder())
    doc = tmp_path / "委员服务指南.md"
    doc.write_text(GUIDE, encoding="utf-8")
    assert kb.ingest([doc]).chunks == 2
    return kb


def _retrieval(evidence: float, support: float, *, asks: bool = False, states: bool = False) -> Retrieval:
    passage = Passage(source="a.md", title="A", article="第一条", text="第一条 内容", score=1.0, chunk_id="x")
    return Retrieval(
        passages=[passage],
        dense_top=evidence,
        evidence=evidence,
        coverage=support,
        support=support,
        asks_quantity=asks,
        states_quantity=states,
    )


def test_salient_terms_ignore_generic_words_and_interrogatives(tokenizer: Tokenizer) -> None:
    assert salient_terms(tokenizer("中国人民政治协商会议委员会的规定怎么说")) == []
    terms = salient_terms(tokenizer("政协委员一年要交几件提案"))
    assert "提案" in terms
    assert not {"政协", "委员", "政协委员", "几件"} & set(terms)


def test_decision_combines_cosine_and_lexical_support() -> None:
    t = Thresholds(min_dense=0.88, min_support=0.1, min_dense_unsupported=0.90)
    assert has_evidence(_retrieval(0.885, 0.3), t) == (True, 0.885)  # close and supported
    assert has_evidence(_retrieval(0.895, 0.0), t) == (False, 0.895)  # close, nothing in common
    assert has_evidence(_retrieval(0.905, 0.0), t)[0]  # very close on its own
    assert not has_evidence(_retrieval(0.87, 1.0), t)[0]  # supported but too far
    # The unsupported threshold never undercuts min_dense: a strict min_dense refuses everything.
    assert not has_evidence(_retrieval(0.95, 0.0), Thresholds(min_dense=0.99, min_dense_unsupported=0.5))[0]


def test_quantity_question_needs_a_passage_stating_a_number() -> None:
    t = Thresholds(min_dense=0.0)
    assert not has_evidence(_retrieval(0.95, 1.0, asks=True, states=False), t)[0]
    assert has_evidence(_retrieval(0.95, 1.0, asks=True, states=True), t)[0]
    assert has_evidence(_retrieval(0.95, 1.0, asks=True, states=False), Thresholds(quantity_check=False))[0]
    assert asks_quantity("委员一年要交几件提案？") and asks_quantity("提案交上去多久会有答复")
    assert not asks_quantity("我想看看自己现在有多少积分，咋查")  # asks how, not how many
    assert not asks_quantity("政协的主要职能是哪几样")
    assert states_quantity("全体会议每年举行一次") and states_quantity("每完整学习20分钟记1分")
    assert not states_quantity("一般一事一案，写明标题、案由")


def test_question_sharing_only_generic_words_is_refused(guide_kb: KnowledgeBase) -> None:
    retrieval = guide_kb.retrieve("政协委员每个月的津贴发到哪张卡上")
    assert retrieval.evidence is not None and retrieval.evidence > 0.0  # the cosine alone would answer
    assert retrieval.support == 0.0
    answer = guide_kb.answer("政协委员每个月的津贴发到哪张卡上")
    assert not answer.answered and answer.text == texts.NOT_COVERED and answer.mode == "refusal"


def test_salient_term_in_the_passage_is_answered(guide_kb: KnowledgeBase) -> None:
    answer = guide_kb.answer("委员证是干什么用的")
    assert answer.answered and answer.passages[0].label == "委员证"
    assert answer.support is not None and answer.support >= Thresholds().min_support


def test_number_question_answered_only_where_the_number_is(guide_kb: KnowledgeBase) -> None:
    answer = guide_kb.answer("交一篇学习心得能记几分")
    assert answer.answered and "2分" in answer.text
    refused = guide_kb.answer("委员证几年换一次")  # the 委员证 section states no period
    assert not refused.answered and refused.passages[0].label == "委员证"


def test_devset_is_well_formed() -> None:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    ooc = [r for r in rows if r["doc"] is None]
    guide = [r for r in rows if r["doc"] is not None]
    assert len(ooc) >= 15 and len(guide) >= 15 and len({r["id"] for r in rows}) == len(rows)
    for row in guide:
        text = (STARTER_DIR / row["doc"]).read_text(encoding="utf-8")
        assert f"## {row['article']}" in text
        assert all(keyword in text for keyword in row["answer_keywords"]), row["id"]


def test_blind_cppcc_set_is_well_formed(sample_docs: list[Path]) -> None:
    """bench/kb_cppcc_blind.jsonl: each gold label is an article of the chunked document, and every answer
    keyword is in it (or in an ``also`` article); x* rows are out of corpus."""
    rows = [json.loads(line) for line in BLIND.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({r["id"] for r in rows}) == len(rows) == 70
    text_of: dict[tuple[str, str], str] = {}
    for path in sample_docs:
        for chunk in chunk_document(load(path)):
            if chunk.article:
                key = (path.name, chunk.article)
                text_of[key] = text_of.get(key, "") + chunk.text
    ooc = [r for r in rows if r["doc"] is None]
    assert len(ooc) == 10 and all(r["id"].startswith("x") for r in ooc)
    for row in rows:
        if row["doc"] is None:
            continue
        golds = [(row["doc"], row["article"]), *(tuple(g) for g in row.get("also", []))]
        assert all(g in text_of for g in golds), row["id"]
        text = "".join(text_of[g] for g in golds)
        assert all(keyword in text for keyword in row["answer_keywords"]), row["id"]
