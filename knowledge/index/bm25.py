"""Chinese BM25 (bm25s over alias-normalised jieba tokens), rebuilt in memory from Chroma's chunks."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import bm25s
import numpy as np

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


class BM25Index:
    """Immutable lexical index over ``texts``; ``search`` returns (position, score) best first."""

    def __init__(
        self,
        texts: Sequence[str],
        tokenize: Callable[[str], list[str]],
        *,
        doc_tokens: Sequence[list[str]] | None = None,
    ) -> None:
        """``doc_tokens``: the texts already cut by ``tokenize`` (a caller that needs their normalised form
        too tokenises once); ``tokenize`` is then used for queries only."""
        self._tokenize = tokenize
        self.size = len(texts)
        self._vocab: dict[str, int] = {}
        self._model: bm25s.BM25 | None = None
        self._doc_terms: list[frozenset[str]] = []
        self._df: dict[str, int] = {}
        if not texts:
            return
        corpus_ids: list[list[int]] = []
        for tokens in doc_tokens if doc_tokens is not None else map(tokenize, texts):
            corpus_ids.append([self._vocab.setdefault(tok, len(self._vocab)) for tok in tokens])
            self._doc_terms.append(frozenset(tokens))
        for terms in self._doc_terms:
            for term in terms:
                self._df[term] = self._df.get(term, 0) + 1
        if not self._vocab:
            return
        # bm25s accepts pre-tokenised corpora as (ids, vocab).
        self._model = bm25s.BM25(k1=1.2, b=0.75)
        self._model.index(bm25s.tokenization.Tokenized(ids=corpus_ids, vocab=self._vocab), show_progress=False)

    def idf(self, term: str) -> float:
        """Smoothed IDF; unseen terms get the maximum (they are maximally informative)."""
        df = self._df.get(term, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def coverage(self, question_tokens: Sequence[str], position: int) -> float:
        """IDF-weighted share of the question's terms that occur in document ``position``."""
        terms = set(question_tokens)
        total = sum(self.idf(t) for t in terms)
        if total <= 0:
            return 0.0
        present = self._doc_terms[position]
        return sum(self.idf(t) for t in terms if t in present) / total

    def doc_terms(self, position: int) -> frozenset[str]:
        return self._doc_terms[position]

    def query_tokens(self, question: str) -> list[str]:
        return [tok for tok in self._tokenize(question) if tok in self._vocab]

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        return self.search_tokens(self._tokenize(question), k)

    def search_tokens(self, question_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """``search`` for a question already tokenised (by the index's ``tokenize``)."""
        if self._model is None:
            return []
        tokens = [tok for tok in question_tokens if tok in self._vocab]
        if not tokens:
            return []
        scores = self._model.get_scores([self._vocab[t] for t in tokens])
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        ranked = sorted(((int(i), float(scores[i])) for i in top if scores[i] > 0), key=lambda x: -x[1])
        return ranked
