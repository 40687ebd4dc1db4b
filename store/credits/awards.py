"""The points ledger: award points for one piece of evidence, once, with the caps of the rules applied.

Every entry names its evidence (``source_type``, ``source_id``); the UNIQUE key
(member, rule, source_type, source_id) makes a second award for the same evidence a no-op.
Each entry stores the points actually granted and the rules version in force, so changing the
rules file never rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Integer, String, and_, bindparam, case, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from store.credits.rules import CreditRules, default_rules
from store.models import CreditEntry, Member

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
SourceType = Literal["checkin", "event", "proposal", "quiz", "adjustment"]
CapReason = Literal["daily", "weekly", "annual"]

@dataclass(frozen=True)
class AwardResult:
    """What one award did: the points granted, what was asked, and why it was capped (if it was)."""

    entry: CreditEntry
    points: int
    requested: int
    capped_reason: CapReason | None
    duplicate: bool = False


def local_date(at: datetime, tz: ZoneInfo = DEFAULT_TZ) -> date:
    return at.astimezone(tz).date()


def _within(start: str, end: str) -> ColumnElement[bool]:
    return and_(CreditEntry.activity_date >= bindparam(start, type_=Date()),
                CreditEntry.activity_date < bindparam(end, type_=Date()))


# What the caps of one rule count, in one statement built once (it runs for every award): the points of
# the day, the awards with points of the week, the points of the year; adjustments are not counted.
_USED = select(
    func.coalesce(func.sum(case((_within("day", "day_end"), CreditEntry.points), else_=0)), 0),
    func.coalesce(func.sum(case((and_(CreditEntry.points > 0, _within("monday", "week_end")), 1), else_=0)), 0),
    func.coalesce(func.sum(case((_within("year_start", "year_end"), CreditEntry.points), else_=0)), 0),
).where(
    CreditEntry.member_id == bindparam("member_id", type_=Integer()),
    CreditEntry.rule_id == bindparam("rule_id", type_=String()),
    CreditEntry.source_type != literal_column("'adjustment'"),
    _within("since", "until"),
)


async def capped_points(
    session: AsyncSession, *, rules: CreditRules, member_id: int, rule_id: str, requested: int, day: date
) -> tuple[int, CapReason | None]:
    """Apply the daily, weekly and annual limits of ``rule_id`` to ``requested`` points on ``day``."""
    rule = rules.types.get(rule_id)
    if rule is None or requested <= 0:
        return max(requested, 0), None
    if rule.daily_cap is None and rule.weekly_count is None and rule.annual_cap is None:
        return requested, None
    monday, year_start = day - timedelta(days=day.weekday()), date(day.year, 1, 1)
    week_end, year_end = monday + timedelta(7), date(day.year + 1, 1, 1)
    row = (await session.execute(_USED, {
        "member_id": member_id, "rule_id": rule_id, "day": day, "day_end": day + timedelta(1),
        "monday": monday, "week_end": week_end, "year_start": year_start, "year_end": year_end,
        "since": min(monday, year_start), "until": max(week_end, year_end),
    })).one()
    used_today, done_this_week, used_this_year = (int(v or 0) for v in row)
    points = requested
    reason: CapReason | None = None
    if rule.daily_cap is not None:
        allowed = max(rule.daily_cap - used_today, 0)
        if points > allowed:
            points, reason = allowed, "daily"
    if rule.weekly_count is not None and points > 0 and done_this_week >= rule.weekly_count:
        points, reason = 0, "weekly"
    if rule.annual_cap is not None and points > 0:
        allowed = max(rule.annual_cap - used_this_year, 0)
        if points > allowed:
            points, reason = allowed, "annual"
    return points, reason


async def find_entry(
    session: AsyncSession, *, member_id: int, rule_id: str, source_type: str, source_id: str
) -> CreditEntry | None:
    return await session.scalar(
        select(CreditEntry).where(
            CreditEntry.member_id == member_id,
            CreditEntry.rule_id == rule_id,
            CreditEntry.source_type == source_type,
            CreditEntry.source_id == source_id,
        )
    )


async def award(
    session: AsyncSession,
    *,
    rules: CreditRules,
    member_id: int,
    rule_id: str,
    source_type: SourceType,
    source_id: str,
    requested_points: int,
    activity_date: date,
    at: datetime,
    title: str | None = None,
    note: str | None = None,
    apply_caps: bool = True,
    reverses_id: int | None = None,
) -> AwardResult:
    """Record points for one piece of evidence, at most once; caps apply inside this transaction."""
    insert_entry = _insert_statement(session.get_bind().dialect.name) if reverses_id is None else None
    if insert_entry is None:  # a reversal (its unique reverses_id may refuse it), or another database
        existing = await find_entry(
            session, member_id=member_id, rule_id=rule_id, source_type=source_type, source_id=source_id
        )
        if existing is not None:
            return AwardResult(existing, 0, existing.requested_points, None, duplicate=True)
    # Serialise awards per member (PostgreSQL row lock; SQLite writers are serialised anyway, and
    # SQLite renders no FOR UPDATE, so the statement would only cost a round trip there).
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(select(Member.id).where(Member.id == member_id).with_for_update())
    if apply_caps:
        points, reason = await capped_points(
            session, rules=rules, member_id=member_id, rule_id=rule_id, requested=requested_points,
            day=activity_date,
        )
    else:
        points, reason = requested_points, None
    values = {
        "member_id": member_id, "rule_id": rule_id, "source_type": source_type, "source_id": source_id,
        "activity_date": activity_date, "at": at, "requested_points": requested_points, "points": points,
        "capped_reason": reason, "rules_version": rules.rules_version, "title": title, "note": note,
        "reverses_id": reverses_id, "created_at": at,
    }
    if insert_entry is not None:
        # One INSERT … ON CONFLICT DO NOTHING: evidence awarded before (or concurrently: on PostgreSQL it
        # waits for that transaction) inserts nothing, and the entry that holds the evidence is returned.
        inserted = (await session.scalars(insert_entry, [values])).first()
        if inserted is not None:
            return AwardResult(inserted, points, requested_points, reason)
        found = await find_entry(
            session, member_id=member_id, rule_id=rule_id, source_type=source_type, source_id=source_id
        )
        if found is None:
            raise RuntimeError(f"credit entry for {source_type} {source_id} neither inserted nor found")
        return AwardResult(found, 0, found.requested_points, None, duplicate=True)
    entry = CreditEntry(**values)
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # the same evidence was awarded concurrently
        found = await find_entry(
            session, member_id=member_id, rule_id=rule_id, source_type=source_type, source_id=source_id
        )
        if found is None:
            raise
        return AwardResult(found, 0, found.requested_points, None, duplicate=True)
    return AwardResult(entry, points, requested_points, reason)


_INSERTS: dict[str, Executable] = {}


def _insert_statement(dialect: str) -> Executable | None:
    """``INSERT … ON CONFLICT (the evidence) DO NOTHING RETURNING`` the entry, built once per dialect (None:
    not supported; a reversal uses the savepoint path, since its unique ``reverses_id`` may refuse it)."""
    if dialect not in _INSERTS:
        evidence = [CreditEntry.member_id, CreditEntry.rule_id, CreditEntry.source_type, CreditEntry.source_id]
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            _INSERTS[dialect] = postgresql.insert(CreditEntry).on_conflict_do_nothing(
                index_elements=evidence).returning(CreditEntry)
        elif dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            _INSERTS[dialect] = sqlite.insert(CreditEntry).on_conflict_do_nothing(
                index_elements=evidence).returning(CreditEntry)
        else:
            return None
    return _INSERTS[dialect]


async def award_proposal_points(
    session: AsyncSession,
    *,
    member_id: int,
    proposal_id: int,
    stage: Literal["accepted", "adopted"],
    at: datetime,
    rules: CreditRules | None = None,
    title: str | None = None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> int:
    """Points for a micro-proposal reaching ``stage``; idempotent per proposal and stage.

    Returns the points newly granted (0 when this proposal and stage were already awarded, or when
    the rules have no proposal type). Runs in the caller's transaction.
    """
    rules = rules or default_rules()
    found = rules.first_of("proposal")
    if found is None:
        return 0
    rule_id, rule = found
    requested = rule.stages.get(stage, 0)
    result = await award(
        session,
        rules=rules,
        member_id=member_id,
        rule_id=rule_id,
        source_type="proposal",
        source_id=f"{proposal_id}:{stage}",
        requested_points=requested,
        activity_date=local_date(at, tz),
        at=at,
        title=title,
        note=stage,
    )
    return 0 if result.duplicate else result.points
