"""Optional synthesis with an OpenAI-compatible chat model, grounded on retrieved clauses only.

Citations in the model's reply are checked against the retrieved passages; invented ones are
removed. Nothing here is constructed unless LLM_BASE_URL and LLM_MODEL are configured.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge import texts
from knowledge.answering import citation_for, fit_telegram
from knowledge.config import KnowledgeConfig
from knowledge.models import Answer, Citation, Passage

log = logging.getLogger(__name__)

# 《title》 optionally followed by 第X条 / 总纲 / 序言 / “section”
CITATION_RE = re.compile(r"《([^》]{1,80})》\s*(第[一二三四五六七八九十百千零〇两\d]+条|总纲|序言|“[^”]{1,60}”)?")
BRACKET_REF_RE = re.compile(r"\[(\d{1,2})\]")
MAX_CLAUSE_CHARS = 1200
CHOICE_CLAUSE_CHARS = 400  # per clause when choosing among candidates: ten clauses stay a short prompt
CHOICE_RE = re.compile(r"\d{1,2}")
MAX_CHOSEN = 3
CHOICE_POOL = 10  # the ranker's best articles the model chooses the candidates from


def make_chat_model(config: KnowledgeConfig) -> Any:
    """ChatOpenAI for any OpenAI-compatible server (Qwen, DeepSeek, vLLM …)."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        base_url=config.llm_base_url,
        api_key=SecretStr(config.llm_api_key or "unused"),
        model=config.llm_model or "",
        temperature=0.1,
        timeout=30,
        max_retries=1,
    )


def _label_key(label: str | None) -> str | None:
    return label.strip("“”") if label else None


class LlmAnswerer:
    """Builds a grounded prompt, calls the chat model, and keeps only citations it was given."""

    def __init__(self, chat_model: Any) -> None:
        self.chat_model = chat_model

    def build_messages(
        self, question: str, passages: list[Passage], history: list[tuple[str, str]] | None
    ) -> list[Any]:
        from langchain_core.messages import HumanMessage, SystemMessage

        clauses = "\n\n".join(
            f"[{i}] {citation_for(p)}\n{p.text[:MAX_CLAUSE_CHARS]}" for i, p in enumerate(passages, start=1)
        )
        parts = [texts.LLM_CONTEXT_HEADER, clauses]
        if history:
            prev_q, prev_a = history[-1]
            parts.append(texts.LLM_HISTORY_HEADER.format(question=prev_q, answer=prev_a[:600]))
        parts.append(texts.LLM_QUESTION.format(question=question))
        return [SystemMessage(content=texts.LLM_SYSTEM_PROMPT), HumanMessage(content="\n\n".join(parts))]

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        history: list[tuple[str, str]] | None = None,
        confidence: float = 0.0,
    ) -> Answer | None:
        """A checked synthesised answer; None when the model fails (the caller falls back)."""
        try:
            reply = self.chat_model.invoke(self.build_messages(question, passages, history))
        except Exception as exc:  # network errors, timeouts, bad responses: fall back to extractive
            log.warning("chat model failed, answering extractively: %s", exc)
            return None
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        content = content.strip()
        if not content:
            return None
        if texts.LLM_DECLINE_MARKER in content and len(content) < 40:
            return Answer(
                answered=False, text=texts.NOT_COVERED, passages=passages, mode="refusal", confidence=confidence
            )
        text, citations = check_citations(content, passages)
        if not citations:
            citations = [citation_for(passages[0])]
        sources = texts.SOURCES_LINE.format(citations=texts.CITATION_SEPARATOR.join(map(str, citations)))
        body = text if text.startswith(texts.GREETING[:4]) else texts.GREETING + text
        return Answer(
            answered=True,
            text=fit_telegram(f"{body}\n\n{sources}"),
            passages=passages,
            citations=citations,
            mode="llm",
            confidence=confidence,
        )

    def choose(self, question: str, passages: list[Passage]) -> list[int] | None:
        """Indices (into ``passages``) of the clauses the model says answer the question, best first, at most
        three; [] when it says none does; None when it fails or replies with nothing usable (the caller keeps
        the ranker's order). Only reorders what the member is offered: a confident answer is never made here.
        """
        from langchain_core.messages import HumanMessage, SystemMessage

        if len(passages) < 2:
            return None
        clauses = "\n\n".join(
            f"[{i}] {citation_for(p)}\n{p.text[:CHOICE_CLAUSE_CHARS]}" for i, p in enumerate(passages, start=1)
        )
        prompt = "\n\n".join([texts.LLM_CHOOSE_CLAUSES, clauses, texts.LLM_QUESTION.format(question=question)])
        try:
            messages = [SystemMessage(content=texts.LLM_CHOOSE_PROMPT), HumanMessage(content=prompt)]
            reply = self.chat_model.invoke(messages)
        except Exception as exc:  # network errors, timeouts: keep the ranker's order
            log.warning("chat model failed while choosing candidates: %s", exc)
            return None
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        return parse_choice(content, len(passages))


def parse_choice(content: str, n: int) -> list[int] | None:
    """The model's "3,1" as indices [2, 0]; "0" as []; numbers outside 1..n are ignored; None if nothing usable."""
    numbers = [int(m) for m in CHOICE_RE.findall(content)]
    if not numbers:
        return None
    chosen: list[int] = []
    for number in numbers:
        if 1 <= number <= n and number - 1 not in chosen:
            chosen.append(number - 1)
    if chosen:
        return chosen[:MAX_CHOSEN]
    return [] if all(number == 0 for number in numbers) else None


def check_citations(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Remove citations that do not name a retrieved passage; return the text and the valid ones."""
    by_key: dict[tuple[str, str | None], Passage] = {}
    titles: dict[str, Passage] = {}
    for passage in passages:
        by_key[(passage.title, _label_key(passage.label))] = passage
        titles.setdefault(passage.title, passage)
    valid: list[Citation] = []

    def keep_or_drop(match: re.Match[str]) -> str:
        title, label = match.group(1), _label_key(match.group(2))
        passage = by_key.get((title, label)) if label else titles.get(title)
        if passage is None:
            return ""
        citation = citation_for(passage) if label else Citation(passage.source, passage.title, None)
        if citation not in valid:
            valid.append(citation)
        return match.group(0)

    cleaned = CITATION_RE.sub(keep_or_drop, text)

    def bracket(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if 1 <= index <= len(passages):
            citation = citation_for(passages[index - 1])
            if citation not in valid:
                valid.append(citation)
            return match.group(0)
        return ""

    cleaned = BRACKET_REF_RE.sub(bracket, cleaned)
    cleaned = re.sub(r"(根据|依据|按照|见)[，,]?\s*(?=[，。；,.;]|$)", "", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    return cleaned, valid
