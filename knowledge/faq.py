"""Staff FAQ layer: a pure matcher over curated question/answer pairs, plus CSV/Markdown loaders.

Storage and hit counts live in the bot's database; this module only decides whether a member's
question is (nearly) the same as a curated one. It is deliberately conservative: a wrong canned
answer is worse than falling through to retrieval.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.aliases import AliasNormalizer
from knowledge.tokenize import Tokenizer, normalize_text

DEFAULT_MIN_SIMILARITY = 0.72
_STRIP = re.compile(r"[\W_]+", re.UNICODE)
_FILLERS = re.compile(r"(请问|请|一下|呢|吗|啊|呀|吧|哦|么|嘛|的话|到底|我想问|想问|问下|问一下)")


@dataclass(frozen=True)
class FaqPair:
    id: int | str
    question: str
    answer: str


@dataclass(frozen=True)
class FaqMatch:
    pair: FaqPair
    score: float


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


class FaqMatcher:
    """Matches a question to the closest curated one by alias-normalised tokens and bigrams."""

    def __init__(
        self,
        pairs: list[FaqPair],
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        self.pairs = list(pairs)
        self.min_similarity = min_similarity
        self.tokenizer = tokenizer or Tokenizer(AliasNormalizer.from_file())
        self._keys = [self._key(p.question) for p in self.pairs]

    def _key(self, text: str) -> tuple[str, set[str], set[str]]:
        compact = _STRIP.sub("", _FILLERS.sub("", self.tokenizer.aliases.normalize(normalize_text(text))))
        bigrams = {compact[i : i + 2] for i in range(len(compact) - 1)} or ({compact} if compact else set())
        return compact, set(self.tokenizer(text)), bigrams

    def similarity(self, a: str, b: str) -> float:
        return self._score(self._key(a), self._key(b))

    @staticmethod
    def _score(q: tuple[str, set[str], set[str]], f: tuple[str, set[str], set[str]]) -> float:
        if q[0] and q[0] == f[0]:
            return 1.0
        return 0.5 * _dice(q[1], f[1]) + 0.5 * _dice(q[2], f[2])

    def match(self, question: str) -> FaqMatch | None:
        if not self.pairs or not question.strip():
            return None
        key = self._key(question)
        best_score, best = 0.0, None
        for pair, fkey in zip(self.pairs, self._keys, strict=True):
            score = self._score(key, fkey)
            if score > best_score:
                best_score, best = score, pair
        if best is None or best_score < self.min_similarity:
            return None
        return FaqMatch(pair=best, score=round(best_score, 4))


def load_faq_file(path: Path) -> list[FaqPair]:
    """CSV with columns question,answer (optional id), or Markdown: ``## question`` then answer."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return parse_faq_csv(text)
    return parse_faq_markdown(text)


def parse_faq_csv(text: str) -> list[FaqPair]:
    pairs: list[FaqPair] = []
    reader = csv.DictReader(io.StringIO(text))
    for index, row in enumerate(reader, start=1):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if row.get("question") and row.get("answer"):
            pairs.append(FaqPair(id=row.get("id") or index, question=row["question"], answer=row["answer"]))
    return pairs


def parse_faq_markdown(text: str) -> list[FaqPair]:
    pairs: list[FaqPair] = []
    question: str | None = None
    answer: list[str] = []

    def flush() -> None:
        body = "\n".join(answer).strip()
        if question and body:
            pairs.append(FaqPair(id=len(pairs) + 1, question=question, answer=body))

    for line in text.splitlines():
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if heading:
            flush()
            question, answer = heading.group(1).strip(), []
        elif question is not None and not line.startswith("# "):
            answer.append(line.rstrip())
    flush()
    return pairs
