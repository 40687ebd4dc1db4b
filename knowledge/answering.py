"""Evidence check, extractive answers (key sentence first, with citations) and follow-up handling."""

from __future__ import annotations

import re

from knowledge import texts
from knowledge.chunking import ARTICLE_RE, split_sentences
from knowledge.config import Thresholds
from knowledge.models import Answer, Citation, Passage
from knowledge.retrieval import Retrieval
from knowledge.tokenize import Tokenizer, normalize_text

TELEGRAM_LIMIT = 4096
QUOTE_BUDGET = 200  # characters quoted from one long clause before "……"
SHORT_CLAUSE = 150  # clauses up to this length are quoted whole
MAX_CANDIDATES = 3  # articles offered as buttons when the decision is "candidates"

_ANAPHORA = re.compile(r"^(那|那么|那要|那如果|还有|还|另外|这个|这种|这样|它|他们|如果|要是|假如|其中|具体)")


def citation_for(passage: Passage) -> Citation:
    return Citation(source=passage.source, title=passage.title, label=passage.label)


def decide(retrieval: Retrieval, thresholds: Thresholds) -> tuple[str, float]:
    """The three-way decision and its confidence: the learned, calibrated one when the retriever has a
    model (confidence = probability), else the hand-set evidence check (answer or refusal only)."""
    if retrieval.decision is not None and retrieval.probability is not None:
        return retrieval.decision, retrieval.probability
    answered, confidence = has_evidence(retrieval, thresholds)
    return ("answer" if answered else "refusal"), confidence


def candidate_citations(passages: list[Passage], limit: int = MAX_CANDIDATES) -> list[Citation]:
    """Up to ``limit`` distinct articles (citable passages first) to offer when no clause answers directly."""
    out: list[Citation] = []
    for passage in passages:
        citation = citation_for(passage)
        if citation.label is None or any(c.source == citation.source and c.label == citation.label for c in out):
            continue
        out.append(citation)
        if len(out) == limit:
            break
    return out


def has_evidence(retrieval: Retrieval, thresholds: Thresholds) -> tuple[bool, float]:
    """Decide whether the knowledge base covers the question; returns (decision, confidence).

    Dense cosines of a small multilingual model are compressed (0.8-0.92 for almost any Chinese
    question against almost any passage), so a cosine alone lets an off-topic question "match"
    a short prose section. The passage to be quoted must therefore either be semantically close
    AND share a salient (non-generic) term with the question, or be very close on its own; and a
    question asking for a number needs a passage that states one.
    """
    if not retrieval.passages:
        return False, 0.0
    if thresholds.quantity_check and retrieval.asks_quantity and not retrieval.states_quantity:
        return False, retrieval.evidence if retrieval.evidence is not None else retrieval.coverage
    if retrieval.evidence is not None:
        dense = retrieval.evidence
        unsupported = max(thresholds.min_dense, thresholds.min_dense_unsupported)
        supported = dense >= thresholds.min_dense and retrieval.support >= thresholds.min_support
        return supported or dense >= unsupported, dense
    return retrieval.coverage >= thresholds.min_lexical, retrieval.coverage


def is_elliptical(question: str, tokenizer: Tokenizer) -> bool:
    """Short or anaphoric questions ("那需要多久？") depend on the previous turn."""
    stripped = normalize_text(question).strip(" ?？!！。.")
    return len(stripped) <= 5 or len(tokenizer(question)) <= 1 or bool(_ANAPHORA.match(stripped))


def expand_followup(question: str, history: list[tuple[str, str]] | None, tokenizer: Tokenizer) -> str:
    """Query expansion for follow-ups: prepend the previous question when this one is elliptical."""
    if not history or not is_elliptical(question, tokenizer):
        return question
    previous_question = history[-1][0]
    return texts.FOLLOWUP_JOIN.format(previous=previous_question, question=question)


def _body(passage: Passage) -> str:
    """Clause text without its leading "第X条 " label (the label is in the citation)."""
    match = ARTICLE_RE.match(passage.text)
    return passage.text[match.end() :].strip() if match else passage.text.strip()


