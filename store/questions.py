"""Question log, feedback, knowledge gaps and the staff FAQ."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import app_state
from store.models import FaqEntry, QuestionLog

# What the member got (``QuestionLog.mode``, the console's outcome): an FAQ answer, a quoted answer, candidates
# only or a refusal near a related passage (uncertain), a refusal, or no knowledge base.
MODE_FAQ = "faq"
MODE_ANSWER = "answer"
MODE_UNCERTAIN = "uncertain"
MODE_REFUSED = "refused"
MODE_UNAVAILABLE = "unavailable"
MODES = (MODE_FAQ, MODE_ANSWER, MODE_UNCERTAIN, MODE_REFUSED, MODE_UNAVAILABLE)
FEEDBACK_USEFUL = "useful"
FEEDBACK_USELESS = "useless"
# The knowledge base's three-way decision (``QuestionLog.kb_mode``; None for FAQ answers).
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
    kb_mode: str | None = None,
) -> QuestionLog:
    """Log a question: ``mode`` is what the member got (``MODES``), ``kb_mode`` the knowledge base's decision
    (``KB_MODES``; for candidates, ``sources`` are the offers)."""
    if (mode is not None and mode not in MODES) or (kb_mode is not None and kb_mode not in KB_MODES):
        raise ValueError(f"{mode}/{kb_mode}")
    entry = QuestionLog(
        mode=mode,
        member_id=member_id,
        chat_id=chat_id,
        question=question,
        question_key=question_key(question),
        answered=answered,
        answer=answer,
        sources=sources,
        faq_id=faq_id,
        created_at=at,
        kb_mode=kb_mode,
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
    key: str = ""
    uncertain: int = 0  # answered with candidates only ("没有找到直接对应的规定"), or refused near a related passage


def _is_gap() -> ColumnElement[bool]:
    """Unanswered, uncertain or 没用, and not yet handled by staff."""
    return and_(
        QuestionLog.handled_at.is_(None),
        or_(QuestionLog.answered.is_(False), QuestionLog.feedback == FEEDBACK_USELESS,
            QuestionLog.mode == MODE_UNCERTAIN),
    )


async def gaps(session: AsyncSession, *, limit: int = 20) -> list[Gap]:
    """Unanswered, uncertain and 没用 questions not yet handled, grouped by normalised text, most frequent first;
    ``unanswered`` counts refusals, ``uncertain`` the questions that got candidates (or a refusal near a passage)."""
    is_gap = _is_gap()
    is_uncertain = or_(QuestionLog.kb_mode == MODE_CANDIDATES, QuestionLog.mode == MODE_UNCERTAIN)
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
    for key, question, n, unanswered, useless, last, uncertain in rows:
        last_at = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
        if last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        result.append(Gap(question, int(n), int(unanswered or 0), int(useless or 0), last_at, str(key),
                          int(uncertain or 0)))
    return result


async def mark_handled(session: AsyncSession, *, key: str, by: int | None, now: datetime) -> int:
    """Mark every open gap with this normalised question as handled; returns how many rows."""
    result = await session.execute(
        update(QuestionLog)
        .where(QuestionLog.question_key == key, _is_gap())
        .values(handled_at=now, handled_by=by)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class QuestionStats:
    """Questions asked in a period, by outcome (FAQ answers count as answered)."""

    total: int
    answered: int
    uncertain: int
    refused: int
    useless: int


async def question_stats(session: AsyncSession, *, since: datetime, until: datetime) -> QuestionStats:
    in_period = and_(QuestionLog.created_at >= since, QuestionLog.created_at < until)
    uncertain = and_(QuestionLog.answered.is_(False), QuestionLog.mode == MODE_UNCERTAIN)
    stmt = select(
        func.count(QuestionLog.id),
        func.sum(case((QuestionLog.answered.is_(True), 1), else_=0)),
        func.sum(case((uncertain, 1), else_=0)),
        func.sum(case((and_(QuestionLog.answered.is_(False), ~uncertain), 1), else_=0)),
        func.sum(case((QuestionLog.feedback == FEEDBACK_USELESS, 1), else_=0)),
    ).where(in_period)
    row = (await session.execute(stmt)).one()
    total, answered, unc, refused, useless = (int(v or 0) for v in row)
    return QuestionStats(total, answered, unc, refused, useless)


async def recent_questions(
    session: AsyncSession, *, outcome: str | None = None, since: datetime | None = None, limit: int = 200
) -> list[QuestionLog]:
    """Questions newest first; ``outcome`` is answered | uncertain | refused | useless | gap."""
    stmt = select(QuestionLog).order_by(QuestionLog.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(QuestionLog.created_at >= since)
    uncertain = and_(QuestionLog.answered.is_(False), QuestionLog.mode == MODE_UNCERTAIN)
    if outcome == "answered":
        stmt = stmt.where(QuestionLog.answered.is_(True))
    elif outcome == "uncertain":
        stmt = stmt.where(uncertain)
    elif outcome == "refused":
        stmt = stmt.where(QuestionLog.answered.is_(False), ~uncertain)
    elif outcome == "useless":
        stmt = stmt.where(QuestionLog.feedback == FEEDBACK_USELESS)
    elif outcome == "gap":
        stmt = stmt.where(_is_gap())
    return list(await session.scalars(stmt))


# --- FAQ -------------------------------------------------------------------------------------------

async def active_faq(session: AsyncSession) -> list[FaqEntry]:
    return list(await session.scalars(select(FaqEntry).where(FaqEntry.active.is_(True)).order_by(FaqEntry.id)))


async def add_faq(
    session: AsyncSession, *, question: str, answer: str, at: datetime, created_by: int | None = None
) -> FaqEntry:
    """Add a pair, or update the answer of an existing pair with the same normalised question.

    Every change to the FAQ bumps its revision, so every process rebuilds its matcher (``store.app_state``)."""
    key = question_key(question)
    for entry in await active_faq(session):
        if question_key(entry.question) == key:
            entry.answer, entry.updated_at = answer, at
            await _faq_changed(session, at)
            return entry
    entry = FaqEntry(question=question, answer=answer, created_by=created_by, created_at=at, updated_at=at)
    session.add(entry)
    await _faq_changed(session, at)
    return entry


async def _faq_changed(session: AsyncSession, at: datetime) -> None:
    await session.flush()
    await app_state.bump(session, name=app_state.FAQ_REVISION, now=at)


async def count_faq_hit(session: AsyncSession, *, faq_id: int) -> None:
    await session.execute(update(FaqEntry).where(FaqEntry.id == faq_id).values(hits=FaqEntry.hits + 1))


async def all_faq(session: AsyncSession, *, include_retired: bool = True) -> list[FaqEntry]:
    stmt = select(FaqEntry).order_by(FaqEntry.active.desc(), FaqEntry.hits.desc(), FaqEntry.id)
    if not include_retired:
        stmt = stmt.where(FaqEntry.active.is_(True))
    return list(await session.scalars(stmt))


async def get_faq(session: AsyncSession, *, faq_id: int) -> FaqEntry | None:
    return await session.get(FaqEntry, faq_id)


async def edit_faq(session: AsyncSession, *, faq_id: int, question: str, answer: str, at: datetime) -> FaqEntry | None:
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        return None
    entry.question, entry.answer, entry.updated_at = question, answer, at
    await _faq_changed(session, at)
    return entry


async def set_faq_active(session: AsyncSession, *, faq_id: int, active: bool, at: datetime) -> FaqEntry | None:
    """Retire (or restore) an FAQ entry; retired entries are never matched."""
    entry = await session.get(FaqEntry, faq_id)
    if entry is None:
        return None
    entry.active, entry.updated_at = active, at
    await _faq_changed(session, at)
    return entry
