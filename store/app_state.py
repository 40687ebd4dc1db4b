"""Counters shared by every process on one database (secrets: ``store.secrets``).

Revision counters (``bump``) tell other processes something changed; run claims (``claim_run``) let one
of several processes run a scheduled job for a period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import affected_rows
from store.models import AppState

FAQ_REVISION = "faq_revision"


async def counter(session: AsyncSession, *, name: str) -> int:
    """The current value of a counter (0 when it was never bumped)."""
    value = await session.scalar(select(AppState.counter).where(AppState.name == name))
    return int(value or 0)


async def bump(session: AsyncSession, *, name: str, now: datetime) -> int:
    """Increase a counter by one in the caller's transaction; returns the new value."""
    result = await session.execute(
        update(AppState).where(AppState.name == name).values(counter=AppState.counter + 1, updated_at=now)
    )
    if getattr(result, "rowcount", 0) == 0:
        try:
            async with session.begin_nested():
                session.add(AppState(name=name, counter=1, updated_at=now))
        except IntegrityError:  # another process created it meanwhile
            await session.execute(
                update(AppState).where(AppState.name == name).values(counter=AppState.counter + 1, updated_at=now)
            )
    return await counter(session, name=name)


async def claim_run(session: AsyncSession, *, name: str, slot: int, now: datetime) -> bool:
    """Claim run ``slot`` (e.g. a day's ordinal) of the scheduled job ``name``; False when it is taken.

    Every bot process runs the scheduled jobs; one that must run once per period (the daily digest)
    claims its period first. The row's counter is the last slot claimed, moved forward by one
    conditional UPDATE, so of several processes exactly one gets each slot (on PostgreSQL a concurrent
    claim waits for the first to commit, then finds the slot taken). The caller commits at once.
    """
    result = await session.execute(
        update(AppState).where(AppState.name == name, AppState.counter < slot).values(counter=slot, updated_at=now)
    )
    if affected_rows(result) == 1:
        return True
    if await session.scalar(select(AppState.counter).where(AppState.name == name)) is not None:
        return False  # this slot (or a later one) was claimed already
    try:
        async with session.begin_nested():
            session.add(AppState(name=name, counter=slot, updated_at=now))
    except IntegrityError:  # another process created the row meanwhile, with its claim
        return False
    return True
