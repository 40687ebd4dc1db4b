"""Member notification preferences: topics of interest and quiet hours, shared by every push feature.

Quiet hours are local wall-clock times (the committee's time zone). A window whose start is after its
end wraps midnight (the default 22:00–08:00). Urgent notices ignore quiet hours; callers decide that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import MemberPreference

DEFAULT_QUIET = (time(22, 0), time(8, 0))
MAX_TOPICS = 20
MAX_TOPIC_LENGTH = 32


def parse_hhmm(value: str) -> time:
    """``"22:00"`` → ``time(22, 0)``; ValueError for anything else."""
    match = re.fullmatch(r"([01]?\d|2[0-3])[:：]([0-5]\d)", value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a time like 22:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_window(value: str) -> tuple[time, time]:
    """``"22:00-08:00"`` → ``(time(22), time(8))``."""
    parts = re.split(r"\s*[-–~—至到]\s*", value.strip())
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not a window like 22:00-08:00")
    return parse_hhmm(parts[0]), parse_hhmm(parts[1])


def format_window(window: tuple[time, time]) -> str:
    return f"{window[0]:%H:%M}-{window[1]:%H:%M}"


@dataclass(frozen=True)
class Prefs:
    """The effective preferences of one member (defaults filled in)."""

    topics: tuple[str, ...] = ()
    quiet_enabled: bool = True
    quiet_start: time = DEFAULT_QUIET[0]
    quiet_end: time = DEFAULT_QUIET[1]

    @property
    def window(self) -> tuple[time, time]:
        return self.quiet_start, self.quiet_end

    @property
    def quiet_active(self) -> bool:
        """Quiet hours on, over a non-empty window (``00:00-00:00``, a default with none, holds nothing back)."""
        return self.quiet_enabled and self.quiet_start != self.quiet_end


@dataclass(frozen=True)
class PrefsDefaults:
    """Defaults from the settings (``QUIET_HOURS_DEFAULT``)."""

    quiet_start: time = DEFAULT_QUIET[0]
    quiet_end: time = DEFAULT_QUIET[1]
    topics_catalogue: tuple[str, ...] = field(default_factory=tuple)

    def prefs(self) -> Prefs:
        return Prefs(quiet_start=self.quiet_start, quiet_end=self.quiet_end)


def in_quiet_hours(prefs: Prefs, local_time: time) -> bool:
    """Is ``local_time`` (local wall clock) inside the member's quiet hours?"""
    if not prefs.quiet_enabled:
        return False
    start, end = prefs.window
    local_time = local_time.replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local_time < end
    return local_time >= start or local_time < end


def next_allowed_time(prefs: Prefs, at: datetime, tz: ZoneInfo, *, urgent: bool = False) -> datetime:
    """The earliest moment at or after ``at`` (aware) when a push may reach the member (aware UTC)."""
    at = at.astimezone(UTC)
    if urgent:
        return at
    local = at.astimezone(tz)
    if not in_quiet_hours(prefs, local.time()):
        return at
    end = prefs.quiet_end
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    # Re-localise (DST-safe): the wall-clock end time on that date.
    candidate = datetime.combine(candidate.date(), end, tzinfo=tz)
    return candidate.astimezone(UTC)


def from_row(row: MemberPreference | None, defaults: PrefsDefaults) -> Prefs:
    if row is None:
        return defaults.prefs()
    return Prefs(
        topics=tuple(row.topics or ()),
        quiet_enabled=row.quiet_enabled,
        quiet_start=row.quiet_start or defaults.quiet_start,
        quiet_end=row.quiet_end or defaults.quiet_end,
    )


async def get(session: AsyncSession, *, member_id: int, defaults: PrefsDefaults) -> Prefs:
    return from_row(await session.get(MemberPreference, member_id), defaults)


async def get_many(
    session: AsyncSession, *, member_ids: Iterable[int], defaults: PrefsDefaults
) -> dict[int, Prefs]:
    """Effective preferences for many members (one query per 500 ids)."""
    ids = list(member_ids)
    found: dict[int, MemberPreference] = {}
    for i in range(0, len(ids), 500):
        rows = await session.scalars(select(MemberPreference).where(MemberPreference.member_id.in_(ids[i:i + 500])))
        found.update({r.member_id: r for r in rows})
    return {mid: from_row(found.get(mid), defaults) for mid in ids}


async def _row(session: AsyncSession, member_id: int, now: datetime) -> MemberPreference:
    row = await session.get(MemberPreference, member_id)
    if row is None:
        row = MemberPreference(member_id=member_id, topics=[], quiet_enabled=True, updated_at=now)
        session.add(row)
    return row


def clean_topic(topic: str) -> str:
    return re.sub(r"\s+", "", topic)[:MAX_TOPIC_LENGTH]


async def toggle_topic(session: AsyncSession, *, member_id: int, topic: str, now: datetime) -> list[str]:
    """Add the topic if absent, remove it if present; returns the new list."""
    row = await _row(session, member_id, now)
    topics = list(row.topics or [])
    topic = clean_topic(topic)
    if topic in topics:
        topics.remove(topic)
    elif topic and len(topics) < MAX_TOPICS:
        topics.append(topic)
    row.topics = topics
    row.updated_at = now
    await session.flush()
    return topics


async def set_quiet_hours(
    session: AsyncSession, *, member_id: int, window: tuple[time, time] | None, now: datetime
) -> None:
    """Set the member's quiet hours; ``None`` turns them off."""
    row = await _row(session, member_id, now)
    if window is None:
        row.quiet_enabled = False
    else:
        row.quiet_enabled = True
        row.quiet_start, row.quiet_end = window
    row.updated_at = now
    await session.flush()


async def members_with_topic(session: AsyncSession, *, topic: str) -> set[int]:
    """Ids of members who chose ``topic`` (filtered in Python: JSON containment differs per backend)."""
    rows = await session.execute(select(MemberPreference.member_id, MemberPreference.topics))
    return {mid for mid, topics in rows if topic in (topics or [])}


async def deferred_until(
    session: AsyncSession,
    *,
    member_ids: Iterable[int],
    defaults: PrefsDefaults,
    now: datetime,
    tz: ZoneInfo,
    urgent: bool = False,
) -> dict[int, datetime]:
    """Members whose quiet hours hold a non-urgent push back now, with the moment it may go out."""
    if urgent:
        return {}
    prefs = await get_many(session, member_ids=member_ids, defaults=defaults)
    later = {mid: next_allowed_time(p, now, tz) for mid, p in prefs.items()}
    return {mid: at for mid, at in later.items() if at > now}

