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
) -> QuestionLog:
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


async def mark_passed_to_staff(
    session: AsyncSession, *, question_id: int, member_id: int
) -> tuple[QuestionLog | None, bool]:
    """Mark the member's own question as passed to staff: ``(question, True)`` the first time only,
    ``(question, False)`` when it was passed on already, ``(None, False)`` when it is not theirs."""
    entry = await session.get(QuestionLog, question_id)
    if entry is None or entry.member_id != member_id:
        return None, False
    result = await session.execute(  # one conditional UPDATE: two presses at once cannot both pass it on
        update(QuestionLog)
        .where(QuestionLog.id == question_id, QuestionLog.passed_to_staff.is_(False))
        .values(passed_to_staff=True)
        .execution_options(synchronize_session=False)
    )
    first = getattr(result, "rowcount", 0) == 1
    if first:
        entry.passed_to_staff = True
    return entry, first


@dataclass(frozen=True)
class Gap:
    """A question the knowledge base did not serve well, with how often it came up."""

    question: str
    count: int
    unanswered: int
    useless: int
    last_asked: datetime


async def gaps(session: AsyncSession, *, limit: int = 20) -> list[Gap]:
    """Unanswered and 没用 questions, grouped by normalised text, most frequent first."""
    is_gap = or_(QuestionLog.answered.is_(False), QuestionLog.feedback == FEEDBACK_USELESS)
    count = func.count(QuestionLog.id)
    stmt = (
        select(
            QuestionLog.question_key,
            func.max(QuestionLog.question),
            count,
            func.sum(case((QuestionLog.answered.is_(False), 1), else_=0)),
            func.sum(case((QuestionLog.feedback == FEEDBACK_USELESS, 1), else_=0)),
            func.max(QuestionLog.created_at),
        )
        .where(is_gap)
        .group_by(QuestionLog.question_key)
        .order_by(count.desc(), func.max(QuestionLog.created_at).desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    result = []
    for _key, question, n, unanswered, useless, last in rows:
        last_at = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
        if last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        result.append(Gap(question, int(n), int(unanswered or 0), int(useless or 0), last_at))
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
