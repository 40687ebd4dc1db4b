"""Offline events (线下活动): short codes, the check-in window, once per member, location, manual marks.

Presence, not knowledge of a code, earns the points (issue #16): the QR code staff project carries a
signed token that changes every 30 seconds and is accepted for about a minute, so a forwarded
screenshot stops working; the typed code is a fallback whose attempts are limited per member and per
event (kept in the database) and whose check-ins staff see flagged; an event can require a shared
location inside its radius.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.credits.awards import DEFAULT_TZ, AwardResult, award
from store.credits.rules import CreditRules
from store.models import CreditEvent, EventAttendance, EventCheckinAttempt, EventQrPage, Member

CODE_PREFIX = "EVT-"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RE = re.compile(r"^(?:EVT[-_ ]?)?([A-Z0-9]{4,6})$", re.I)
EARTH_RADIUS_M = 6_371_000.0

# Rotating QR tokens: ``EVT-<event id>-<time step>-<signature>`` (base 36, base64url), at most 64 characters
# of A-Z a-z 0-9 _ - as Telegram allows in a /start payload.
TOKEN_STEP_SECONDS = 30
TOKEN_VALID_STEPS = 3  # the step it was made in and the next two: 60 to 90 seconds
TOKEN_RE = re.compile(r"^EVT-([0-9a-z]{1,10})-([0-9a-z]{1,10})-([A-Za-z0-9_-]{16})$")
# Typed codes: wrong codes per member, and tries per member at one event (too early, too late, too far).
MAX_TYPED_FAILURES = 5
TYPED_FAILURE_WINDOW = timedelta(hours=24)
MAX_TRIES_PER_EVENT = 3
# An event that requires a location waits this long for it after the code or QR code.
LOCATION_WAIT = timedelta(minutes=10)
# A check-in at an event with a place takes an (optional) location for this long afterwards.
LOCATION_SHARE_WINDOW = timedelta(minutes=30)


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
    require_location: bool = False


async def create_event(
    session: AsyncSession, *, rules: CreditRules, spec: EventSpec, creator: Member | None, now: datetime
) -> CreditEvent:
    if spec.rule_id not in rules.event_types():
        raise EventError("bad_type")
    if spec.ends_at <= spec.starts_at:
        raise EventError("bad_times")
    if spec.require_location and (spec.latitude is None or spec.longitude is None or spec.radius_m is None):
        raise EventError("location_needs_place")
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
        require_location=spec.require_location,
        created_by=creator.id if creator else None,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await audit.record(
        session, actor=creator, action="credits.event_create", at=now, target=f"event:{event.id}",
        detail={"code": code, "title": spec.title, "rule_id": spec.rule_id, "points": points,
                "require_location": spec.require_location},
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
    """What became of one check-in attempt (also stored, as its value, in ``credit_event_attempts``)."""

    RECORDED = "recorded"
    ALREADY = "already"
    TOO_EARLY = "too_early"
    CLOSED = "closed"
    NEED_LOCATION = "need_location"  # the event requires a location: waiting for it
    FAR = "far"  # the location sent is outside the radius
    NOT_FOUND = "not_found"  # a typed code that is no event's
    LOCKED = "locked"  # too many typed attempts: refused without looking
    EXPIRED = "expired"  # a QR token older than about a minute (a forwarded screenshot)
    INVALID = "invalid"  # a QR token with a wrong signature
    DECLINED = "declined"  # the member said they will not share a location (不用了): nothing waits for it


# Attempts at one event that count against MAX_TRIES_PER_EVENT.
_EVENT_TRIES = (CheckinOutcome.TOO_EARLY.value, CheckinOutcome.CLOSED.value, CheckinOutcome.FAR.value)


@dataclass(frozen=True)
class EventCheckin:
    outcome: CheckinOutcome
    event: CreditEvent | None
    attendance: EventAttendance | None = None
    award: AwardResult | None = None
    distance_m: float | None = None


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
    try:
        # The unique (event, member) settles two check-ins at once (a double tap, two workers): on
        # PostgreSQL the second INSERT waits for the first transaction, then fails; it records nothing.
        async with session.begin_nested():
            session.add(attendance)
    except IntegrityError:
        existing = await _attendance(session, event_id=event.id, member_id=member_id)
        return EventCheckin(CheckinOutcome.ALREADY, event, existing)
    result = await award(
        session, rules=rules, member_id=member_id, rule_id=event.rule_id, source_type="event",
        source_id=str(event.id), requested_points=event.points, activity_date=event_day(event, tz), at=now,
        title=event.title, note="手工补签" if method == "manual" else None,
    )
    return EventCheckin(CheckinOutcome.RECORDED, event, attendance, result)


async def log_attempt(
    session: AsyncSession, *, member_id: int, event_id: int | None, method: str, outcome: CheckinOutcome,
    now: datetime,
) -> None:
    session.add(EventCheckinAttempt(member_id=member_id, event_id=event_id, method=method, outcome=outcome.value,
                                    at=now))
    await session.flush()


async def _count_attempts(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count(EventCheckinAttempt.id)).where(*where)) or 0)


async def typed_locked(session: AsyncSession, *, member_id: int, event_id: int | None, now: datetime) -> bool:
    """Has this member used up the typed-code attempts (wrong codes lately, or tries at this event)?"""
    wrong = await _count_attempts(
        session, EventCheckinAttempt.member_id == member_id, EventCheckinAttempt.method == "code",
        EventCheckinAttempt.outcome == CheckinOutcome.NOT_FOUND.value,
        EventCheckinAttempt.at >= now - TYPED_FAILURE_WINDOW,
    )
    if wrong >= MAX_TYPED_FAILURES:
        return True
    if event_id is None:
        return False
    tries = await _count_attempts(
        session, EventCheckinAttempt.member_id == member_id, EventCheckinAttempt.event_id == event_id,
        EventCheckinAttempt.method == "code", EventCheckinAttempt.outcome.in_(_EVENT_TRIES),
    )
    return tries >= MAX_TRIES_PER_EVENT


async def check_in(
    session: AsyncSession, *, rules: CreditRules, event: CreditEvent, member_id: int, now: datetime,
    method: str = "code", tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin:
    """A member's own check-in: only inside the window, once per event, with a location if the event wants one.

    The attempt is logged (``credit_event_attempts``) whatever its outcome."""
    existing = await _attendance(session, event_id=event.id, member_id=member_id)
    opens, closes = window(event, rules)
    if existing is not None:
        result = EventCheckin(CheckinOutcome.ALREADY, event, existing)
    elif now < opens:
        result = EventCheckin(CheckinOutcome.TOO_EARLY, event)
    elif now > closes:
        result = EventCheckin(CheckinOutcome.CLOSED, event)
    elif event.require_location and event.has_place:
        result = EventCheckin(CheckinOutcome.NEED_LOCATION, event)
    else:
        result = await _record(session, rules=rules, event=event, member_id=member_id, now=now, method=method,
                               tz=tz)
    await log_attempt(session, member_id=member_id, event_id=event.id, method=method, outcome=result.outcome,
                      now=now)
    return result


async def check_in_by_code(
    session: AsyncSession, *, rules: CreditRules, text: str, member_id: int, now: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin:
    """A typed code (the fallback for a camera that fails): limited per member and per event."""
    if await typed_locked(session, member_id=member_id, event_id=None, now=now):
        await log_attempt(session, member_id=member_id, event_id=None, method="code",
                          outcome=CheckinOutcome.LOCKED, now=now)
        return EventCheckin(CheckinOutcome.LOCKED, None)
    code = normalise_code(text)
    event = await get_by_code(session, code=code) if code else None
    if event is None:
        await log_attempt(session, member_id=member_id, event_id=None, method="code",
                          outcome=CheckinOutcome.NOT_FOUND, now=now)
        return EventCheckin(CheckinOutcome.NOT_FOUND, None)
    if await typed_locked(session, member_id=member_id, event_id=event.id, now=now):
        await log_attempt(session, member_id=member_id, event_id=event.id, method="code",
                          outcome=CheckinOutcome.LOCKED, now=now)
        return EventCheckin(CheckinOutcome.LOCKED, event)
    return await check_in(session, rules=rules, event=event, member_id=member_id, now=now, method="code", tz=tz)


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
    within: timedelta = LOCATION_SHARE_WINDOW,
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
            CreditEvent.require_location.is_(False),  # those were checked when recorded
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


# --- rotating QR tokens ------------------------------------------------------------------------------


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def token_step(at: datetime) -> int:
    return int(at.timestamp()) // TOKEN_STEP_SECONDS


def _signature(secret: bytes, event_id: int, code: str, step: int) -> str:
    digest = hmac.new(secret, f"event-checkin:{event_id}:{code}:{step}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode("ascii")  # 16 characters, no padding


def checkin_token(secret: bytes, *, event_id: int, code: str, at: datetime) -> str:
    """The payload of the QR code shown at ``at``: valid for this 30-second step and the next two."""
    step = token_step(at)
    return f"{CODE_PREFIX}{_b36(event_id)}-{_b36(step)}-{_signature(secret, event_id, code, step)}"


@dataclass(frozen=True)
class ParsedToken:
    event_id: int
    step: int
    signature: str


def parse_token(text: str) -> ParsedToken | None:
    match = TOKEN_RE.match(text.strip())
    if not match:
        return None
    return ParsedToken(int(match.group(1), 36), int(match.group(2), 36), match.group(3))


def token_status(secret: bytes, token: ParsedToken, *, event: CreditEvent, now: datetime
                 ) -> Literal["ok", "expired", "invalid"]:
    expected = _signature(secret, event.id, event.code, token.step)
    if not hmac.compare_digest(token.signature.encode(), expected.encode()):
        return "invalid"
    age = token_step(now) - token.step
    if -1 <= age < TOKEN_VALID_STEPS:  # one step ahead is clock skew between processes
        return "ok"
    return "expired" if age > 0 else "invalid"


async def check_in_by_token(
    session: AsyncSession, *, rules: CreditRules, secret: bytes, text: str, member_id: int, now: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin:
    """A scanned QR code (deep link ``/start EVT-…``): the signed token must be fresh."""
    token = parse_token(text)
    event = await get_event(session, event_id=token.event_id) if token is not None else None
    if token is None or event is None:
        await log_attempt(session, member_id=member_id, event_id=None, method="link",
                          outcome=CheckinOutcome.INVALID, now=now)
        return EventCheckin(CheckinOutcome.INVALID, None)
    status = token_status(secret, token, event=event, now=now)
    if status != "ok":
        outcome = CheckinOutcome.EXPIRED if status == "expired" else CheckinOutcome.INVALID
        await log_attempt(session, member_id=member_id, event_id=event.id, method="link", outcome=outcome, now=now)
        return EventCheckin(outcome, event)
    return await check_in(session, rules=rules, event=event, member_id=member_id, now=now, method="link", tz=tz)


async def check_in_with_location(
    session: AsyncSession, *, rules: CreditRules, member_id: int, latitude: float, longitude: float,
    now: datetime, tz: ZoneInfo = DEFAULT_TZ,
) -> EventCheckin | None:
    """The location for a check-in that waits for one (an event with 定位=必需); None if none waits."""
    row = (await session.execute(
        select(EventCheckinAttempt, CreditEvent)
        .join(CreditEvent, CreditEvent.id == EventCheckinAttempt.event_id)
        .where(
            EventCheckinAttempt.member_id == member_id,
            EventCheckinAttempt.outcome == CheckinOutcome.NEED_LOCATION.value,
            EventCheckinAttempt.at >= now - LOCATION_WAIT,
        )
        .order_by(EventCheckinAttempt.at.desc(), EventCheckinAttempt.id.desc())
        .limit(1)
    )).first()
    if row is None:
        return None
    attempt, event = row
    existing = await _attendance(session, event_id=event.id, member_id=member_id)
    if existing is not None or await _declined_since(session, member_id=member_id, event_id=event.id, at=attempt.at):
        return None
    if event.latitude is None or event.longitude is None or event.radius_m is None:
        return None
    far_tries = await _count_attempts(
        session, EventCheckinAttempt.member_id == member_id, EventCheckinAttempt.event_id == event.id,
        EventCheckinAttempt.outcome == CheckinOutcome.FAR.value,
    )
    distance = round(distance_m(latitude, longitude, event.latitude, event.longitude), 1)
    if far_tries >= MAX_TRIES_PER_EVENT:
        result = EventCheckin(CheckinOutcome.LOCKED, event, distance_m=distance)
    elif now > window(event, rules)[1]:
        result = EventCheckin(CheckinOutcome.CLOSED, event, distance_m=distance)
    elif distance > event.radius_m:
        result = EventCheckin(CheckinOutcome.FAR, event, distance_m=distance)
    else:
        result = await _record(session, rules=rules, event=event, member_id=member_id, now=now,
                               method=attempt.method, tz=tz)
        if result.outcome is CheckinOutcome.RECORDED:  # not ALREADY: another update recorded it first
            assert result.attendance is not None
            result.attendance.latitude, result.attendance.longitude = latitude, longitude
            result.attendance.distance_m = distance
            await session.flush()
        result = EventCheckin(result.outcome, event, result.attendance, result.award, distance)
    await log_attempt(session, member_id=member_id, event_id=event.id, method=attempt.method,
                      outcome=result.outcome, now=now)
    return result


async def _declined_since(session: AsyncSession, *, member_id: int, event_id: int, at: datetime) -> bool:
    return await _count_attempts(
        session, EventCheckinAttempt.member_id == member_id, EventCheckinAttempt.event_id == event_id,
        EventCheckinAttempt.outcome == CheckinOutcome.DECLINED.value, EventCheckinAttempt.at >= at,
    ) > 0


async def decline_location(session: AsyncSession, *, member_id: int, event_id: int, now: datetime) -> None:
    """The member will not share a location for this event's check-in (不用了): stop asking for one.

    A check-in that required the location stays unrecorded (staff can still mark it by hand)."""
    await log_attempt(session, member_id=member_id, event_id=event_id, method="location",
                      outcome=CheckinOutcome.DECLINED, now=now)


# --- QR pages (staff messages renewed in place) -------------------------------------------------------


async def add_qr_page(session: AsyncSession, *, event_id: int, chat_id: int, message_id: int, now: datetime
                      ) -> EventQrPage:
    page = EventQrPage(event_id=event_id, chat_id=chat_id, message_id=message_id, created_at=now)
    session.add(page)
    await session.flush()
    return page


async def qr_pages(session: AsyncSession) -> list[tuple[EventQrPage, CreditEvent]]:
    rows = await session.execute(
        select(EventQrPage, CreditEvent).join(CreditEvent, CreditEvent.id == EventQrPage.event_id)
        .order_by(EventQrPage.id)
    )
    return [(page, event) for page, event in rows.all()]


async def drop_qr_page(session: AsyncSession, *, page_id: int) -> None:
    await session.execute(delete(EventQrPage).where(EventQrPage.id == page_id))



async def attendance_counts(session: AsyncSession, *, event_ids: list[int]) -> dict[int, int]:
    """event id → how many members are checked in (manual marks included)."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(EventAttendance.event_id, func.count(EventAttendance.id))
        .where(EventAttendance.event_id.in_(event_ids)).group_by(EventAttendance.event_id)
    )
    return {int(event_id): int(count) for event_id, count in rows.all()}
