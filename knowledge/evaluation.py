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
    also: tuple[tuple[str, str], ...] = ()  # further gold articles (doc, article); a hit on any counts

    @property
    def answerable(self) -> bool:
        return self.doc is not None

    @property
    def gold(self) -> tuple[tuple[str, str], ...]:
        """Every gold (doc, article label) of the line."""
        first = ((self.doc, self.article),) if self.doc is not None and self.article else ()
        return first + self.also


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
                also=tuple((str(d), str(a)) for d, a in row.get("also") or ()),
            )
        )
    return items


def is_gold_article(source: str, label: str | None, item: EvalItem) -> bool:
    return label is not None and (source, label) in item.gold


def is_hit(passage: Passage, item: EvalItem) -> bool:
    """A passage of a gold article (by label, ``also`` included), or from the expected document
    containing every answer keyword."""
    if item.doc is None:
        return False
    if is_gold_article(passage.source, passage.label, item):
        return True
    return passage.source == item.doc and all(keyword in passage.text for keyword in item.answer_keywords)


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
    answer_precision: float | None = None  # share of confident answers whose cited article is gold
    shown: float | None = None  # share of answerable questions whose gold article the member sees
    modes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "hit@1": round(self.hit1, 4),
            "hit@5": round(self.hit5, 4),
            "mrr": round(self.mrr, 4),
            "refusal_accuracy": round(self.refusal_accuracy, 4),
            "n": self.n,
        }


def shown_passages(answer: Answer) -> list[tuple[str, str | None]]:
    """What the member sees: the quoted article(s) of an answer, or the offered candidates."""
    if answer.decision == "answer":
        return [(c.source, c.label) for c in answer.citations[:1]]
    if answer.decision == "candidates":
        return [(c.source, c.label) for c in answer.candidates]
    return []


def sees_gold(answer: Answer, item: EvalItem) -> bool:
    shown = shown_passages(answer)
    if not item.answerable or not shown:
        return False
    by_key = {(p.source, p.label): p for p in answer.passages}
    return any(
        is_gold_article(s, lab, item) or (by_key.get((s, lab)) is not None and is_hit(by_key[(s, lab)], item))
        for s, lab in shown
    )


def summarise_answers(items: Sequence[EvalItem], answers: Sequence[Answer], k: int = 5) -> EvalSummary:
    """``summarise`` plus the three-way figures (confident answers right, gold shown, modes)."""
    summary = summarise([(it, a.passages[:k], a.answered) for it, a in zip(items, answers, strict=True)], k)
    confident = [(it, a) for it, a in zip(items, answers, strict=True) if a.decision == "answer"]
    right = sum(1 for it, a in confident if it.answerable and sees_gold(a, it))
    answerable = [(it, a) for it, a in zip(items, answers, strict=True) if it.answerable]
    summary.answer_precision = right / len(confident) if confident else None
    summary.shown = sum(1 for it, a in answerable if sees_gold(a, it)) / len(answerable) if answerable else None
    modes: dict[str, int] = {}
    for answer in answers:
        modes[answer.decision] = modes.get(answer.decision, 0) + 1
    summary.modes = modes
    return summary


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
        "mode": answer.decision,
        "answer": answer.text,
        "passages": [p.to_json() for p in answer.passages[:k]],
        "candidates": [{"source": c.source, "article": c.label} for c in answer.candidates],
    }


def run_eval(
    items: Sequence[EvalItem], answer: Callable[[str], Answer], k: int = 5
) -> tuple[list[dict[str, Any]], EvalSummary]:
    rows: list[dict[str, Any]] = []
    answers: list[Answer] = []
    for item in items:
        result = answer(item.question)
        rows.append({"id": item.id, **search_json(item.question, result, k), **diagnostics(item, result, k)})
        answers.append(result)
    return rows, summarise_answers(items, answers, k)


def diagnostics(item: EvalItem, answer: Answer, k: int = 5) -> dict[str, Any]:
    """Per-question fields that make a miss inspectable: how it was decided and on what evidence."""
    top = answer.passages[0] if answer.passages else None
    return {
        "expected": "answer" if item.answerable else "refuse",
        "correct": answer.answered == item.answerable,
        "rank": first_hit_rank(answer.passages[:k], item) if item.answerable else None,
        "via": answer.mode,
        "confidence": round(float(answer.confidence), 4),
        "support": None if answer.support is None else round(float(answer.support), 3),
        "quoted": None if top is None else f"{top.source} {top.label or ''}".strip(),
    }
