"""Learned ranking and the calibrated answer/candidates/refusal decision.

Both models are small linear models over corpus-agnostic features (scores, ranks, ratios, title and
chapter match, lengths, position), fitted offline by ``python -m bench.kb_train`` with folds by law
and shipped as ``knowledge/ranker.json``; nothing is trained at start.

- The ranker scores every candidate of a question (the union of the dense and BM25 candidates); it
  is a conditional-logit (listwise softmax) model, so its weights rank, they do not threshold. Beside
  the features it has one weight per embedding dimension (the adapter): the question-passage product
  ``Σ_i v_i q_i d_i``, a cosine that weighs the dimensions which separate the right article, and one
  weight on the cosine of the passage to the mapped question (the query map: a low-rank linear map of
  the question's vector toward the vectors of the passages that answered questions like it).
- The calibrator maps features of the best candidate (and how far it leads the next one) to the
  probability that it answers the question; two thresholds on that probability give the decision.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Decision = Literal["answer", "candidates", "refusal"]

DEFAULT_MODEL = Path(__file__).with_name("ranker.json")

# Features of one candidate passage for one question (see retrieval.HybridRetriever.candidate_features).
RANK_FEATURES: tuple[str, ...] = (
    "dense_cos",  # cosine of the query to the passage
    "dense_gap",  # best cosine among the dense candidates minus this one
    "dense_lograng",  # -log(rank) in the dense list (absent: -log(2N))
    "bm25_ratio",  # BM25 score / best BM25 score (absent: 0)
    "bm25_lograng",  # -log(rank) in the BM25 list (absent: -log(2N))
    "in_both",  # in both candidate lists
    "title_named",  # the question names the passage's document
    "chapter_match",  # IDF-weighted share of the question's salient terms in the chapter heading
    "support",  # IDF-weighted share of the question's salient terms in the header and text
    "coverage",  # IDF-weighted share of the question's tokens among the passage's tokens
    "assoc",  # learned colloquial-to-statute association score of the passage (ratio to the best)
    "log_len",  # log of the passage length in characters
    "position",  # ordinal of the passage in its document / document length (0..1)
    "is_article",  # a numbered article (第X条), not a preamble or prose section
    "quantity_gap",  # the question asks for a number and the passage states none
    "doc_vote",  # share of the candidates' reciprocal-rank mass (k = 60) on the passage's document
    "clause_cos",  # best cosine of one of the passage's clauses (numbered articles), else dense_cos
    "clause_gap",  # best clause_cos among the candidates minus this one
)

# Features of a question's best candidate, for the calibrated probability.
CALIB_FEATURES: tuple[str, ...] = (
    "top_prob",  # ranker softmax probability of the best candidate
    "logit_gap",  # ranker score of the best minus the second best
    "top_dense_cos",
    "max_dense_cos",  # best cosine among all candidates
    "top_support",
    "top_bm25_ratio",
    "top_coverage",
    "top_title_named",
    "top_quantity_gap",
    "top_assoc",
    "same_doc_share",  # share of the top five candidates from the best one's document
    "top_doc_vote",
    "top_dense_first",  # the best candidate is also the dense retriever's first
    "top_bm25_first",  # ... and BM25's first
    "log_chunks",  # log of the number of chunks searched (more chunks, more near misses)
)


@dataclass(frozen=True)
class LinearModel:
    """Standardised linear model: ``w · (x - mean) / scale + b``."""

    names: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def score(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return np.asarray(x @ self.weights + self.bias, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(float(self.bias), 6),
            "mean": [round(float(m), 6) for m in self.mean],
            "scale": [round(float(s), 6) for s in self.scale],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], expected: Sequence[str]) -> LinearModel:
        names = tuple(str(n) for n in data["names"])
        if names != tuple(expected):
            raise ValueError(f"model features {names} do not match the code's {tuple(expected)}")
        return cls(
            names=names,
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
        )


@dataclass(frozen=True)
class QueryMap:
    """``q' = normalise(q + (q @ down) @ up)``: the question's vector moved toward where the answering
    passages of the training questions lie (ridge regression of ``gold - q`` on ``q``, truncated to a low
    rank); the ranker adds ``weight · cos(q', passage)`` to each candidate's score."""

    down: np.ndarray  # (dim, rank)
    up: np.ndarray  # (rank, dim)
    weight: float

    @property
    def dim(self) -> int:
        return int(self.down.shape[0])

    def mapped(self, query: np.ndarray) -> np.ndarray | None:
        """The mapped question vector (unit length); None when ``query`` is not the map's dimension."""
        q = np.asarray(query, dtype=np.float64).reshape(-1)
        if q.shape[0] != self.dim:
            return None
        moved = q + (q @ self.down) @ self.up
        norm = float(np.linalg.norm(moved))
        return moved / norm if norm > 0 else q

    def cosines(self, query: np.ndarray, passages: np.ndarray) -> np.ndarray | None:
        """cos(q', passage) per row of ``passages`` (unit vectors); None on a dimension mismatch."""
        moved = self.mapped(query)
        if moved is None or passages.ndim != 2 or passages.shape[1] != self.dim:
            return None
        return np.asarray(np.asarray(passages, dtype=np.float64) @ moved, dtype=np.float64)

    def term(self, query: np.ndarray, passages: np.ndarray) -> np.ndarray | None:
        cos = self.cosines(query, passages)
        return None if cos is None else self.weight * cos

    def to_json(self) -> dict[str, Any]:
        return {
            "weight": round(float(self.weight), 6),
            "down": [[round(float(v), 6) for v in row] for row in self.down],
            "up": [[round(float(v), 6) for v in row] for row in self.up],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueryMap:
        down = np.asarray(data["down"], dtype=np.float64)
        up = np.asarray(data["up"], dtype=np.float64)
        if down.ndim != 2 or up.ndim != 2 or down.shape[1] != up.shape[0] or down.shape[0] != up.shape[1]:
            raise ValueError(f"query map shapes do not fit: down {down.shape}, up {up.shape}")
        return cls(down, up, float(data["weight"]))

    def with_weight(self, weight: float) -> QueryMap:
        return QueryMap(self.down, self.up, float(weight))


def fit_query_map(queries: np.ndarray, targets: np.ndarray, *, alpha: float, rank: int) -> QueryMap:
    """Ridge regression of ``targets - queries`` on ``queries`` (one row per training question: its
    vector, and the mean of its gold passages' vectors), truncated by SVD to ``rank``; weight 1 until the
    ranker fits it."""
    q = np.asarray(queries, dtype=np.float64)
    residual = np.asarray(targets, dtype=np.float64) - q
    full = np.linalg.solve(q.T @ q + alpha * np.eye(q.shape[1]), q.T @ residual)
    u, s, vt = np.linalg.svd(full)
    r = max(1, min(rank, len(s)))
    return QueryMap(u[:, :r] * s[:r], vt[:r].copy(), 1.0)


@dataclass(frozen=True)
class DecisionModel:
    """Ranker, calibrator, the two probability thresholds, the learned term associations, the ranker's
    per-dimension weights of the query-passage product (``adapter``: None, or one per embedding dimension)
    and its query map (None, or a ``QueryMap`` of the embedding's dimension)."""

    ranker: LinearModel
    calibrator: LinearModel
    answer_threshold: float
    candidate_threshold: float
    associations: dict[str, dict[str, float]]
    info: dict[str, Any]
    adapter: np.ndarray | None = None
    query_map: QueryMap | None = None

    @property
    def uses_vectors(self) -> bool:
        """The ranker needs the candidates' vectors (it has an adapter or a query map)."""
        return self.adapter is not None or self.query_map is not None

    def adapted(self, query: np.ndarray | None, passages: np.ndarray | None) -> np.ndarray | None:
        """Per candidate, the vector terms of the score: the adapter's weighted product of the query and
        passage vectors (rows of ``passages``) plus the query map's weighted cosine. None without either,
        or when the vectors are not their dimension (another embedder than the one they were fitted on)."""
        if query is None or passages is None:
            return None
        total: np.ndarray | None = None
        for term in (
            adapter_term(self.adapter, query, passages) if self.adapter is not None else None,
            self.query_map.term(query, passages) if self.query_map is not None else None,
        ):
            if term is not None:
                total = term if total is None else total + term
        return total

    def scores(self, features: np.ndarray, adapted: np.ndarray | None = None) -> np.ndarray:
        """The ranker's score of each candidate: the linear model over the features plus the adapter term."""
        base = self.ranker.score(features)
        return base if adapted is None else base + adapted

    def probability(self, features: np.ndarray) -> float:
        return float(sigmoid(self.calibrator.score(features.reshape(1, -1)))[0])

    def decide(self, probability: float, *, quantity_gap: bool = False) -> Decision:
        return decide_mode(probability, self.answer_threshold, self.candidate_threshold, quantity_gap=quantity_gap)

    def to_json(self) -> dict[str, Any]:
        return {
            "ranker": self.ranker.to_json(),
            "calibrator": self.calibrator.to_json(),
            "answer_threshold": round(self.answer_threshold, 6),
            "candidate_threshold": round(self.candidate_threshold, 6),
            "associations": self.associations,
            "adapter": None if self.adapter is None else [round(float(v), 6) for v in self.adapter],
            "query_map": None if self.query_map is None else self.query_map.to_json(),
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionModel:
        return cls(
            ranker=LinearModel.from_json(data["ranker"], RANK_FEATURES),
            calibrator=LinearModel.from_json(data["calibrator"], CALIB_FEATURES),
            answer_threshold=float(data["answer_threshold"]),
            candidate_threshold=float(data["candidate_threshold"]),
            associations={str(k): {str(a): float(s) for a, s in v.items()} for k, v in data["associations"].items()},
            info=dict(data.get("info") or {}),
            adapter=None if data.get("adapter") is None else np.asarray(data["adapter"], dtype=np.float64),
            query_map=None if data.get("query_map") is None else QueryMap.from_json(data["query_map"]),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> DecisionModel:
        return cls.from_json(json.loads((path or DEFAULT_MODEL).read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def decide_mode(probability: float, answer: float, candidates: float, *, quantity_gap: bool = False) -> Decision:
    """The three-way decision from the calibrated probability and the two thresholds.

    ``quantity_gap``: the question asks for a number and the top passage states none. Such a passage is
    never quoted as the answer, whatever the probability (it may still be offered as a candidate): the
    case is too rare in any training set for the calibrator to learn it (a dozen rows), and a confidently
    quoted clause that does not give the number asked for (say, a deadline staff have not filled in yet)
    is the failure members trust least."""
    if probability >= answer and not quantity_gap:
        return "answer"
    if probability >= candidates:
        return "candidates"
    return "refusal"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -30, 30))), dtype=np.float64)


def softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max())
    return np.asarray(z / z.sum(), dtype=np.float64)


def calibration_features(
    rank_features: np.ndarray, scores: np.ndarray, order: Sequence[int], sources: Sequence[str], n_chunks: int
) -> np.ndarray:
    """The calibrator's input from the ranked candidates (``order``: indices best first)."""
    idx = {name: i for i, name in enumerate(RANK_FEATURES)}
    top = rank_features[order[0]]
    probs = softmax(scores)
    gap = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else 5.0
    head = [sources[i] for i in order[:5]]
    return np.array(
        [
            float(probs[order[0]]),
            gap,
            top[idx["dense_cos"]],
            float(rank_features[:, idx["dense_cos"]].max()),
            top[idx["support"]],
            top[idx["bm25_ratio"]],
            top[idx["coverage"]],
            top[idx["title_named"]],
            top[idx["quantity_gap"]],
            top[idx["assoc"]],
            head.count(head[0]) / len(head),
            top[idx["doc_vote"]],
            float(top[idx["dense_lograng"]] == 0.0),
            float(top[idx["bm25_lograng"]] == 0.0),
            math.log(max(n_chunks, 1)),
        ],
        dtype=np.float64,
    )


# --------------------------------------------------------------------------------------------- fitting


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_logistic(
    x: np.ndarray, y: np.ndarray, names: Sequence[str], *, weights: np.ndarray | None = None, l2: float = 1.0
) -> LinearModel:
    """Binary logistic regression (Newton's method, L2 on the weights, not the bias)."""
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    n, d = z.shape
    sw = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    a = np.hstack([z, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = sigmoid(a @ beta)
        grad = a.T @ (sw * (p - y)) + reg * beta
        hess = (a * (sw * p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return LinearModel(tuple(names), beta[:-1], float(beta[-1]), mean, scale)


def fit_listwise(
    groups: Sequence[tuple[np.ndarray, np.ndarray]],
    names: Sequence[str],
    *,
    l2: float | np.ndarray = 1.0,
    iters: int = 300,
) -> LinearModel:
    """Conditional logit: maximise the softmax probability mass on each question's gold candidates.

    ``groups``: per question, (features of its candidates, 0/1 gold mask); questions without a gold
    candidate carry no ranking information and are skipped. ``l2``: one penalty for all (standardised)
    weights, or one per feature.
    """
    usable = [(x, g) for x, g in groups if g.any() and len(g) > 1]
    stacked = np.vstack([x for x, _ in usable])
    mean, scale = _standardise(stacked)
    zs = [((x - mean) / scale, g.astype(bool)) for x, g in usable]
    d = stacked.shape[1]
    penalty = np.broadcast_to(np.asarray(l2, dtype=np.float64), (d,)).copy()

    def loss(w: np.ndarray) -> float:
        total = 0.5 * float(w @ (penalty * w))
        for z, g in zs:
            s = z @ w
            top = s.max()
            total += float(np.log(np.exp(s - top).sum()) - np.log(np.exp(s[g] - top).sum()))
        return total

    w = np.zeros(d)
    current = loss(w)
    for _ in range(iters):
        grad = penalty * w
        hess = np.diag(penalty)
        for z, g in zs:
            p = softmax(z @ w)
            q = np.zeros_like(p)
            q[g] = softmax((z @ w)[g])
            grad += z.T @ (p - q)
            ez = p @ z
            hess += (z * p[:, None]).T @ z - np.outer(ez, ez)
        step = np.linalg.solve(hess + 1e-9 * np.eye(d), grad)
        rate = 1.0
        while rate > 1e-4:  # backtracking: the covariance bound is not a global majoriser
            trial = w - rate * step
            value = loss(trial)
            if value < current:
                break
            rate /= 2
        else:
            break
        converged = current - value < 1e-7 * max(1.0, abs(current))
        w, current = trial, value
        if converged:
            break
    return LinearModel(tuple(names), w, 0.0, mean, scale)


def adapter_term(adapter: np.ndarray, query: np.ndarray, passages: np.ndarray) -> np.ndarray | None:
    """``Σ_i adapter_i · query_i · passage_i`` for each row of ``passages``; None when the vectors are not
    the adapter's dimension (another embedder than the one it was fitted on)."""
    q = np.asarray(query, dtype=np.float64).reshape(-1)
    if q.shape[0] != adapter.shape[0] or passages.ndim != 2 or passages.shape[1] != q.shape[0]:
        return None
    return np.asarray(np.asarray(passages, dtype=np.float64) @ (q * adapter), dtype=np.float64)


def split_adapter(model: LinearModel, n_features: int) -> tuple[LinearModel, np.ndarray]:
    """A listwise model fitted over the features followed by the query-passage products, as the linear
    model over the features and the adapter (weights on the raw products: ``w / scale``). The products'
    standardising offset is the same for every candidate of a question, so dropping it changes no
    ranking, no softmax probability and no score gap."""
    base = LinearModel(
        tuple(model.names[:n_features]),
        model.weights[:n_features],
        model.bias,
        model.mean[:n_features],
        model.scale[:n_features],
    )
    return base, np.asarray(model.weights[n_features:] / model.scale[n_features:], dtype=np.float64)


def expected_calibration_error(probs: Sequence[float], labels: Sequence[int], bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width probability bins."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if not len(p):
        return math.nan
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if mask.any():
            total += mask.sum() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return total / len(p)


def association_column(
    tokens: Sequence[str], terms: Sequence[frozenset[str]], associations: dict[str, dict[str, float]]
) -> np.ndarray:
    """Per candidate: the summed weight of the best associated statute term of each question term,
    as a ratio to the best candidate (0 when no question term has associations)."""
    links = [associations[t] for t in dict.fromkeys(tokens) if t in associations]
    if not links:
        return np.zeros(len(terms))
    # One column per associated term; each link's weights on its own terms (-inf elsewhere).
    column = {a: j for j, a in enumerate(dict.fromkeys(a for link in links for a in link))}
    weights = np.full((len(links), len(column)), -np.inf)
    for i, link in enumerate(links):
        for associated, weight in link.items():
            weights[i, column[associated]] = weight
    present = np.zeros((len(terms), len(column)), dtype=bool)
    wanted = frozenset(column)
    for row, doc in enumerate(terms):
        for associated in wanted.intersection(doc):
            present[row, column[associated]] = True
    # Per link and candidate, the best weight of the link's terms in the passage (none: 0) ...
    best = np.where(present[None, :, :], weights[:, None, :], -np.inf).max(axis=2, initial=-np.inf)
    best[np.isneginf(best)] = 0.0
    raw = np.zeros(len(terms), dtype=np.float64)
    for per_link in best:  # ... summed link by link, in the question's order (as a per-candidate sum would)
        raw += per_link
    best_raw = float(raw.max()) if len(raw) else 0.0
    return raw / best_raw if best_raw > 0 else raw


def mine_associations(
    pairs: Sequence[tuple[Sequence[str], frozenset[str]]],
    doc_share: dict[str, float],
    *,
    min_pairs: int = 2,
    min_lift: float = 4.0,
    per_term: int = 6,
) -> dict[str, dict[str, float]]:
    """Colloquial-to-statute term associations from (question tokens, gold article terms) pairs.

    For a question term t and an article term a: P(a | t) = share of the training questions with t
    whose gold article contains a, and lift = P(a | t) / P(a), P(a) = share of all articles with a.
    Kept when at least ``min_pairs`` questions support it and the lift reaches ``min_lift``; the
    weight is P(a | t) · log(lift). Mined from training folds only (``bench.kb_train``).
    """
    with_term: dict[str, int] = {}
    together: dict[str, dict[str, int]] = {}
    for tokens, gold_terms in pairs:
        for t in set(tokens):
            with_term[t] = with_term.get(t, 0) + 1
            row = together.setdefault(t, {})
            for a in gold_terms:
                if a != t:
                    row[a] = row.get(a, 0) + 1
    out: dict[str, dict[str, float]] = {}
    for t, row in together.items():
        n_t = with_term[t]
        if n_t < min_pairs:
            continue
        scored = []
        for a, n in row.items():
            if n < min_pairs:
                continue
            p = n / n_t
            lift = p / max(doc_share.get(a, 1.0), 1e-6)
            if lift >= min_lift:
                scored.append((p * math.log(lift), a))
        if scored:
            scored.sort(reverse=True)
            out[t] = {a: round(w, 4) for w, a in scored[:per_term]}
    return out
