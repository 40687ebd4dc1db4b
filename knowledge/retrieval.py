"""Hybrid retrieval: dense (Chroma) and BM25 ranked lists fused by weighted reciprocal rank."""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from knowledge.aliases import AliasNormalizer
from knowledge.chunking import ARTICLE_RE
from knowledge.config import Thresholds
from knowledge.embedders import Embedder, EmbedderUnavailable
from knowledge.index.bm25 import BM25Index
from knowledge.index.chroma_store import ClauseVectors, StoredChunk
from knowledge.models import Passage
from knowledge.ranking import RANK_FEATURES, Decision, DecisionModel, association_column, calibration_features
from knowledge.tokenize import Tokenizer, asks_quantity, normalize_text, salient_terms, states_quantity

log = logging.getLogger(__name__)

# Prefixes members leave out when naming a document ("宪法" for 中华人民共和国宪法).
TITLE_PREFIXES = ("中华人民共和国", "中国人民政治协商会议", "政协", "最高人民法院关于")


@dataclass
class Retrieval:
    """Fused passages plus the evidence signals the answerer needs."""

    passages: list[Passage]
    dense_top: float | None  # best cosine among dense candidates (None: dense unavailable)
    evidence: float | None  # cosine of the passage that would be quoted (None: dense unavailable)
    coverage: float  # best IDF-weighted share of question terms found in a top passage (0..1)
    # IDF-weighted share of the question's salient terms (generic words and interrogatives left
    # out) found in the header and text of the passage that would be quoted (0..1; 0 if none).
    support: float = 0.0
    salient: list[str] = field(default_factory=list)  # the salient terms of the question
    # Answer-type check: the question asks for a number, and whether the quoted passage states one.
    asks_quantity: bool = False
    states_quantity: bool = False
    dense_scores: dict[str, float] = field(default_factory=dict)
    lexical_scores: dict[str, float] = field(default_factory=dict)
    # Learned path (a DecisionModel is configured): the decision and the calibrated probability that
    # the first passage answers the question. None: the hand-set thresholds decide (has_evidence).
    decision: Decision | None = None
    probability: float | None = None


class VectorStore(Protocol):
    """What retrieval needs from the vector index (Chroma, or an in-memory matrix in benchmarks)."""

    def query(self, vector: np.ndarray, n: int, total: int) -> list[tuple[str, float]]: ...

    def embeddings_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...


@dataclass
class CandidateSet:
    """Every candidate of one question with its ranking features (rows follow ``ids``)."""

    ids: list[str]
    features: np.ndarray
    salient: list[str]
    dense_scores: dict[str, float]
    lexical_scores: dict[str, float]
    # the ranker's vector terms per candidate (adapter and query map, ``DecisionModel.adapted``); None without
    adapted: np.ndarray | None = None


