"""The ranker's adapter: one weight per embedding dimension on the query-passage product, fitted with the
ranker, shipped in ranker.json and applied to every candidate at query time."""

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
    fit_listwise,
    split_adapter,
)
from knowledge.service import KnowledgeBase

RULES = """# 委员履职服务办法

第一条 为做好委员履职服务工作，制定本办法。

第二条 委员应当按时参加会议，因故不能参加的应当事先书面请假。

第三条 委员提出提案，应当一事一案，实事求是。

第四条 委员的学习情况纳入履职考核，由办公室记录积分。
"""


def _synthetic_groups(rng: np.random.Generator, n: int = 200) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per question: one noise feature, the products of a random query and candidates, and the gold mask.
    Gold is the candidate whose product is largest on dimension 0 (dimension 1 is weighed against)."""
    groups = []
    for _ in range(n):
        q = rng.normal(size=6)
        d = rng.normal(size=(20, 6))
        prod = d * q
        gold = np.zeros(20, dtype=bool)
        gold[int(np.argmax(3 * prod[:, 0] - prod[:, 1]))] = True
        groups.append((rng.normal(size=(20, 1)), prod, gold))
    return groups


def test_the_adapter_learns_which_dimensions_separate_the_gold_passage() -> None:
    groups = _synthetic_groups(np.random.default_rng(0))
    names = ("noise", *(f"adapter_{i}" for i in range(6)))
    l2 = np.array([1.0] + [5.0] * 6)
    full = fit_listwise([(np.hstack([x, p]), g) for x, p, g in groups], names, l2=l2)
    linear, adapter = split_adapter(full, 1)
    assert linear.names == ("noise",) and adapter.shape == (6,)
    assert adapter[0] > 0 and adapter[1] < 0
    assert abs(adapter[0]) > 3 * max(abs(adapter[2:]).max(), 1e-9)
    top1 = np.mean([g[int(np.argmax(linear.score(x) + p @ adapter))] for x, p, g in groups])
    assert top1 > 0.8
    # Splitting drops only the products' standardising offset: every question ranks as the full model does.
    for x, p, _ in groups[:20]:
        whole = full.score(np.hstack([x, p]))
        split = linear.score(x) + p @ adapter
        assert np.allclose(whole - split, (whole - split)[0])
        assert np.argsort(-whole).tolist() == np.argsort(-split).tolist()


def test_per_feature_penalties_hold_a_weight_at_zero() -> None:
    groups = [(np.hstack([x, p]), g) for x, p, g in _synthetic_groups(np.random.default_rng(1), 100)]
    names = ("noise", *(f"adapter_{i}" for i in range(6)))
    free = fit_listwise(groups, names, l2=1.0)
    held = fit_listwise(groups, names, l2=np.array([1.0, 1e6, 1.0, 1.0, 1.0, 1.0, 1.0]))
    assert abs(free.weights[1]) > 1.0 and abs(held.weights[1]) < 1e-3


def _model(adapter: np.ndarray | None) -> DecisionModel:
    d, c = len(RANK_FEATURES), len(CALIB_FEATURES)
    return DecisionModel(
        ranker=LinearModel(RANK_FEATURES, np.zeros(d), 0.0, np.zeros(d), np.ones(d)),
        calibrator=LinearModel(CALIB_FEATURES, np.zeros(c), 0.0, np.zeros(c), np.ones(c)),
        answer_threshold=0.9,
        candidate_threshold=0.1,
        associations={},
        info={},
        adapter=adapter,
    )


def test_the_adapter_round_trips_and_ignores_vectors_of_another_size(tmp_path: Path) -> None:
    model = _model(np.array([0.5, -0.25, 2.0]))
    path = tmp_path / "ranker.json"
    model.save(path)
    loaded = DecisionModel.load(path)
    assert loaded.adapter is not None and loaded.adapter.tolist() == [0.5, -0.25, 2.0]
    passages = np.array([[1.0, 1.0, 1.0], [0.0, 2.0, 0.0]])
    adapted = loaded.adapted(np.array([1.0, 1.0, 0.5]), passages)
    assert adapted is not None and adapted.tolist() == [0.5 - 0.25 + 1.0, -0.5]
    assert loaded.adapted(np.ones(4), np.ones((2, 4))) is None
    assert _model(None).adapted(np.ones(3), passages) is None
    assert np.allclose(loaded.scores(np.zeros((2, len(RANK_FEATURES))), adapted), adapted)


def test_the_shipped_model_has_an_adapter_for_the_bundled_embedder() -> None:
    model = DecisionModel.load(DEFAULT_MODEL)
    assert model.adapter is not None and model.adapter.shape == (384,)
    assert np.isfinite(model.adapter).all() and np.abs(model.adapter).max() > 0


def test_the_retriever_ranks_by_the_adapter_term(tmp_path: Path) -> None:
    """With every feature weight at zero, the order is the adapter's alone: the candidate with the largest
    weighted product comes first, whichever it is, and the term is the stored vectors' product."""
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
        adapter = np.random.default_rng(seed).normal(size=embedder.dim) * 10
        retriever.model = _model(adapter)
        cands = retriever.candidate_features(question, vector, dense, lexical)
        stored = retriever.candidate_vectors(cands.ids)
        assert cands.adapted is not None and stored is not None
        assert np.allclose(cands.adapted, stored @ (vector * adapter), atol=1e-4)
        order, scores, _ = retriever.rank(cands)
        assert np.allclose(scores, cands.adapted) and order[0] == int(np.argmax(cands.adapted))
        tops.add(cands.ids[order[0]])
    assert len(tops) > 1  # the adapter, not the retrieval order, decides
    retriever.model = _model(None)
    assert retriever.candidate_features(question, vector, dense, lexical).adapted is None
