"""Figures for the console's overview (总览) and the plain lists its numbers link to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from store.broadcasts.outbox import LIVE_STATES
from store.models import Broadcast, CreditEvent, EventAttendance, Member, Proposal, StudyCheckin
from store.proposals.config import ProposalsConfig
from store.proposals.repository import review_queue
from store.proposals.warning import Warning
from store.questions import QuestionStats, question_stats


@dataclass(frozen=True)
class Overview:
    questions: QuestionStats
    checkins: int
    event_checkins: int
    proposals_new: int
    proposals_by_warning: dict[str, int] = field(default_factory=dict)  # red/yellow/green/none
    overdue: int = 0
    broadcasts_live: int = 0


async def overview(
    session: AsyncSession, *, since: datetime, until: datetime, now: datetime, tz: tzinfo, config: ProposalsConfig
) -> Overview:
    stats = await question_stats(session, since=since, until=until)
    checkins = await session.scalar(
        select(func.count(StudyCheckin.id)).where(StudyCheckin.created_at >= since, StudyCheckin.created_at < until)
    )
    attendance = await session.scalar(
        select(func.count(EventAttendance.id)).where(EventAttendance.at >= since, EventAttendance.at < until)
    )
    new = await session.scalar(
        select(func.count(Proposal.id)).where(Proposal.created_at >= since, Proposal.created_at < until)
    )
    by_warning = {"red": 0, "yellow": 0, "green": 0, "none": 0}
    for _proposal, warning in await review_queue(session, now=now, tz=tz, config=config, limit=100_000):
        by_warning[warning.value if warning else "none"] += 1
    live = await session.scalar(select(func.count(Broadcast.id)).where(Broadcast.state.in_(LIVE_STATES)))
    return Overview(
        questions=stats, checkins=int(checkins or 0), event_checkins=int(attendance or 0), proposals_new=int(new or 0),
        proposals_by_warning=by_warning, overdue=by_warning["red"], broadcasts_live=int(live or 0),
    )


async def checkins_between(session: AsyncSession, *, since: datetime, until: datetime, limit: int = 500
                           ) -> list[tuple[StudyCheckin, str]]:
    """Study check-ins with the member's name, newest first."""
    stmt = (
        select(StudyCheckin, Member.name)
        .join(Member, Member.id == StudyCheckin.member_id)
        .where(StudyCheckin.created_at >= since, StudyCheckin.created_at < until)
        .order_by(StudyCheckin.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def attendance_between(session: AsyncSession, *, since: datetime, until: datetime, limit: int = 500
                             ) -> list[tuple[EventAttendance, str, str]]:
    """Event check-ins with the member's name and the event's title, newest first."""
    stmt = (
        select(EventAttendance, Member.name, CreditEvent.title)
        .join(Member, Member.id == EventAttendance.member_id)
        .join(CreditEvent, CreditEvent.id == EventAttendance.event_id)
        .where(EventAttendance.at >= since, EventAttendance.at < until)
        .order_by(EventAttendance.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in (await session.execute(stmt)).all()]


async def open_proposals(
    session: AsyncSession, *, now: datetime, tz: tzinfo, config: ProposalsConfig, warning: str | None = None
) -> list[tuple[Proposal, Warning | None]]:
    """Open items, red first; ``warning`` filters on red/yellow/green/none."""
    rated = await review_queue(session, now=now, tz=tz, config=config, limit=100_000)
    if warning is None:
        return rated
    return [(p, w) for p, w in rated if (w.value if w else "none") == warning]


async def live_broadcasts(session: AsyncSession) -> list[Broadcast]:
    stmt = select(Broadcast).where(Broadcast.state.in_(LIVE_STATES)).order_by(Broadcast.id.desc())
    return list(await session.scalars(stmt))


async def members_by_id(session: AsyncSession, *, ids: set[int]) -> dict[int, Member]:
    if not ids:
        return {}
    stmt = select(Member).where(Member.id.in_(sorted(ids))).options(selectinload(Member.groups))
    return {m.id: m for m in await session.scalars(stmt)}