def weighted_rrf(rankings: Sequence[tuple[Sequence[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal-rank fusion: sum over lists of weight / (k + rank)."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        if weight <= 0:
            continue
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


class HybridRetriever:
    """Keeps an in-memory mirror of the stored chunks (for BM25 and passage building)."""

    def __init__(
        self,
        store: VectorStore | None,
        embedder: Embedder | None,
        tokenizer: Tokenizer,
        thresholds: Thresholds,
        chunks: list[StoredChunk] | None = None,
        model: DecisionModel | None = None,
        vectors: np.ndarray | None = None,
        clauses: ClauseVectors | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.aliases: AliasNormalizer = tokenizer.aliases
        self.thresholds = thresholds
        self._last_tokens: tuple[str, list[str]] | None = None
        if chunks is None:
            if store is not None and hasattr(store, "mirror"):
                chunks, vectors = store.mirror()
            else:
                chunks = store.all_chunks() if store is not None and hasattr(store, "all_chunks") else []
            if clauses is None and store is not None and hasattr(store, "clause_mirror"):
                clauses = store.clause_mirror()
        self.reload(chunks, vectors, clauses)

    def reload(
        self, chunks: list[StoredChunk], vectors: np.ndarray | None = None, clauses: ClauseVectors | None = None
    ) -> None:
        """Rebuild the BM25 index and the per-chunk data of the ranking features from the given stored chunks
        (Chroma stays the source of truth). ``vectors``: their stored embeddings, one row per chunk (the store's
        ``mirror``), so candidates outside the dense hits need no round trip; None: asked of the store.
        ``clauses``: the stored clause vectors (the store's ``clause_mirror``); those of chunks not given are
        left out, so one set serves any subset of the chunks."""
        self.chunks = chunks
        self.by_id = {sc.id: sc for sc in chunks}
        self.position = {sc.id: i for i, sc in enumerate(chunks)}
        self.title_keys = self._title_keys(chunks)
        # The alias-normalised "title | chapter | label" header plus body: what BM25 cuts, and what
        # ``support`` matches substrings in (normalised once, here).
        self._match_texts = [self.tokenizer.normalize(sc.chunk.indexed_text()) for sc in chunks]
        self.bm25 = BM25Index(
            self._match_texts, self.tokenizer, doc_tokens=[self.tokenizer.cut(text) for text in self._match_texts]
        )
        self.vectors = vectors if vectors is not None and len(vectors) == len(chunks) else None
        doc_len: dict[str, int] = {}
        for sc in chunks:
            doc_len[sc.chunk.source] = max(doc_len.get(sc.chunk.source, 0), sc.chunk.ordinal + 1)
        self.doc_len = doc_len
        self._prepare_chunk_features(chunks)
        self._prepare_clauses(clauses)

    def _prepare_clauses(self, clauses: ClauseVectors | None) -> None:
        """Clause rows grouped by owning chunk: chunk ``p``'s clauses are rows ``start[p]:end[p]``."""
        n = len(self.chunks)
        self._clause_start = np.zeros(n, dtype=np.int64)
        self._clause_end = np.zeros(n, dtype=np.int64)
        self._clause_matrix: np.ndarray | None = None
        if clauses is None or not len(clauses):
            return
        owned = [(self.position[owner], i) for i, owner in enumerate(clauses.owners) if owner in self.position]
        if not owned:
            return
        owned.sort()
        owner_pos = np.fromiter((p for p, _ in owned), dtype=np.int64, count=len(owned))
        self._clause_matrix = np.ascontiguousarray(clauses.matrix[[i for _, i in owned]], dtype=np.float32)
        self._clause_start = np.searchsorted(owner_pos, np.arange(n), side="left").astype(np.int64)
        self._clause_end = np.searchsorted(owner_pos, np.arange(n), side="right").astype(np.int64)

    @property
    def clause_count(self) -> int:
        return 0 if self._clause_matrix is None else len(self._clause_matrix)

    def clause_cosines(self, positions: Sequence[int], vector: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Per chunk position, the best cosine of one of its clauses to the query; ``own`` (the chunk's own
        cosine) where it has no clauses. One matrix product over the candidates' clauses only."""
        best = np.asarray(own, dtype=np.float64).copy()
        if self._clause_matrix is None or not len(positions):
            return best
        pos = np.asarray(positions, dtype=np.int64)
        starts, ends = self._clause_start[pos], self._clause_end[pos]
        counts = ends - starts
        has = counts > 0
        if not has.any():
            return best
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts[has], ends[has], strict=True)])
        scores = self._clause_matrix[rows] @ np.asarray(vector, dtype=np.float32)
        offsets = np.concatenate(([0], np.cumsum(counts[has])[:-1]))
        best[has] = np.maximum.reduceat(scores, offsets)
        return best

    def _prepare_chunk_features(self, chunks: list[StoredChunk]) -> None:
        """Per chunk (by position), what the ranking features read of it alone: computed once per load."""
        headings: dict[tuple[str | None, str | None], str] = {}
        self._chapter_texts: list[str] = []
        self._sources: list[str] = []
        self._article_keys: list[tuple[str, str]] = []
        log_len: list[float] = []
        doc_position: list[float] = []
        is_article: list[float] = []
        for sc in chunks:
            chunk = sc.chunk
            heading = (chunk.chapter, chunk.section)
            if heading not in headings:
                headings[heading] = self.tokenizer.normalize(" ".join(x for x in heading if x))
            self._chapter_texts.append(headings[heading])
            self._sources.append(chunk.source)
            self._article_keys.append((chunk.source, chunk.label if chunk.label else f"#{chunk.ordinal}"))
            log_len.append(math.log(1 + len(chunk.text)))
            doc_position.append(chunk.ordinal / max(self.doc_len.get(chunk.source, 1), 1))
            is_article.append(float(bool(chunk.article and ARTICLE_RE.match(chunk.text))))
        self._log_len = np.asarray(log_len, dtype=np.float64)
        self._doc_position = np.asarray(doc_position, dtype=np.float64)
        self._is_article = np.asarray(is_article, dtype=np.float64)
        self._states_quantity: dict[int, bool] = {}  # position -> the body states a number (lazy)

    def _title_keys(self, chunks: list[StoredChunk]) -> dict[str, set[str]]:
        """Ways a question may name each document: full title, without the state prefix, aliased."""
        keys: dict[str, set[str]] = {}
        for sc in chunks:
            if sc.chunk.source in keys:
                continue
            title = normalize_text(sc.chunk.title)
            variants = {title, self.aliases.normalize(title)}
            for prefix in TITLE_PREFIXES:
                variants |= {v.removeprefix(prefix) for v in list(variants)}
            keys[sc.chunk.source] = {v for v in variants if len(v) >= 2}
        return keys

    def named_sources(self, question: str) -> set[str]:
        """Sources whose title the question names (e.g. "宪法里…" names 中华人民共和国宪法)."""
        normalised = normalize_text(question)
        aliased = self.aliases.normalize(normalised)
        return {
            source
            for source, keys in self.title_keys.items()
            if any(key in normalised or key in aliased for key in keys)
        }

    @property
    def dense_available(self) -> bool:
        return self.embedder is not None and self.store is not None

    def query_vector(self, question: str) -> np.ndarray | None:
        if not self.dense_available or not self.chunks:
            return None
        assert self.embedder is not None
        try:
            return self.embedder.embed_query(question)
        except EmbedderUnavailable as exc:
            log.warning("dense retrieval unavailable, using BM25 only: %s", exc)
            return None

    def dense(self, question: str, n: int, vector: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The ``n`` nearest chunks as (id, cosine), best first. With the stored vectors loaded (the store's
        ``mirror``) this is an exact search over them: about a millisecond at 10,000 chunks, the same result
        on every run (the store's HNSW index is approximate and not reproducible), and the search the ranker
        was fitted on (``bench.kb_data.MatrixStore``). Otherwise the store is asked."""
        vector = vector if vector is not None else self.query_vector(question)
        if vector is None:
            return []
        if self.vectors is not None:
            return self._exact(np.asarray(vector, dtype=np.float32), n)
        assert self.store is not None
        return [(cid, score) for cid, score in self.store.query(vector, n, len(self.chunks)) if cid in self.by_id]

    def _exact(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        assert self.vectors is not None
        scores = self.vectors @ vector
        n = min(n, len(scores))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i].id, float(scores[i])) for i in top]

    def cosine(self, cid: str, vector: np.ndarray) -> float:
        """Cosine of one stored chunk to the query (for a chunk outside the dense candidates)."""
        return self.cosines([cid], vector).get(cid, 0.0)

    def cosines(self, ids: Sequence[str], vector: np.ndarray) -> dict[str, float]:
        """Cosines of stored chunks to the query (chunks outside the dense hits), by id; a chunk the store
        has no vector for is left out. From the vectors loaded with the chunks, else one call to the store."""
        if self.vectors is not None:
            rows = self.vectors
            return {cid: float(np.dot(rows[self.position[cid]], vector)) for cid in ids if cid in self.position}
        if self.store is None or not ids:
            return {}
        return {cid: float(np.dot(stored, vector)) for cid, stored in self.store.embeddings_for(ids).items()}

    def candidate_vectors(self, ids: Sequence[str]) -> np.ndarray | None:
        """The stored vectors of the given chunks, one row each (from the vectors loaded with the chunks,
        else one call to the store); None when the store has no vector for one of them."""
        if self.vectors is not None:
            return np.asarray(self.vectors[[self.position[cid] for cid in ids]], dtype=np.float32)
        if self.store is None or not ids:
            return None
        stored = self.store.embeddings_for(ids)
        if any(cid not in stored for cid in ids):
            return None
        return np.vstack([np.asarray(stored[cid], dtype=np.float32) for cid in ids])

    def question_tokens(self, question: str) -> list[str]:
        """The question's tokens (a copy); the last question's are kept, as BM25, the features and the
        evidence all tokenise the question being answered."""
        last = self._last_tokens
        if last is None or last[0] != question:
            last = (question, self.tokenizer(question))
            self._last_tokens = last
        return list(last[1])

    def lexical(self, question: str, n: int) -> list[tuple[str, float]]:
        hits = self.bm25.search_tokens(self.question_tokens(question), n)
        return [(self.chunks[pos].id, score) for pos, score in hits]

    def coverage(self, question: str, cid: str) -> float:
        """IDF-weighted share of the question's terms found in the chunk (alias-normalised)."""
        return self.bm25.coverage(self.question_tokens(question), self.position[cid])

    def match_text(self, cid: str) -> str:
        """Alias-normalised "title | chapter | label" header plus body, for substring matching."""
        return self._match_texts[self.position[cid]]

    def support(self, terms: Sequence[str], cid: str) -> float:
        """IDF-weighted share of ``terms`` occurring in the chunk's header or text.

        Substring matching, not token matching: the segmenter cuts documents and colloquial
        questions differently ("常用命令" stays whole, so the token "命令" would not match it).
        """
        total = sum(self.bm25.idf(term) for term in terms)
        if total <= 0:
            return 0.0
        text = self.match_text(cid)
        return sum(self.bm25.idf(term) for term in terms if term in text) / total

    def search(self, question: str, k: int = 5) -> Retrieval:
        t = self.thresholds
        n = t.rank_candidates if self.model is not None else t.candidates
        vector = self.query_vector(question)
        dense_hits = self.dense(question, n, vector) if vector is not None else []
        lexical_hits = self.lexical(question, n)
        if self.model is not None and dense_hits:
            assert vector is not None
            return self.ranked_search(question, k, vector, dense_hits, lexical_hits)
        dense_ids = [cid for cid, _ in dense_hits]
        lexical_ids = [cid for cid, _ in lexical_hits]
        if dense_hits:
            fused = weighted_rrf([(dense_ids, t.dense_weight), (lexical_ids, t.bm25_weight)], t.rrf_k)
        else:
            fused = weighted_rrf([(lexical_ids, 1.0)], t.rrf_k)
        named = self.named_sources(question)
        if named:
            bonus = t.title_weight / (t.rrf_k + 1)
            for cid in fused:
                if self.by_id[cid].chunk.source in named:
                    fused[cid] += bonus
        order = sorted(fused, key=lambda cid: -fused[cid])[:k]
        salient = salient_terms(self.question_tokens(question))
        dense_scores = dict(dense_hits)
        supports = [self.support(salient, cid) for cid in order]
        promoted = self._supported_alternative(order, supports, dense_scores, vector)
        if promoted:
            order.insert(0, order.pop(promoted))
            supports.insert(0, supports.pop(promoted))
        passages = [self.passage(cid, fused[cid]) for cid in order]
        return Retrieval(
            passages=passages,
            dense_top=dense_hits[0][1] if dense_hits else None,
            evidence=self._evidence(passages, dense_scores) if dense_hits else None,
            coverage=max((self.coverage(question, p.chunk_id) for p in passages[:3]), default=0.0),
            dense_scores=dense_scores,
            lexical_scores=dict(lexical_hits),
            support=supports[0] if supports else 0.0,
            salient=salient,
            asks_quantity=asks_quantity(question),
            states_quantity=bool(passages) and states_quantity(ARTICLE_RE.sub("", passages[0].text, count=1)),
        )

    # ------------------------------------------------------------------ learned ranking

    def chapter_text(self, cid: str) -> str:
        """Alias-normalised "chapter section" heading of the chunk ("" when it has none)."""
        return self._chapter_texts[self.position[cid]]

    def _body_states_quantity(self, position: int) -> bool:
        """The chunk's text, without its leading article label, states a number (cached per chunk)."""
        states = self._states_quantity.get(position)
        if states is None:
            text = self.chunks[position].chunk.text
            body = ARTICLE_RE.sub("", text, count=1) if self._is_article[position] else text
            states = states_quantity(body)
            self._states_quantity[position] = states
        return states

    def _weights(self, terms: Iterable[str]) -> tuple[list[tuple[str, float]], float]:
        weighted = [(term, self.bm25.idf(term)) for term in terms]
        return weighted, sum(w for _, w in weighted)

    def share(self, terms: Sequence[str], text: str) -> float:
        total = sum(self.bm25.idf(term) for term in terms)
        if total <= 0 or not text:
            return 0.0
        return sum(self.bm25.idf(term) for term in terms if term in text) / total

    def candidate_features(
        self,
        question: str,
        vector: np.ndarray,
        dense_hits: Sequence[tuple[str, float]],
        lexical_hits: Sequence[tuple[str, float]],
    ) -> CandidateSet:
        """The union of both candidate lists, each with the features of ``ranking.RANK_FEATURES``."""
        n = max(len(dense_hits), len(lexical_hits), 1)
        absent = -math.log(2 * n)
        dense_scores = dict(dense_hits)
        lexical_scores = dict(lexical_hits)
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense_hits, start=1)}
        lexical_rank = {cid: r for r, (cid, _) in enumerate(lexical_hits, start=1)}
        union = dict.fromkeys([c for c, _ in dense_hits] + [c for c, _ in lexical_hits])
        ids = [cid for cid in union if cid in self.by_id]
        # The adapter and the query map need every candidate's vector: fetched once, they also give the
        # missing cosines.
        vectors = self.candidate_vectors(ids) if self.model is not None and self.model.uses_vectors else None
        missing = [cid for cid in ids if cid not in dense_scores]
        if missing and vectors is not None:
            row = {cid: i for i, cid in enumerate(ids)}
            dense_scores.update({cid: float(np.dot(vectors[row[cid]], vector)) for cid in missing})
        elif missing:
            dense_scores.update(self.cosines(missing, vector))
        top_cos = max(dense_scores.values(), default=0.0)
        top_bm25 = max(lexical_scores.values(), default=0.0) or 1.0
        tokens = self.question_tokens(question)
        salient = salient_terms(tokens)
        named = self.named_sources(question)
        quantity = asks_quantity(question)
        positions = [self.position[cid] for cid in ids]
        sources = [self._sources[p] for p in positions]
        doc_terms = [self.bm25.doc_terms(p) for p in positions]
        associations = self.model.associations if self.model is not None else {}
        rrf = [1 / (60 + dense_rank.get(cid, 2 * n)) + 1 / (60 + lexical_rank.get(cid, 2 * n)) for cid in ids]
        by_doc: dict[str, float] = {}
        for source, mass in zip(sources, rrf, strict=True):
            by_doc[source] = by_doc.get(source, 0.0) + mass
        total_rrf = sum(rrf) or 1.0
        # IDF weights once per question, not once per candidate (the same sums as support/share/coverage).
        salient_w = self._weights(salient)
        token_w = self._weights(set(tokens))
        features = np.zeros((len(ids), len(RANK_FEATURES)), dtype=np.float64)
        if not ids:
            return CandidateSet(ids, features, salient, dense_scores, lexical_scores)
        cos = np.array([dense_scores.get(cid, 0.0) for cid in ids], dtype=np.float64)
        features[:, 0] = cos
        features[:, 1] = top_cos - cos
        features[:, 2] = [-math.log(dense_rank[cid]) if cid in dense_rank else absent for cid in ids]
        features[:, 3] = np.array([lexical_scores.get(cid, 0.0) for cid in ids], dtype=np.float64) / top_bm25
        features[:, 4] = [-math.log(lexical_rank[cid]) if cid in lexical_rank else absent for cid in ids]
        features[:, 5] = [float(cid in dense_rank and cid in lexical_rank) for cid in ids]
        features[:, 6] = [float(source in named) for source in sources]
        features[:, 7] = _weighted_shares(salient_w, [self._chapter_texts[p] for p in positions])
        features[:, 8] = _weighted_shares(salient_w, [self._match_texts[p] for p in positions])
        features[:, 9] = _weighted_shares(token_w, doc_terms)
        features[:, 10] = association_column(tokens, doc_terms, associations)
        features[:, 11] = self._log_len[positions]
        features[:, 12] = self._doc_position[positions]
        features[:, 13] = self._is_article[positions]
        if quantity:
            features[:, 14] = [float(not self._body_states_quantity(p)) for p in positions]
        features[:, 15] = [by_doc[source] / total_rrf for source in sources]
        clause_cos = self.clause_cosines(positions, vector, cos)
        features[:, 16] = clause_cos
        features[:, 17] = clause_cos.max() - clause_cos
        adapted = self.model.adapted(vector, vectors) if self.model is not None else None
        return CandidateSet(ids, features, salient, dense_scores, lexical_scores, adapted)

    def rank(self, cands: CandidateSet) -> tuple[list[int], np.ndarray, float]:
        """Candidate indices best first (one per article), the ranker scores, and the probability."""
        assert self.model is not None
        scores = self.model.scores(cands.features, cands.adapted)
        positions = [self.position[cid] for cid in cands.ids]
        order: list[int] = []
        seen: set[tuple[str, str]] = set()
        for i in np.argsort(-scores, kind="stable").tolist():
            key = self._article_keys[positions[i]]
            if key in seen:
                continue
            seen.add(key)
            order.append(i)
        sources = [self._sources[p] for p in positions]
        calib = calibration_features(cands.features, scores, order, sources, len(self.chunks))
        return order, scores, self.model.probability(calib)

    def ranked_search(
        self,
        question: str,
        k: int,
        vector: np.ndarray,
        dense_hits: Sequence[tuple[str, float]],
        lexical_hits: Sequence[tuple[str, float]],
    ) -> Retrieval:
        """Learned ranking over the union of candidates, then the calibrated decision."""
        assert self.model is not None
        cands = self.candidate_features(question, vector, dense_hits, lexical_hits)
        if not cands.ids:
            return Retrieval([], None, None, 0.0, decision="refusal", probability=0.0)
        order, scores, probability = self.rank(cands)
        top = order[: max(k, 3)]
        passages = [self.passage(cands.ids[i], float(scores[i])) for i in top]
        idx = {name: i for i, name in enumerate(RANK_FEATURES)}
        first = cands.features[top[0]]
        quantity_gap = bool(first[idx["quantity_gap"]])
        return Retrieval(
            passages=passages,
            dense_top=dense_hits[0][1] if dense_hits else None,
            evidence=float(first[idx["dense_cos"]]),
            coverage=float(first[idx["coverage"]]),
            support=float(first[idx["support"]]),
            salient=cands.salient,
            asks_quantity=asks_quantity(question),
            states_quantity=not quantity_gap,
            dense_scores=cands.dense_scores,
            lexical_scores=cands.lexical_scores,
            decision=self.model.decide(probability, quantity_gap=quantity_gap),
            probability=probability,
        )

    def _supported_alternative(
        self, order: list[str], supports: list[float], dense_scores: dict[str, float], vector: np.ndarray | None
    ) -> int:
        """Index of the passage to quote instead of the top one, or 0 to keep the top one.

        When the top fused passage shares no salient term with the question but a lower one among
        the top ``promote_within`` does (and is close enough by cosine), that one is the better quote;
        its cosine is added to ``dense_scores`` when it was not a dense candidate.
        """
        t = self.thresholds
        if not supports or supports[0] >= t.min_support:
            return 0
        for index in range(1, min(len(order), t.promote_within)):
            if supports[index] < t.min_support:
                continue
            if vector is None:
                return index
            cid = order[index]
            if cid not in dense_scores:
                dense_scores[cid] = self.cosine(cid, vector)
            if dense_scores[cid] >= t.min_dense:
                return index
        return 0

    @staticmethod
    def _evidence(passages: list[Passage], dense_scores: dict[str, float]) -> float:
        """Semantic closeness of the answer's own passage: the cosine of the top fused passage.

        Calibrated on the visible set, this separates out-of-corpus questions better than the best
        cosine overall (an off-topic question still lands near *some* chunk, but fusion then picks
        a passage the two retrievers agree on, and that one is far away).
        """
        if not passages:
            return 0.0
        top = dense_scores.get(passages[0].chunk_id)
        if top is not None:
            return top
        return max((dense_scores.get(p.chunk_id, 0.0) for p in passages[:3]), default=0.0)

    def passage(self, cid: str, score: float) -> Passage:
        chunk = self.by_id[cid].chunk
        return Passage(
            source=chunk.source,
            title=chunk.title,
            article=chunk.article,
            text=chunk.text,
            score=score,
            chapter=chunk.chapter,
            section=chunk.section,
            chunk_id=cid,
        )


def _weighted_shares(weights: tuple[list[tuple[str, float]], float], within: Sequence[Collection[str]]) -> np.ndarray:
    """Per candidate, the IDF-weighted share of the terms found in its ``within`` (a text: substrings; a term
    set: members); 0 for an empty one. Summed term by term in the terms' order, as a per-candidate sum would."""
    weighted, total = weights
    shares = np.zeros(len(within), dtype=np.float64)
    if total <= 0 or not within:
        return shares
    for term, weight in weighted:
        shares += weight * np.fromiter((term in x for x in within), dtype=bool, count=len(within))
    filled = np.fromiter((bool(x) for x in within), dtype=bool, count=len(within))
    return np.where(filled, shares / total, 0.0)
