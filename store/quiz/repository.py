"""Quiz questions and answers: saving generated drafts, staff questions, review (把关), picking the day's
question, and recording one answer per member and question (with the points of the quiz credit rule).

Review rule: generated questions start as drafts; a question added by staff is a draft too unless its
author may review (role reviewer or admin), in which case adding it is the approval. Only approved
questions are ever shown to or answered by members.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.credits.awards import DEFAULT_TZ, award, local_date
from store.credits.rules import CreditRules
from store.db import affected_rows
from store.models import Member, QuizAnswer, QuizQuestion, Role

DRAFT, APPROVED, REJECTED = "draft", "approved", "rejected"
STATUSES = (DRAFT, APPROVED, REJECTED)
KINDS = ("cloze", "choice")
N_OPTIONS = 4
MAX_STEM = 500
MAX_OPTION = 200
REVIEWER_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})


@dataclass(frozen=True)
class QuestionSpec:
    """A question to store (from ``knowledge.quiz`` or typed by staff)."""

    kind: str
    stem: str
    options: Sequence[str]
    answer: int
    source: str = ""
    title: str = ""
    article: str = ""
    quote: str = ""
    explanation: str = ""
    key: str | None = None
    topic: str = ""


class QuizError(Exception):
    """A question that cannot be stored or reviewed; ``code`` names why (for the reply text)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def can_review(member: Member) -> bool:
    """Reviewers (把关人) and admins approve questions; other staff only propose them."""
    return member.active and member.role_enum in REVIEWER_ROLES


def validate(spec: QuestionSpec) -> None:
    """Raise ``QuizError`` for a question a member could not answer: too few options, no right one, …"""
    options = [o.strip() for o in spec.options]
    if spec.kind not in KINDS:
        raise QuizError("kind")
    if not spec.stem.strip() or len(spec.stem) > MAX_STEM:
        raise QuizError("stem")
    if len(options) < 2 or len(options) > N_OPTIONS or any(not o or len(o) > MAX_OPTION for o in options):
        raise QuizError("options")
    if len(set(options)) != len(options):
        raise QuizError("duplicate")
    if not 0 <= spec.answer < len(options):
        raise QuizError("answer")


def _row(spec: QuestionSpec, *, status: str, origin: str, now: datetime) -> QuizQuestion:
    return QuizQuestion(
        key=spec.key, kind=spec.kind, stem=spec.stem.strip(), options=[o.strip() for o in spec.options],
        answer=spec.answer, source=spec.source, title=spec.title[:255], article=spec.article[:64],
        quote=spec.quote, explanation=spec.explanation, topic=(spec.topic or spec.title)[:64], status=status,
        origin=origin, created_at=now,
    )


async def save_generated(session: AsyncSession, *, specs: Sequence[QuestionSpec], now: datetime) -> int:
    """Store generated questions as drafts; a key already stored (any status) is skipped. Returns the new count."""
    keys = [s.key for s in specs if s.key]
    known = set((await session.scalars(select(QuizQuestion.key).where(QuizQuestion.key.in_(keys)))).all()) \
        if keys else set()
    added = 0
    for spec in specs:
        if spec.key in known:
            continue
        validate(spec)
        session.add(_row(spec, status=DRAFT, origin="generated", now=now))
        known.add(spec.key)
        added += 1
    await session.flush()
    return added


async def seed_approved(session: AsyncSession, *, specs: Sequence[QuestionSpec], now: datetime) -> int:
    """Approved questions vetted in the repository (the demo's ``bot/demo_quiz.json``), once per key."""
    added = await save_generated(session, specs=specs, now=now)
    keys = [s.key for s in specs if s.key]
    await session.execute(update(QuizQuestion).where(QuizQuestion.key.in_(keys), QuizQuestion.status == DRAFT)
                          .values(status=APPROVED, reviewed_at=now).execution_options(synchronize_session=False))
    return added


