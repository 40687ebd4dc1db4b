"""One lease-and-claim mechanism for the message outboxes (``proposal_notifications``, ``member_notices``).

A row is written in the transaction of what it reports; a sender job ``claim``s due rows, commits, sends
outside any transaction, then ``mark``s each one sent or failed. A claim is a conditional UPDATE on the
attempts and lease the sender read, so two senders (two workers, or the bot and another process) reading
the same rows at once never both take one; a sender that dies holds its rows only until the lease ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import preferences
from store.db import affected_rows
from store.models.outbox import OutboxColumns

Row = TypeVar("Row", bound=OutboxColumns)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


async def claim(session: AsyncSession, model: type[Row], *, now: datetime, lease: timedelta = LEASE,
                limit: int = 20) -> list[Row]:
    """Due rows, oldest first, each leased to this sender; commit right after calling, before sending."""
    read = (await session.execute(
        select(model.id, model.attempts, model.claimed_until)
        .where(model.sent_at.is_(None), model.failed.is_(False),
               model.claimed_until.is_(None) | (model.claimed_until <= now))
        .order_by(model.id).limit(limit)
    )).all()
    rows: list[Row] = []
    for row_id, attempts, until in read:
        same_lease = model.claimed_until.is_(None) if until is None else model.claimed_until == until
        taken = await session.execute(
            update(model)
            .where(model.id == row_id, model.attempts == attempts, model.sent_at.is_(None), same_lease)
            .values(claimed_until=now + lease, attempts=attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(taken) != 1:
            continue
        row = await session.get(model, row_id)
        if row is not None:
            await session.refresh(row)
            rows.append(row)
    return rows


async def claim_sendable(session: AsyncSession, model: type[Row], *, now: datetime, member_of: Callable[[Row], int],
                         defaults: preferences.PrefsDefaults, tz: ZoneInfo, lease: timedelta = LEASE,
                         limit: int = 20) -> list[Row]:
    """``claim``, then hold back every row whose member is in quiet hours now (``defer`` until they end, not
    counted as an attempt): what is returned may be sent at once. Commit right after calling."""
    claimed = await claim(session, model, now=now, lease=lease, limit=limit)
    held = await preferences.deferred_until(session, member_ids={member_of(row) for row in claimed},
                                            defaults=defaults, now=now, tz=tz)
    sendable = []
    for row in claimed:
        if member_of(row) in held:
            await defer(session, model, row_id=row.id, until=held[member_of(row)])
        else:
            sendable.append(row)
    return sendable


async def mark(session: AsyncSession, model: type[Row], *, row_id: int, now: datetime, error: str | None = None,
               give_up: bool = False) -> None:
    """Sent (no error), or failed: retried later with a pause growing with the attempts, given up after
    ``MAX_ATTEMPTS`` or at once (``give_up``: the member blocked the bot, or has no account)."""
    row = await session.get(model, row_id)
    if row is None:
        return
    if error is None:
        row.sent_at = now
    else:
        row.last_error = error[:200]
        row.claimed_until = now + timedelta(seconds=30 * min(row.attempts, 20))
        row.failed = give_up or row.attempts >= MAX_ATTEMPTS
    await session.flush()


async def defer(session: AsyncSession, model: type[Row], *, row_id: int, until: datetime) -> None:
    """Hold a claimed row back until ``until`` (the member's quiet hours) without counting an attempt."""
    row = await session.get(model, row_id)
    if row is None:
        return
    row.claimed_until = until
    row.attempts = max(0, row.attempts - 1)
    await session.flush()


async def pending_count(session: AsyncSession, model: type[Row]) -> int:
    """Rows not yet sent and not given up."""
    return int(await session.scalar(
        select(func.count(model.id)).where(model.sent_at.is_(None), model.failed.is_(False))
    ) or 0)
