"""Chroma collection wrapper: stores chunks with precomputed vectors; the single source of truth."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from knowledge.embedders import ChromaEmbeddingFunction, Embedder
from knowledge.models import Chunk


@dataclass(frozen=True)
class StoredChunk:
    id: str
    chunk: Chunk


@dataclass(frozen=True)
class ClauseVectors:
    """The stored clause embeddings: row ``i`` of ``matrix`` is a clause of the chunk ``owners[i]``."""

    owners: list[str]
    matrix: np.ndarray

    @classmethod
    def empty(cls, dim: int = 0) -> ClauseVectors:
        return cls([], np.zeros((0, dim), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.owners)

    def by_owner(self) -> dict[str, np.ndarray]:
        """Each owning chunk's clause rows, in stored order."""
        rows: dict[str, list[int]] = {}
        for i, owner in enumerate(self.owners):
            rows.setdefault(owner, []).append(i)
        return {owner: self.matrix[index] for owner, index in rows.items()}


def clause_collection_name(name: str) -> str:
    """The clause collection beside a chunk collection (Chroma names are at most 63 characters)."""
    return f"{name[:57]}-cl"


def collection_name(prefix: str, embedder_id: str) -> str:
    """ASCII-only, Chroma-valid collection name for one embedder (vectors of one space)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", f"{prefix}_{embedder_id}").strip("-._")
    return (name or "kb")[:60].ljust(3, "x")


def _pages(collection: Any, include: list[str], page: int) -> Iterator[Any]:
    """A whole collection read with ``get`` in pages of ``page`` rows (the last one may be short or empty)."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=page, offset=offset)
        yield got
        if len(got["ids"]) < page:
            return
        offset += page


def make_client(persist_dir: Path, chroma_url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        parsed = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    persist_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(persist_dir), settings=settings)


class ChromaStore:
    """One collection per embedder; vectors are always computed by us and passed explicitly."""

    def __init__(self, client: Any, name: str, embedder: Embedder | None, embedder_id: str) -> None:
        self.client = client
        self.embedding_function = ChromaEmbeddingFunction(embedder, embedder_id)
        self.collection = client.get_or_create_collection(
            name=name,
            embedding_function=self.embedding_function,  # never Chroma's downloading default
            metadata={"hnsw:space": "cosine", "embedder": embedder_id},
        )
        # The sentences and items of longer articles, each embedded on its own (metadata ``chunk``: the
        # owning chunk's id); the ranker reads the best clause's cosine beside the article's own.
        self.clauses = client.get_or_create_collection(
            name=clause_collection_name(name),
            embedding_function=self.embedding_function,
            metadata={"hnsw:space": "cosine", "embedder": embedder_id},
        )
        try:
            self._batch = int(client.get_max_batch_size())
        except Exception:
            self._batch = 1000

    def count(self) -> int:
        return int(self.collection.count())

    def all_chunks(self, page: int = 5000) -> list[StoredChunk]:
        return self.mirror(page, vectors=False)[0]

    def mirror(self, page: int = 5000, *, vectors: bool = True) -> tuple[list[StoredChunk], np.ndarray | None]:
        """Every stored chunk and (``vectors``) their stored embeddings, one float32 row per chunk in the same
        order, read in the same pages (the retriever's cosines for candidates outside the dense hits)."""
        out: list[StoredChunk] = []
        rows: list[np.ndarray] = []
        include = ["documents", "metadatas", "embeddings"] if vectors else ["documents", "metadatas"]
        for got in _pages(self.collection, include, page):
            ids = got["ids"]
            for cid, doc, meta in zip(ids, got["documents"] or [], got["metadatas"] or [], strict=False):
                out.append(StoredChunk(cid, Chunk.from_stored(doc or "", dict(meta or {}))))
            if vectors and ids:
                rows.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), -1))
        if not vectors or not rows:
            return out, None
        matrix = np.vstack(rows)
        return out, matrix if len(matrix) == len(out) else None

    def clause_mirror(self, page: int = 5000) -> ClauseVectors:
        """Every stored clause vector with its owning chunk's id, in id order (clause ``n`` of a chunk
        after clause ``n - 1``)."""
        rows: list[np.ndarray] = []
        keyed: list[tuple[str, int]] = []
        for got in _pages(self.clauses, ["metadatas", "embeddings"], page):
            ids = got["ids"]
            for meta in got["metadatas"] or []:
                meta = dict(meta or {})
                keyed.append((str(meta.get("chunk", "")), int(meta.get("n", 0))))
            if ids:
                rows.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), -1))
        if not rows:
            return ClauseVectors.empty()
        matrix = np.vstack(rows)
        order = sorted(range(len(keyed)), key=keyed.__getitem__)
        owners = [keyed[i][0] for i in order]
        return ClauseVectors(owners, matrix[order])

    def chunks_with_clauses(self, ids: Sequence[str]) -> set[str]:
        """Which of these chunks have clause vectors stored."""
        found: set[str] = set()
        ids = list(ids)
        for start in range(0, len(ids), self._batch):
            got = self.clauses.get(where={"chunk": {"$in": ids[start : start + self._batch]}}, include=["metadatas"])
            found.update(str(dict(meta or {}).get("chunk", "")) for meta in got["metadatas"] or [])
        return found

    def upsert_clauses(self, owners: Sequence[str], texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store clause vectors; ``owners[i]`` owns ``texts[i]``, numbered in the order given per owner."""
        numbers: dict[str, int] = {}
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        for owner in owners:
            n = numbers.get(owner, 0)
            numbers[owner] = n + 1
            ids.append(f"{owner}#{n}")
            metas.append({"chunk": owner, "n": n})
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self.clauses.upsert(
                ids=ids[start:end],
                documents=list(texts[start:end]),
                metadatas=metas[start:end],
                embeddings=[np.asarray(v, dtype=np.float32) for v in vectors[start:end]],
            )

    def source_ids(self, source: str) -> list[str]:
        return list(self.collection.get(where={"source": source}, include=[])["ids"])

    def embeddings_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], got["embeddings"], strict=False)}

    def upsert(self, ids: list[str], chunks: list[Chunk], vectors: np.ndarray) -> None:
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self.collection.upsert(
                ids=ids[start:end],
                documents=[c.text for c in chunks[start:end]],
                metadatas=[c.metadata() for c in chunks[start:end]],
                embeddings=[np.asarray(v, dtype=np.float32) for v in vectors[start:end]],
            )

    def update_metadata(self, ids: list[str], chunks: list[Chunk]) -> None:
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self.collection.update(ids=ids[start:end], metadatas=[c.metadata() for c in chunks[start:end]])

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks and their clauses."""
        ids = list(ids)
        for start in range(0, len(ids), self._batch):
            batch = ids[start : start + self._batch]
            self.clauses.delete(where={"chunk": {"$in": batch}})
            self.collection.delete(ids=batch)

    def query(self, vector: np.ndarray, n: int, total: int) -> list[tuple[str, float]]:
        """Nearest chunks as (id, cosine similarity), best first; ``total`` = chunks stored (known
        by the caller: ``count()`` costs ~20 ms at 10k chunks, a fifth of the latency budget)."""
        if total == 0:
            return []
        got = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(n, total), include=["distances"]
        )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0], strict=False)]