async def add_staff_question(session: AsyncSession, *, author: Member, spec: QuestionSpec, now: datetime,
                             via: str = "console") -> QuizQuestion:
    """A question typed by staff: approved at once when its author may review, else a draft awaiting review."""
    if not author.is_staff:
        raise QuizError("forbidden")
    validate(spec)
    reviewer = can_review(author)
    row = _row(spec, status=APPROVED if reviewer else DRAFT, origin="staff", now=now)
    row.created_by = author.id
    if reviewer:
        row.reviewed_by, row.reviewed_at = author.id, now
    session.add(row)
    await session.flush()
    await audit.record(session, actor=author, action="quiz.add", at=now, target=f"quiz:{row.id}",
                       detail={"status": row.status, "stem": row.stem[:200], "via": via})
    return row


async def get(session: AsyncSession, *, question_id: int) -> QuizQuestion | None:
    return await session.get(QuizQuestion, question_id)


async def review(session: AsyncSession, *, question_id: int, reviewer: Member, approve: bool, now: datetime,
                 via: str = "telegram") -> QuizQuestion:
    """Approve or reject a draft, once: the conditional UPDATE's rowcount decides a double press."""
    if not can_review(reviewer):
        raise QuizError("forbidden")
    result = await session.execute(
        update(QuizQuestion)
        .where(QuizQuestion.id == question_id, QuizQuestion.status == DRAFT)
        .values(status=APPROVED if approve else REJECTED, reviewed_by=reviewer.id, reviewed_at=now)
        .execution_options(synchronize_session=False)
    )
    question = await session.get(QuizQuestion, question_id, populate_existing=True)
    if question is None:
        raise QuizError("missing")
    if affected_rows(result) != 1:
        raise QuizError("reviewed")
    await audit.record(session, actor=reviewer, action="quiz.approve" if approve else "quiz.reject", at=now,
                       target=f"quiz:{question_id}", detail={"stem": question.stem[:200], "via": via})
    return question


async def next_draft(session: AsyncSession, *, after_id: int = 0) -> QuizQuestion | None:
    """The oldest draft after ``after_id`` (下一题 skips one), wrapping to the first."""
    stmt = select(QuizQuestion).where(QuizQuestion.status == DRAFT).order_by(QuizQuestion.id).limit(1)
    found = await session.scalar(stmt.where(QuizQuestion.id > after_id))
    return found if found is not None or after_id == 0 else await session.scalar(stmt)


async def list_questions(session: AsyncSession, *, status: str, limit: int = 50, offset: int = 0
                         ) -> list[QuizQuestion]:
    stmt = (select(QuizQuestion).where(QuizQuestion.status == status)
            .order_by(QuizQuestion.id.desc() if status != DRAFT else QuizQuestion.id).limit(limit).offset(offset))
    return list((await session.scalars(stmt)).all())


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(QuizQuestion.status, func.count()).group_by(QuizQuestion.status))
    found = {status: int(n) for status, n in rows.all()}
    return {status: found.get(status, 0) for status in STATUSES}


# --- members ------------------------------------------------------------------------------------------


def _day_order(day: date, question_id: int) -> str:
    return hashlib.sha1(f"{day.isoformat()}:{question_id}".encode()).hexdigest()


async def _unanswered_ids(session: AsyncSession, *, member_id: int) -> list[int]:
    answered = select(QuizAnswer.question_id).where(QuizAnswer.member_id == member_id)
    stmt = select(QuizQuestion.id).where(QuizQuestion.status == APPROVED, QuizQuestion.id.not_in(answered))
    return list((await session.scalars(stmt)).all())


async def daily_answer(session: AsyncSession, *, member_id: int, day: date) -> QuizAnswer | None:
    """The member's 每日一题 answer of ``day``, if they gave it."""
    return await session.scalar(select(QuizAnswer).where(
        QuizAnswer.member_id == member_id, QuizAnswer.via == "daily", QuizAnswer.day == day).limit(1))


