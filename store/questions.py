"""Question log, feedback, knowledge gaps and the staff FAQ."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import FaqEntry, QuestionLog

FEEDBACK_USEFUL = "useful"
FEEDBACK_USELESS = "useless"
MODE_ANSWER = "answer"
MODE_CANDIDATES = "candidates"
MODE_REFUSAL = "refusal"
KB_MODES = (MODE_ANSWER, MODE_CANDIDATES, MODE_REFUSAL)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def question_key(text: str) -> str:
    """A grouping key: NFKC, lower case, punctuation and spaces removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())[:200]


async def log_question(
    session: AsyncSession,
    *,
    member_id: int | None,
    chat_id: int,
    question: str,
    answered: bool,
    answer: str,
    sources: list[dict[str, Any]],
    at: datetime,
    faq_id: int | None = None,
    mode: str | None = None,
) -> QuestionLog:
    """Log a question; ``mode`` is the knowledge base's decision (for candidates, ``sources`` are the offers)."""
    if mode is not None and mode not in KB_MODES:
        raise ValueError(mode)
    entry = QuestionLog(
        member_id=member_id,
        chat_id=chat_id,
        question=question,
        question_key=question_key(question),
        answered=answered,
        answer=answer,
        sources=sources,
        faq_id=faq_id,
        created_at=at,
        kb_mode=mode,
    )
    session.add(entry)
    await session.flush()
    return entry


async def get_question(session: AsyncSession, *, question_id: int) -> QuestionLog | None:
    return await session.get(QuestionLog, question_id)


async def set_feedback(session: AsyncSession, *, question_id: int, member_id: int, feedback: str) -> bool:
    """Record 有用/没用 on the member's own question; False if it is not theirs."""
    if feedback not in (FEEDBACK_USEFUL, FEEDBACK_USELESS):
        raise ValueError(feedback)
    entry = await session.get(QuestionLog, question_id)
    if entry is None or entry.member_id != member_id:
        return False
    entry.feedback = feedback
    await session.flush()
    return True


async def mark_passed_to_staff(session: AsyncSession, *, question_id: int, member_id: int) -> QuestionLog | None:
    entry = await session.get(QuestionLog, question_id)
    if entry is None or entry.member_id != member_id:
        return None
    entry.passed_to_staff = True
    await session.flush()
    return entry


async def open_candidate(
    session: AsyncSession, *, question_id: int, member_id: int, rank: int
) -> dict[str, Any] | None:
    """The ``rank``-th (1-based) article offered for the member's own uncertain question, recording that
    it was opened; None when the question is not theirs, offered no candidates, or has no such rank."""
    entry = await session.get(QuestionLog, question_id)
    if entry is None or entry.member_id != member_id or entry.kb_mode != MODE_CANDIDATES:
        return None
    if not 1 <= rank <= len(entry.sources):
        return None
    entry.opened_candidate = rank
    await session.flush()
    return dict(entry.sources[rank - 1])


@dataclass(frozen=True)
class Gap:
    """A question the knowledge base did not serve well, with how often it came up."""

    question: str
    count: int
    unanswered: int
    useless: int
    last_asked: datetime
    uncertain: int = 0  # answered with candidates only ("没有找到直接对应的规定")


async def gaps(session: AsyncSession, *, limit: int = 20) -> list[Gap]:
    """Unanswered, uncertain (candidates only) and 没用 questions, grouped by normalised text, most frequent
    first; ``unanswered`` counts refusals, ``uncertain`` the questions that got candidates."""
    is_gap = or_(QuestionLog.answered.is_(False), QuestionLog.feedback == FEEDBACK_USELESS)
    is_uncertain = QuestionLog.kb_mode == MODE_CANDIDATES
    count = func.count(QuestionLog.id)
    stmt = (
        select(
            QuestionLog.question_key,
            func.max(QuestionLog.question),
            count,
            func.sum(case((is_uncertain, 0), (QuestionLog.answered.is_(False), 1), else_=0)),
            func.sum(case((QuestionLog.feedback == FEEDBACK_USELESS, 1), else_=0)),
            func.max(QuestionLog.created_at),
            func.sum(case((is_uncertain, 1), else_=0)),
        )
        .where(is_gap)
        .group_by(QuestionLog.question_key)
        .order_by(count.desc(), func.max(QuestionLog.created_at).desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    result = []
    for _key, question, n, unanswered, useless, last, uncertain in rows:
        last_at = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
        if last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        result.append(Gap(question, int(n), int(unanswered or 0), int(useless or 0), last_at, int(uncertain or 0)))
    return result


# --- FAQ -------------------------------------------------------------------------------------------

async def active_faq(session: AsyncSession) -> list[FaqEntry]:
    return list(await session.scalars(select(FaqEntry).where(FaqEntry.active.is_(True)).order_by(FaqEntry.id)))


async def add_faq(
    session: AsyncSession, *, question: str, answer: str, at: datetime, created_by: int | None = None
) -> FaqEntry:
    """Add a pair, or update the answer of an existing pair with the same normalised question."""
    key = question_key(question)
    for entry in await active_faq(session):
        if question_key(entry.question) == key:
            entry.answer, entry.updated_at = answer, at
            await session.flush()
            return entry
    entry = FaqEntry(question=question, answer=answer, created_by=created_by, created_at=at, updated_at=at)
    session.add(entry)
    await session.flush()
    return entry


async def count_faq_hit(session: AsyncSession, *, faq_id: int) -> None:
    await session.execute(update(FaqEntry).where(FaqEntry.id == faq_id).values(hits=FaqEntry.hits + 1))
