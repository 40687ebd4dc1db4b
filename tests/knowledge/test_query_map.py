"""The ranker's query map: a low-rank linear map of the question's vector toward where the answering
passages lie, fitted by ridge regression, weighed by the ranker, shipped in ranker.json and applied to
every candidate at query time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.ranking import (
    CALIB_FEATURES,
    DEFAULT_MODEL,
    RANK_FEATURES,
    DecisionModel,
    LinearModel,
    QueryMap,
    fit_query_map,
)
from knowledge.service import KnowledgeBase

RULES = """# 委员履职服务办法

第一条 为做好委员履职服务工作，制定本办法。

第二条 委员应当按时参加会议，因故不能参加的应当事先书面请假。

第三条 委员提出提案，应当一事一案，实事求是。

第四条 委员的学习情况纳入履职考核，由办公室记录积分。
"""


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x, axis=-1, keepdims=True), dtype=np.float64)


def _pairs(rng: np.random.Generator, shift: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Questions, and their answers: the question moved along a fixed low-rank transform, plus noise."""
    q = _unit(rng.normal(size=(n, shift.shape[0])))
    return q, _unit(q + q @ shift + 0.05 * rng.normal(size=q.shape))


def test_the_map_moves_new_questions_toward_their_answers() -> None:
    rng = np.random.default_rng(0)
    dim = 16
    a, b = rng.normal(size=(dim, 2)), rng.normal(size=(2, dim))
    shift = a @ b  # rank 2
    train_q, train_gold = _pairs(rng, shift, 400)
    query_map = fit_query_map(train_q, train_gold, alpha=1.0, rank=2)
    assert query_map.down.shape == (dim, 2) and query_map.up.shape == (2, dim) and query_map.weight == 1.0
    test_q, test_gold = _pairs(rng, shift, 100)
    raw = np.einsum("ij,ij->i", test_q, test_gold)
    mapped = np.array([_cos(query_map, q, g) for q, g in zip(test_q, test_gold, strict=True)])
    assert mapped.mean() > raw.mean() + 0.2 and (mapped > raw).mean() > 0.9
    moved = query_map.mapped(test_q[0])
    assert moved is not None and np.allclose(np.linalg.norm(moved), 1.0)
    # A heavy ridge penalty leaves the question where it was.
    held = fit_query_map(train_q, train_gold, alpha=1e9, rank=2).mapped(test_q[0])
    assert held is not None and np.allclose(held, test_q[0], atol=1e-6)


def _cos(query_map: QueryMap, query: np.ndarray, passage: np.ndarray) -> float:
    cos = query_map.cosines(query, passage[None, :])
    assert cos is not None
    return float(cos[0])


def _model(query_map: QueryMap | None, adapter: np.ndarray | None = None) -> DecisionModel:
    d, c = len(RANK_FEATURES), len(CALIB_FEATURES)
    return DecisionModel(
        ranker=LinearModel(RANK_FEATURES, np.zeros(d), 0.0, np.zeros(d), np.ones(d)),
        calibrator=LinearModel(CALIB_FEATURES, np.zeros(c), 0.0, np.zeros(c), np.ones(c)),
        answer_threshold=0.9,
        candidate_threshold=0.1,
        associations={},
        info={},
        adapter=adapter,
        query_map=query_map,
    )


def test_the_map_round_trips_adds_to_the_adapter_and_ignores_vectors_of_another_size(tmp_path: Path) -> None:
    query_map = QueryMap(np.array([[1.0], [0.0], [0.0]]), np.array([[0.0, 1.0, 0.0]]), 2.0)
    model = _model(query_map, adapter=np.array([1.0, 0.0, 0.0]))
    path = tmp_path / "ranker.json"
    model.save(path)
    loaded = DecisionModel.load(path)
    assert loaded.query_map is not None and loaded.uses_vectors
    assert loaded.query_map.down.tolist() == [[1.0], [0.0], [0.0]] and loaded.query_map.weight == 2.0
    query = np.array([1.0, 0.0, 0.0])  # mapped: (1, 1, 0) / sqrt(2)
    passages = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    cos = 1 / np.sqrt(2)
    term = loaded.query_map.term(query, passages)
    assert term is not None and np.allclose(term, [2 * cos, 2 * cos, 0.0])
    adapted = loaded.adapted(query, passages)
    assert adapted is not None and np.allclose(adapted, [1.0 + 2 * cos, 2 * cos, 0.0])
    assert loaded.adapted(np.ones(4), np.ones((2, 4))) is None
    assert not _model(None).uses_vectors and _model(None).adapted(query, passages) is None
    # a model written before the map existed still loads
    data = model.to_json()
    del data["query_map"]
    assert DecisionModel.from_json(data).query_map is None


def test_the_shipped_model_has_a_query_map_for_the_bundled_embedder() -> None:
    query_map = DecisionModel.load(DEFAULT_MODEL).query_map
    assert query_map is not None and query_map.dim == 384
    assert 1 <= query_map.down.shape[1] <= 64 and query_map.weight > 0
    assert np.isfinite(query_map.down).all() and np.isfinite(query_map.up).all()


def test_the_retriever_ranks_by_the_mapped_cosine(tmp_path: Path) -> None:
    """With every other weight at zero, the order is the query map's alone, computed from the stored
    vectors; without a map (nor an adapter) the vectors are not fetched at all."""
    doc = tmp_path / "委员履职服务办法.md"
    doc.write_text(RULES, encoding="utf-8")
    embedder = HashEmbedder()
    config = KnowledgeConfig(persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.0))
    kb = KnowledgeBase.open(config, embedder=embedder)
    assert not kb.ingest([doc]).skipped
    retriever = kb.retriever
    question = "委员不能参加会议怎么请假"
    vector = embedder.embed_query(question)
    dense = retriever.dense(question, 10, vector)
    lexical = retriever.lexical(question, 10)
    tops = set()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        query_map = QueryMap(rng.normal(size=(embedder.dim, 2)) * 3, rng.normal(size=(2, embedder.dim)), 5.0)
        retriever.model = _model(query_map)
        cands = retriever.candidate_features(question, vector, dense, lexical)
        stored = retriever.candidate_vectors(cands.ids)
        assert cands.adapted is not None and stored is not None
        moved = query_map.mapped(vector)
        assert moved is not None and np.allclose(cands.adapted, 5.0 * stored @ moved, atol=1e-4)
        order, scores, _ = retriever.rank(cands)
        assert np.allclose(scores, cands.adapted) and order[0] == int(np.argmax(cands.adapted))
        tops.add(cands.ids[order[0]])
    assert len(tops) > 1  # the map, not the retrieval order, decides
    retriever.model = _model(None)
    assert retriever.candidate_features(question, vector, dense, lexical).adapted is None
