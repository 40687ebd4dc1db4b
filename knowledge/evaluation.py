"""Evaluation on JSON Lines question sets (the ``kb eval`` format): hits, MRR, refusal accuracy."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.models import Answer, Passage


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    doc: str | None
    article: str | None
    answer_keywords: tuple[str, ...]
    type: str = ""

    @property
    def answerable(self) -> bool:
        return self.doc is not None


def load_eval(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            EvalItem(
                id=str(row.get("id", len(items) + 1)),
                question=row["question"],
                doc=row.get("doc"),
                article=row.get("article"),
                answer_keywords=tuple(row.get("answer_keywords") or ()),
                type=row.get("type", ""),
            )
        )
    return items


def is_hit(passage: Passage, item: EvalItem) -> bool:
    """A passage from the expected document containing every answer keyword."""
    return (
        item.doc is not None
        and passage.source == item.doc
        and all(keyword in passage.text for keyword in item.answer_keywords)
    )


def first_hit_rank(passages: Sequence[Passage], item: EvalItem) -> int | None:
    for rank, passage in enumerate(passages, start=1):
        if is_hit(passage, item):
            return rank
    return None


@dataclass
class EvalSummary:
    n: int
    hit1: float
    hit5: float
    mrr: float
    refusal_accuracy: float
    answered_rate: float  # share of answerable questions that were answered
    refused_out_of_corpus: int
    out_of_corpus: int
    ranks: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "hit@1": round(self.hit1, 4),
            "hit@5": round(self.hit5, 4),
            "mrr": round(self.mrr, 4),
            "refusal_accuracy": round(self.refusal_accuracy, 4),
            "n": self.n,
        }


def summarise(results: Sequence[tuple[EvalItem, list[Passage], bool]], k: int = 5) -> EvalSummary:
    """Ranking metrics over answerable items; refusal accuracy over all (answered == answerable)."""
    answerable = [(it, ps, ans) for it, ps, ans in results if it.answerable]
    ranks = {it.id: first_hit_rank(ps[:k], it) for it, ps, _ in answerable}
    n_ans = len(answerable) or 1
    hit1 = sum(1 for r in ranks.values() if r == 1) / n_ans
    hit5 = sum(1 for r in ranks.values() if r is not None and r <= 5) / n_ans
    mrr = sum(1 / r for r in ranks.values() if r is not None) / n_ans
    correct = sum(1 for it, _, ans in results if ans == it.answerable)
    out = [(it, ans) for it, _, ans in results if not it.answerable]
    return EvalSummary(
        n=len(results),
        hit1=hit1,
        hit5=hit5,
        mrr=mrr,
        refusal_accuracy=correct / (len(results) or 1),
        answered_rate=sum(1 for _, _, ans in answerable if ans) / n_ans,
        refused_out_of_corpus=sum(1 for _, ans in out if not ans),
        out_of_corpus=len(out),
        ranks=ranks,
    )


def search_json(question: str, answer: Answer, k: int) -> dict[str, Any]:
    """The ``kb search --json`` object."""
    return {
        "question": question,
        "answered": answer.answered,
        "answer": answer.text,
        "passages": [p.to_json() for p in answer.passages[:k]],
    }


def run_eval(
    items: Sequence[EvalItem], answer: Callable[[str], Answer], k: int = 5
) -> tuple[list[dict[str, Any]], EvalSummary]:
    rows: list[dict[str, Any]] = []
    results: list[tuple[EvalItem, list[Passage], bool]] = []
    for item in items:
        result = answer(item.question)
        rows.append({"id": item.id, **search_json(item.question, result, k), **diagnostics(item, result, k)})
        results.append((item, result.passages[:k], result.answered))
    return rows, summarise(results, k)


def diagnostics(item: EvalItem, answer: Answer, k: int = 5) -> dict[str, Any]:
    """Per-question fields that make a miss inspectable: how it was decided and on what evidence."""
    top = answer.passages[0] if answer.passages else None
    return {
        "expected": "answer" if item.answerable else "refuse",
        "correct": answer.answered == item.answerable,
        "rank": first_hit_rank(answer.passages[:k], item) if item.answerable else None,
        "mode": answer.mode,
        "confidence": round(float(answer.confidence), 4),
        "support": None if answer.support is None else round(float(answer.support), 3),
        "quoted": None if top is None else f"{top.source} {top.label or ''}".strip(),
    }
