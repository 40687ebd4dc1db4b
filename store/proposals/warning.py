"""Three-colour warning (三色预警) on handling deadlines. Pure function of the deadline and the clock."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta, tzinfo

from store.proposals.lifecycle import Status

# Only items that a handling unit is working on have a running deadline.
WATCHED_STATUSES = frozenset({Status.ACCEPTED, Status.ASSIGNED})


class Warning(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


SEVERITY = {Warning.RED: 0, Warning.YELLOW: 1, Warning.GREEN: 2, None: 3}


def warning_for(deadline: date | None, now: datetime, *, tz: tzinfo, yellow_days: int) -> Warning | None:
    """Green on time, yellow when ``yellow_days`` or fewer days are left (the deadline day included), red after.

    The deadline is a calendar date in the committee's time zone; the item is overdue from the next midnight.
    """
    if deadline is None:
        return None
    today = now.astimezone(tz).date()
    days_left = (deadline - today).days
    if days_left < 0:
        return Warning.RED
    if days_left <= yellow_days:
        return Warning.YELLOW
    return Warning.GREEN


def warning_of(
    status: str, deadline: date | None, now: datetime, *, tz: tzinfo, yellow_days: int
) -> Warning | None:
    """The warning shown for an item: only while it is being handled."""
    if Status(status) not in WATCHED_STATUSES:
        return None
    return warning_for(deadline, now, tz=tz, yellow_days=yellow_days)


def default_deadline(now: datetime, *, tz: tzinfo, days: int) -> date:
    return now.astimezone(tz).date() + timedelta(days=days)
