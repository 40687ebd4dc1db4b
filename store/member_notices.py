"""A minimal outbox of Telegram messages to members: ``enqueue`` in the transaction of what the message
reports (a dispute decided in the console, an adjustment), the bot's ``handlers.member_notices`` job sends
each once. The console has no bot and may run in another process; this is how it tells a member something.

Rows are leased by a conditional UPDATE (``claim``), so two workers never send one row twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import affected_rows
from store.models import MemberNotice

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


async def enqueue(session: AsyncSession, *, member_id: int, text: str, now: datetime, kind: str = "") -> MemberNotice:
    """Queue ``text`` for the member (sent by the bot once this transaction commits)."""
    notice = MemberNotice(member_id=member_id, text=text, kind=kind[:32], created_at=now, attempts=0, failed=False)
    session.add(notice)
    await session.flush()
    return notice


async def claim(session: AsyncSession, *, now: datetime, limit: int = 20, lease: timedelta = LEASE
                ) -> list[MemberNotice]:
    """Due notices, each leased to this sender by a conditional UPDATE (a concurrent sender gets others).

    Commit right after calling, before sending."""
    due = list(await session.scalars(
        select(MemberNotice).where(
            MemberNotice.sent_at.is_(None), MemberNotice.failed.is_(False),
            MemberNotice.claimed_until.is_(None) | (MemberNotice.claimed_until <= now),
        ).order_by(MemberNotice.id).limit(limit)
    ))
    claimed = []
    for row in due:
        result = await session.execute(
            update(MemberNotice)
            .where(MemberNotice.id == row.id, MemberNotice.sent_at.is_(None),
                   MemberNotice.claimed_until.is_(None) | (MemberNotice.claimed_until <= now))
            .values(claimed_until=now + lease, attempts=MemberNotice.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(result) == 1:
            await session.refresh(row)
            claimed.append(row)
    return claimed


async def defer(session: AsyncSession, *, notice_id: int, until: datetime) -> None:
    """Hold a claimed notice back until ``until`` (the member's quiet hours) without counting an attempt."""
    row = await session.get(MemberNotice, notice_id)
    if row is None:
        return
    row.claimed_until = until
    row.attempts = max(0, row.attempts - 1)
    await session.flush()


async def mark(session: AsyncSession, *, notice_id: int, now: datetime, error: str | None = None,
               give_up: bool = False) -> None:
    """Sent (no error), or failed: retried later with a growing pause, given up after MAX_ATTEMPTS."""
    row = await session.get(MemberNotice, notice_id)
    if row is None:
        return
    if error is None:
        row.sent_at = now
    else:
        row.last_error = error[:200]
        row.claimed_until = now + timedelta(seconds=30 * min(row.attempts, 20))
        row.failed = give_up or row.attempts >= MAX_ATTEMPTS
    await session.flush()


async def pending_count(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.count(MemberNotice.id)).where(MemberNotice.sent_at.is_(None), MemberNotice.failed.is_(False))
    ) or 0)


async def for_member(session: AsyncSession, *, member_id: int) -> list[MemberNotice]:
    return list(await session.scalars(
        select(MemberNotice).where(MemberNotice.member_id == member_id).order_by(MemberNotice.id)
    ))
