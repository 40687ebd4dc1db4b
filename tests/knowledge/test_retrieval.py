from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from knowledge.ranking import DecisionModel
from knowledge.retrieval import HybridRetriever, weighted_rrf
from knowledge.service import KnowledgeBase


def test_weighted_rrf_orders_by_weighted_reciprocal_rank() -> None:
    fused = weighted_rrf([(["a", "b", "c"], 1.0), (["c", "a"], 0.5)], k=10)
    assert sorted(fused, key=lambda x: -fused[x]) == ["a", "c", "b"]
    assert weighted_rrf([(["a"], 0.0)], k=10) == {}


def test_colloquial_alias_finds_formal_article(kb: KnowledgeBase, sample_docs) -> None:
    kb.ingest(sample_docs)
    passages = kb.search("委员可以声明退出政协吗", k=5)
    assert any(p.article == "第二十八条" for p in passages)
    top = passages[0]
    assert top.source and top.title and top.chunk_id and top.score > 0


def test_question_naming_a_document_prefers_it(kb: KnowledgeBase, sample_docs) -> None:
    kb.ingest(sample_docs)
    passages = kb.search("宪法里有没有写到政协", k=5)
    assert passages[0].source == "中华人民共和国宪法.md"


def test_bm25_rebuilt_from_chroma_on_open(kb: KnowledgeBase, config, embedder, sample_docs) -> None:
    kb.ingest(sample_docs[:2])
    reopened = KnowledgeBase.open(config, embedder=embedder)
    before = embedder.passages_embedded
    assert len(reopened.retriever.chunks) == len(kb.retriever.chunks) > 0
    assert reopened.search("国旗", k=3)
    assert embedder.passages_embedded == before  # nothing re-embedded at start


def test_lexical_fallback_without_embedder(config, embedder, sample_docs, caplog) -> None:
    kb = KnowledgeBase.open(config, embedder=embedder)
    kb.ingest(sample_docs)
    lexical = KnowledgeBase(config, kb.store, None, kb.tokenizer)
    passages = lexical.search("委员可以声明退出政协吗")
    assert any(p.article == "第二十八条" for p in passages)
    answer = lexical.answer("委员可以声明退出政协吗")
    assert answer.text


def test_loaded_vectors_give_the_features_the_store_gives(kb: KnowledgeBase, sample_docs) -> None:
    """Cosines of BM25-only candidates from the vectors read at load equal those asked of Chroma."""
    kb.ingest(sample_docs)
    model = DecisionModel.load()
    chunks, vectors = kb.store.mirror()
    clauses = kb.store.clause_mirror()
    assert vectors is not None and vectors.shape[0] == len(chunks) and len(clauses) > 0
    thresholds = kb.retriever.thresholds
    mirrored = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, thresholds, chunks, model, vectors, clauses)
    asking = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, thresholds, chunks, model, clauses=clauses)
    assert asking.vectors is None
    for question in ("委员可以声明退出政协吗", "宪法里有没有写到政协", "一年要交几件提案"):
        vector = mirrored.query_vector(question)
        assert vector is not None
        dense = mirrored.dense(question, 5, vector)  # few dense hits: most BM25 candidates need a cosine
        lexical = mirrored.lexical(question, 40)
        got = mirrored.candidate_features(question, vector, dense, lexical)
        want = asking.candidate_features(question, vector, dense, lexical)
        assert got.ids == want.ids and len(got.ids) > len(dense)
        assert got.dense_scores == want.dense_scores
        assert np.array_equal(got.features, want.features)


def test_dense_search_over_the_loaded_vectors_is_exact(kb: KnowledgeBase, sample_docs) -> None:
    """With the vectors loaded, the dense candidates are the exact cosine top n (what the ranker was fitted
    on): never worse than what Chroma's approximate index finds, rank by rank, and the same on every call."""
    kb.ingest(sample_docs)
    chunks, vectors = kb.store.mirror()
    assert vectors is not None
    mirrored = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, kb.retriever.thresholds, chunks, vectors=vectors)
    asking = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, kb.retriever.thresholds, chunks)
    for question in ("委员可以声明退出政协吗", "宪法里有没有写到政协", "一年要交几件提案"):
        vector = mirrored.query_vector(question)
        assert vector is not None
        exact = mirrored.dense(question, 8, vector)
        every = sorted(((float(vectors[i] @ vector), sc.id) for i, sc in enumerate(chunks)), reverse=True)
        assert [cid for cid, _ in exact] == [cid for _, cid in every[:8]]
        assert [s for _, s in exact] == sorted((s for _, s in exact), reverse=True)
        from_store = asking.dense(question, 8, vector)
        assert from_store[0][0] == exact[0][0]
        assert all(e >= f - 1e-5 for (_, e), (_, f) in zip(exact, from_store, strict=True))
        assert mirrored.dense(question, 8, vector) == exact
    assert mirrored.dense("委员", len(chunks) + 5, mirrored.query_vector("委员"))[-1][0] in mirrored.by_id


def test_without_loaded_vectors_the_candidates_vectors_are_asked_once(kb: KnowledgeBase, sample_docs) -> None:
    """Asking the store (no vectors loaded), one question's candidates cost one embeddings call: the
    vectors the adapter needs also give the cosines of the BM25-only candidates."""
    kb.ingest(sample_docs)
    assert kb.embedder is not None
    model = dataclasses.replace(DecisionModel.load(), adapter=np.ones(kb.embedder.dim))  # the test embedder's size
    chunks, _ = kb.store.mirror(vectors=False)
    asking = HybridRetriever(kb.store, kb.embedder, kb.tokenizer, kb.retriever.thresholds, chunks, model)
    calls: list[int] = []
    fetch = kb.store.embeddings_for

    def counted(ids: Sequence[str]) -> dict[str, np.ndarray]:
        calls.append(len(ids))
        return fetch(ids)

    kb.store.embeddings_for = counted  # type: ignore[method-assign]
    question = "委员可以声明退出政协吗"
    vector = asking.query_vector(question)
    assert vector is not None
    dense = asking.dense(question, 5, vector)
    cands = asking.candidate_features(question, vector, dense, asking.lexical(question, 40))
    assert len(cands.ids) > len(dense) and cands.adapted is not None
    assert calls == [len(cands.ids)]
