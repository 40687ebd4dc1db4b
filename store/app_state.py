"""Revision counters shared by every process on one database (secrets: ``store.secrets``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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