def rank_sentences(question: str, body: str, tokenizer: Tokenizer) -> list[tuple[float, int, str]]:
    """Score each sentence by overlap with the question (tokens and character bigrams)."""
    q_tokens = set(tokenizer(question))
    q_norm = tokenizer.aliases.normalize(normalize_text(question))
    q_bigrams = {q_norm[i : i + 2] for i in range(len(q_norm) - 1)}
    scored: list[tuple[float, int, str]] = []
    for index, sentence in enumerate(split_sentences(body)):
        s_norm = tokenizer.aliases.normalize(normalize_text(sentence))
        token_overlap = len(q_tokens & set(tokenizer(sentence)))
        bigram_overlap = sum(1 for i in range(len(s_norm) - 1) if s_norm[i : i + 2] in q_bigrams)
        score = token_overlap * 2 + bigram_overlap * 0.5 - index * 0.01
        scored.append((score, index, sentence))
    return scored


def quote(question: str, passage: Passage, tokenizer: Tokenizer, budget: int = QUOTE_BUDGET) -> str:
    """The key sentence first; a short clause is quoted whole, a long one by its best sentences."""
    body = _body(passage)
    if len(body) <= SHORT_CLAUSE:
        return body
    scored = rank_sentences(question, body, tokenizer)
    if len(scored) <= 1:
        return body[:budget] + (texts.TRUNCATED if len(body) > budget else "")
    ranked = sorted(scored, reverse=True)
    key = ranked[0]
    text = key[2][:budget]
    for other in ranked[1:]:
        if len(text) + len(other[2]) <= budget and len(key[2]) < budget // 2:
            text += texts.TRUNCATED + other[2]
        break
    return text + texts.TRUNCATED


def extractive_answer(
    question: str,
    retrieval: Retrieval,
    thresholds: Thresholds,
    tokenizer: Tokenizer,
    query: str | None = None,
) -> Answer:
    """Quote the governing clause(s) with citations, offer candidates, or say the KB does not cover it."""
    decision, confidence = decide(retrieval, thresholds)
    if decision == "candidates":
        return candidates_answer(retrieval, confidence, query or question)
    if decision != "answer":
        return refusal(retrieval, confidence, query or question)
    passages = retrieval.passages
    top = passages[0]
    chosen = [top]
    for other in passages[1 : thresholds.max_quoted]:
        same = other.source == top.source and other.label == top.label
        if not same and other.score >= top.score * thresholds.second_ratio:
            chosen.append(other)
    citation = citation_for(top)
    lines = [
        texts.ANSWER_INTRO.format(citation=citation),
        f"“{quote(query or question, top, tokenizer)}”",
    ]
    citations = [citation]
    for other in chosen[1:]:
        extra = citation_for(other)
        citations.append(extra)
        lines.append(texts.ALSO_RELEVANT.format(citation=extra))
    text = fit_telegram("\n".join(lines))
    return Answer(
        answered=True,
        text=text,
        passages=passages,
        citations=citations,
        mode="extractive",
        confidence=confidence,
        query=query or question,
        support=retrieval.support,
        decision="answer",
        probability=retrieval.probability,
    )


def candidates_answer(retrieval: Retrieval, confidence: float, query: str) -> Answer:
    """No clause answers directly: name up to three articles that may be relevant (shown as buttons)."""
    candidates = candidate_citations(retrieval.passages)
    if not candidates:
        return refusal(retrieval, confidence, query)
    lines = [texts.CANDIDATES_INTRO] + [
        texts.CANDIDATE_LINE.format(rank=i, citation=c) for i, c in enumerate(candidates, start=1)
    ]
    return Answer(
        answered=False,
        text=fit_telegram("\n".join(lines)),
        passages=retrieval.passages,
        citations=[],
        mode="candidates",
        confidence=confidence,
        query=query,
        support=retrieval.support,
        decision="candidates",
        candidates=candidates,
        probability=retrieval.probability,
    )


def refusal(retrieval: Retrieval, confidence: float, query: str) -> Answer:
    return Answer(
        answered=False,
        text=texts.NOT_COVERED,
        passages=retrieval.passages,
        citations=[],
        mode="refusal",
        confidence=confidence,
        query=query,
        support=retrieval.support,
        decision="refusal",
        probability=retrieval.probability,
    )


def fit_telegram(text: str, limit: int = TELEGRAM_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(texts.TRUNCATED)] + texts.TRUNCATED
