"""Quiz generation benchmark (issue #15): questions generated from the CPPCC Charter and the kb-samples laws.

Chunks the documents exactly as ingest does (``knowledge.loaders.load`` + ``knowledge.chunking``), runs the
offline generator, prints the count by kind and document and the mechanical check's pass rate (the answer
occurs in the cited article), and writes a random sample (fixed seed) for a human judgement.

    .venv/bin/python -m bench.quiz_bench [--shared ../shared] [--sample 50] [--seed 15] [--out data/quiz-sample.md]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

from bench.kb_data import DEFAULT_SHARED, REPO, sample_docs
from knowledge.chunking import chunk_document
from knowledge.loaders import load
from knowledge.models import Chunk
from knowledge.quiz import OPTION_LETTERS, Question, QuizGenerator, check


def corpus_chunks(shared: Path) -> list[Chunk]:
    chunks: list[Chunk] = []
    for path in sample_docs(shared):
        chunks.extend(chunk_document(load(path)))
    return chunks


def render(index: int, q: Question) -> str:
    lines = [f"### {index}. [{q.kind}] {q.citation}", q.stem]
    lines += [f"{OPTION_LETTERS[i]}. {opt}" for i, opt in enumerate(q.options)]
    lines.append(f"答案：{OPTION_LETTERS[q.answer]}（{q.term}）")
    lines.append(f"原文：{q.quote}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--seed", type=int, default=15, help="seed of the judged sample")
    parser.add_argument("--out", type=Path, default=REPO / "data" / "quiz-sample.md")
    args = parser.parse_args(argv)

    chunks = corpus_chunks(args.shared)
    started = time.perf_counter()
    generator = QuizGenerator(chunks, seed=0)
    questions = generator.generate()
    elapsed = time.perf_counter() - started
    articles = len(generator.chunks)
    passed = sum(1 for q in questions if check(q))
    by_kind = Counter(q.kind for q in questions)
    by_doc = Counter(q.title for q in questions)
    print(f"documents: {len({c.source for c in chunks})}, article chunks: {articles}, generated in {elapsed:.1f}s")
    print(f"questions: {len(questions)} ({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))})")
    print(f"articles with at least one question: {len({(q.source, q.article) for q in questions})}")
    for title, n in by_doc.most_common():
        print(f"  {n:4d}  {title}")
    share = passed / max(len(questions), 1)
    print(f"mechanical check (answer in cited article): {passed}/{len(questions)} = {share:.1%}")
    sample = random.Random(args.seed).sample(questions, min(args.sample, len(questions)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n\n".join(render(i + 1, q) for i, q in enumerate(sample)) + "\n", encoding="utf-8")
    print(f"sample of {len(sample)} (seed {args.seed}) written to {args.out}")
    print(json.dumps({"questions": len(questions), **by_kind, "check_pass": passed}, ensure_ascii=False))


if __name__ == "__main__":
    main()