async def daily_question(session: AsyncSession, *, member_id: int, day: date) -> QuizQuestion | None:
    """Today's question for this member: approved, never answered by them, in an order fixed by the day.

    Everyone who has not answered it gets the same question on the same day (the order is a hash of day and
    id); a member who already answered it (in a quiz) gets the next one in that order.
    """
    ids = await _unanswered_ids(session, member_id=member_id)
    if not ids:
        return None
    return await session.get(QuizQuestion, min(ids, key=lambda qid: _day_order(day, qid)))


async def quiz_question(session: AsyncSession, *, member_id: int, day: date, skip: int = 0) -> QuizQuestion | None:
    """A question for the short quiz: the member's unanswered approved questions in the day's order,
    the day's 每日一题 (the first) left for /daily."""
    ids = sorted(await _unanswered_ids(session, member_id=member_id), key=lambda qid: _day_order(day, qid))
    if await daily_answer(session, member_id=member_id, day=day) is None and len(ids) > 1:
        ids = ids[1:]
    return await session.get(QuizQuestion, ids[skip]) if len(ids) > skip else None


class Outcome(StrEnum):
    CORRECT = "correct"
    WRONG = "wrong"
    DUPLICATE = "duplicate"  # this member answered this question before (or a second tap of the same one)
    UNAVAILABLE = "unavailable"  # no such approved question, or no such option
    DAILY_DONE = "daily_done"  # a 每日一题 answer when today's was already given


@dataclass(frozen=True)
class AnswerResult:
    outcome: Outcome
    question: QuizQuestion | None = None
    points: int = 0
    capped: bool = False
    answer: QuizAnswer | None = None


async def answer(
    session: AsyncSession, *, member: Member, question_id: int, choice: int, via: str, now: datetime,
    rules: CreditRules, tz: ZoneInfo = DEFAULT_TZ,
) -> AnswerResult:
    """Record the member's answer once (UNIQUE member × question); a right one earns the quiz rule's points."""
    question = await session.get(QuizQuestion, question_id)
    if question is None or question.status != APPROVED or not 0 <= choice < len(question.options):
        return AnswerResult(Outcome.UNAVAILABLE)
    day = local_date(now, tz)
    existing = await session.scalar(select(QuizAnswer).where(
        QuizAnswer.member_id == member.id, QuizAnswer.question_id == question_id))
    if existing is not None:
        return AnswerResult(Outcome.DUPLICATE, question, answer=existing)
    if via == "daily" and await daily_answer(session, member_id=member.id, day=day) is not None:
        return AnswerResult(Outcome.DAILY_DONE, question)
    correct = choice == question.answer
    row = QuizAnswer(member_id=member.id, question_id=question_id, choice=choice, correct=correct,
                     via="daily" if via == "daily" else "quiz", day=day, answered_at=now)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same member answered on another worker a moment ago
        return AnswerResult(Outcome.DUPLICATE, question)
    if not correct:
        return AnswerResult(Outcome.WRONG, question, answer=row)
    points, capped = 0, False
    found = rules.first_of("quiz")
    if found is not None:
        rule_id, rule = found
        result = await award(
            session, rules=rules, member_id=member.id, rule_id=rule_id, source_type="quiz",
            source_id=str(question_id), requested_points=rule.points, activity_date=day, at=now,
            title=f"{question.title}{question.article}"[:200] or None,
        )
        points, capped = result.points, result.capped_reason is not None
    return AnswerResult(Outcome.CORRECT, question, points=points, capped=capped, answer=row)


@dataclass(frozen=True)
class DayStats:
    answered: int
    correct: int


async def day_stats(session: AsyncSession, *, member_id: int, day: date) -> DayStats:
    """How many questions the member answered on ``day`` and how many of them right."""
    where = (QuizAnswer.member_id == member_id, QuizAnswer.day == day)
    answered = await session.scalar(select(func.count()).where(*where))
    correct = await session.scalar(select(func.count()).where(*where, QuizAnswer.correct.is_(True)))
    return DayStats(int(answered or 0), int(correct or 0))
