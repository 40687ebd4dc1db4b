"""Offline events (线下活动): short codes, the check-in window, once per member, location, manual marks."""

from __future__ import annotations

import enum
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.credits.awards import DEFAULT_TZ, AwardResult, award
from store.credits.rules import CreditRules
from store.models import CreditEvent, EventAttendance, Member

CODE_PREFIX = "EVT-"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RE = re.compile(r"^(?:EVT[-_ ]?)?([A-Z0-9]{4,6})$", re.I)
EARTH_RADIUS_M = 6_371_000.0


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


def normalise_code(text: str) -> str | None:
    """``EVT-7K3P``, ``evt7k3p`` or ``7K3P`` → ``7K3P``; None if it is not shaped like an event code."""
    match = CODE_RE.match(text.strip())
    if not match:
        return None
    code = match.group(1).upper()
    has_prefix = len(text.strip()) > len(match.group(1))
    if not has_prefix and not (any(c.isdigit() for c in code) and any(c.isalpha() for c in code)):
        return None
    return code


def display_code(code: str) -> str:
    return CODE_PREFIX + code


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class EventError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class EventSpec:
    title: str
    rule_id: str
    starts_at: datetime
    ends_at: datetime
    points: int | None = None
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    code: str | None = None


async def create_event(
    session: AsyncSession, *, rules: CreditRules, spec: EventSpec, creator: Member | None, now: datetime
) -> CreditEvent:
    if spec.rule_id not in rules.event_types():
        raise EventError("bad_type")
    if spec.ends_at <= spec.starts_at:
        raise EventError("bad_times")
    code = spec.code.upper() if spec.code else None
    if code is not None:
        if normalise_code(CODE_PREFIX + code) != code:
            raise EventError("bad_code")
        if await get_by_code(session, code=code) is not None:
            raise EventError("code_taken")
    else:
        while True:
            code = new_code()
            if await get_by_code(session, code=code) is None:
                break
    points = spec.points if spec.points is not None else rules.event_points(spec.rule_id, spec.starts_at, spec.ends_at)
    event = CreditEvent(
        code=code,
        title=spec.title,
        rule_id=spec.rule_id,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        points=points,
        place=spec.place,
        latitude=spec.latitude,
        longitude=spec.longitude,
        radius_m=spec.radius_m,
        created_by=creator.id if creator else None,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await audit.record(
        session, actor=creator, action="credits.event_create", at=now, target=f"event:{event.id}",
        detail={"code": code, "title": spec.title, "rule_id": spec.rule_id, "points": points},
    )
    return event


async def get_by_code(session: AsyncSession, *, code: str) -> CreditEvent | None:
    return await session.scalar(select(CreditEvent).where(CreditEvent.code == code.upper()))


async def get_event(session: AsyncSession, *, event_id: int) -> CreditEvent | None:
    return await session.get(CreditEvent, event_id)


def window(event: CreditEvent, rules: CreditRules) -> tuple[datetime, datetime]:
    return (
        event.starts_at - timedelta(minutes=rules.event_early_minutes),
        event.ends_at + timedelta(minutes=rules.event_late_minutes),
    )


class CheckinOutcome(enum.Enum):
    RECORDED = "recorded"
    ALREADY = "already"
    TOO_EARLY = "too_early"
    CLOSED = "closed"


@dataclass(frozen=True)
class EventCheckin:
    outcome: CheckinOutcome
    event: CreditEvent
    attendance: EventAttendance | None = None
    award: AwardResult | None = None


def event_day(event: CreditEvent, tz: ZoneInfo = DEFAULT_TZ) -> date:
    return event.starts_at.astimezone(tz).date()


async def _attendance(session: AsyncSession, *, event_id: int, member_id: int) -> EventAttendance | None:
    return await session.scalar(
        select(EventAttendance).where(EventAttendance.event_id == event_id, EventAttendance.member_id == member_id)
    )


async def _record(
    session: AsyncSession, *, rules: CreditRules, event: CreditEvent, member_id: int, now: datetime,
    method: str, tz: ZoneInfo, marked_by: int | None = None, reason: str | None = None,
) -> EventCheckin:
    attendance = EventAttendance(
        event_id=event.id, member_id=member_id, at=now, method=method, out_of_radius=False,
        marked_by=marked_by, reason=reason,
    )
    session.add(attendance)
    await session.flush()
    result = await award(
        session, rules=rules, member_id=member_id, rule_id=event.rule_id, source_type="event",
        source_id=str(event.id), requested_points=event.points, activity_date=event_day(event, tz), at=now,
        title=event.title, note="手工补签" if method == "manual" else None,
    )
    return EventCheckin(CheckinOutcome.RECORDED, event, attendance, result)


async def check_in(
    session: AsyncSession, *, rules: CreditRules, event: CreditEvent, member_id: int, now: datetime,
    method: str = "code", tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin:
    """A member's own check-in: only inside the window, once per event."""
    existing = await _attendance(session, event_id=event.id, member_id=member_id)
    if existing is not None:
        return EventCheckin(CheckinOutcome.ALREADY, event, existing)
    opens, closes = window(event, rules)
    if now < opens:
        return EventCheckin(CheckinOutcome.TOO_EARLY, event)
    if now > closes:
        return EventCheckin(CheckinOutcome.CLOSED, event)
    return await _record(session, rules=rules, event=event, member_id=member_id, now=now, method=method, tz=tz)


async def mark_attendance(
    session: AsyncSession, *, rules: CreditRules, event: CreditEvent, member: Member, staff: Member | None,
    reason: str, now: datetime, tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin:
    """Staff mark a member present by hand (any time), with a reason kept in the audit log."""
    existing = await _attendance(session, event_id=event.id, member_id=member.id)
    if existing is not None:
        return EventCheckin(CheckinOutcome.ALREADY, event, existing)
    result = await _record(
        session, rules=rules, event=event, member_id=member.id, now=now, method="manual", tz=tz,
        marked_by=staff.id if staff else None, reason=reason,
    )
    await audit.record(
        session, actor=staff, action="credits.attendance_mark", at=now, target=f"event:{event.id}",
        detail={"member_id": member.id, "member": member.name, "code": event.code}, note=reason,
    )
    return result


async def record_location(
    session: AsyncSession, *, member_id: int, latitude: float, longitude: float, now: datetime,
    within: timedelta = timedelta(minutes=30),
) -> tuple[CreditEvent, EventAttendance] | None:
    """Attach a shared location to the member's latest check-in (at an event with a place) made recently."""
    row = (await session.execute(
        select(EventAttendance, CreditEvent)
        .join(CreditEvent, CreditEvent.id == EventAttendance.event_id)
        .where(
            EventAttendance.member_id == member_id,
            EventAttendance.method != "manual",
            EventAttendance.at >= now - within,
            CreditEvent.latitude.is_not(None),
        )
        .order_by(EventAttendance.at.desc())
        .limit(1)
    )).first()
    if row is None:
        return None
    attendance, event = row
    assert event.latitude is not None and event.longitude is not None
    attendance.latitude, attendance.longitude = latitude, longitude
    attendance.distance_m = round(distance_m(latitude, longitude, event.latitude, event.longitude), 1)
    attendance.out_of_radius = event.radius_m is not None and attendance.distance_m > event.radius_m
    await session.flush()
    return event, attendance


async def attendance_list(session: AsyncSession, *, event_id: int) -> list[tuple[EventAttendance, Member]]:
    rows = await session.execute(
        select(EventAttendance, Member)
        .join(Member, Member.id == EventAttendance.member_id)
        .where(EventAttendance.event_id == event_id)
        .order_by(EventAttendance.at)
    )
    return [(a, m) for a, m in rows.all()]


async def recent_events(session: AsyncSession, *, limit: int = 10) -> list[CreditEvent]:
    return list(await session.scalars(select(CreditEvent).order_by(CreditEvent.starts_at.desc()).limit(limit)))
