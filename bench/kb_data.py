"""Cached corpora, query vectors and candidate features shared by ``bench.kb_train`` and ``bench.kb_bench``.

Everything expensive is done once and kept under ``--cache`` (default ``data/bench-cache``, gitignored):
the Chroma index of each corpus, chunks and clauses (embedded once at ingest; re-runs reuse the vectors by
content id) and the query vectors (``queries.npz``). Leave-one-law-out rows are built from the same vectors:
the excluded laws' chunks are left out of the vector matrix and BM25 is rebuilt without them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import Embedder
from knowledge.evaluation import EvalItem, load_eval
from knowledge.index.chroma_store import ClauseVectors, StoredChunk
from knowledge.retrieval import HybridRetriever
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR

REPO = Path(__file__).resolve().parents[1]
DEVSET = Path(__file__).with_name("kb_devset.jsonl")
BLIND = Path(__file__).with_name("kb_cppcc_blind.jsonl")
DEFAULT_CACHE = REPO / "data" / "bench-cache"
DEFAULT_SHARED = Path(os.environ.get("CPPCC_SHARED_DIR", REPO / ".." / "shared"))
CANDIDATES = Thresholds().rank_candidates  # per retriever, before the union (as the product fetches)


def sample_docs(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "kb-samples").glob("*.md") if p.name not in ("SOURCES.md", "README.md"))


class QueryVectors:
    """Query embeddings cached on disk by question text (the model is loaded only on a miss)."""

    def __init__(self, path: Path, embedder: Embedder | None) -> None:
        self.path = path
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}
        self.dirty = False
        if path.exists():
            with np.load(path) as data:
                self.vectors = {key: data[key] for key in data.files}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def get(self, text: str) -> np.ndarray:
        key = self.key(text)
        if key not in self.vectors:
            assert self.embedder is not None
            self.vectors[key] = self.embedder.embed_query(text)
            self.dirty = True
        return self.vectors[key]

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self.vectors)  # type: ignore[arg-type]  # numpy stubs: **kwds typed as bool
            self.dirty = False


class MatrixStore:
    """Exact cosine search over an in-memory matrix (the benchmark's stand-in for Chroma)."""

    def __init__(self, ids: Sequence[str], matrix: np.ndarray) -> None:
        self.ids = list(ids)
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.row = {cid: i for i, cid in enumerate(self.ids)}

    def subset(self, keep: Sequence[str]) -> MatrixStore:
        return MatrixStore(keep, self.matrix[[self.row[c] for c in keep]])

    def query(self, vector: np.ndarray, n: int, total: int) -> list[tuple[str, float]]:
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]

    def embeddings_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {cid: self.matrix[self.row[cid]] for cid in ids if cid in self.row}


@dataclass
class Corpus:
    """One ingested corpus: its stored chunks, vectors, and a retriever factory over any subset of laws."""

    name: str
    kb: KnowledgeBase
    chunks: list[StoredChunk]
    store: MatrixStore
    clauses: ClauseVectors
    _retrievers: dict[frozenset[str], HybridRetriever] = field(default_factory=dict)

    def retriever(self, exclude: Iterable[str] = ()) -> HybridRetriever:
        key = frozenset(exclude)
        if key not in self._retrievers:
            keep = [sc for sc in self.chunks if sc.chunk.source not in key]
            store = self.store if not key else self.store.subset([sc.id for sc in keep])
            thresholds = self.kb.config.resolved_thresholds
            self._retrievers[key] = HybridRetriever(
                store, self.kb.embedder, self.kb.tokenizer, thresholds, chunks=keep, clauses=self.clauses
            )
            if len(self._retrievers) > 8:  # keep memory bounded: LOLO retrievers are used once each
                oldest = next(k for k in self._retrievers if k)
                del self._retrievers[oldest]
        return self._retrievers[key]

    @property
    def sources(self) -> list[str]:
        return sorted({sc.chunk.source for sc in self.chunks})


def open_corpus(name: str, paths: Sequence[Path], cache: Path, embedder: Embedder) -> Corpus:
    """Ingest (once; unchanged chunks are never embedded again) and load the vectors into memory."""
    config = KnowledgeConfig(persist_dir=cache / name, learned_ranking=False)
    kb = KnowledgeBase.open(config, embedder=embedder)
    report = kb.ingest(list(paths))
    if report.embedded or report.clauses:
        print(
            f"[{name}] embedded {report.embedded} new chunks ({report.reused} cached), {report.clauses} clauses",
            flush=True,
        )
    chunks = kb.retriever.chunks
    vectors = kb.store.embeddings_for([sc.id for sc in chunks])
    ids = [sc.id for sc in chunks]
    matrix = np.vstack([vectors[c] for c in ids])
    return Corpus(name, kb, chunks, MatrixStore(ids, matrix), kb.store.clause_mirror())


def stard_corpus(shared: Path, cache: Path, embedder: Embedder) -> Corpus:
    return open_corpus("stard", [shared / "stard" / "corpus"], cache, embedder)


def cppcc_corpus(shared: Path, cache: Path, embedder: Embedder) -> Corpus:
    """kb-samples/*.md plus the bundled starter guides (the product's default knowledge base)."""
    return open_corpus("cppcc", [*sample_docs(shared), STARTER_DIR], cache, embedder)


def starter_sources() -> list[str]:
    return sorted(p.name for p in STARTER_DIR.glob("*.md"))


def load_sets(shared: Path) -> dict[str, list[EvalItem]]:
    return {
        "stard": load_eval(shared / "stard" / "stard-dev.jsonl"),
        "visible": load_eval(shared / "kb-samples" / "eval-visible.jsonl"),
        "devset": load_eval(DEVSET),
        "blind": load_eval(BLIND),
    }


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
