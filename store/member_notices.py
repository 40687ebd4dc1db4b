"""A minimal outbox of Telegram messages to members: ``enqueue`` in the transaction of what the message
reports (a dispute decided in the console, an adjustment), the bot's ``handlers.member_notices`` job sends
each once. The console has no bot and may run in another process; this is how it tells a member something.

Rows are leased by ``store.outbox`` (a conditional UPDATE), as ``proposal_notifications`` are, so two workers
never send one row twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import outbox
from store.models import MemberNotice

LEASE = outbox.LEASE
MAX_ATTEMPTS = outbox.MAX_ATTEMPTS


async def enqueue(session: AsyncSession, *, member_id: int, text: str, now: datetime, kind: str = "") -> MemberNotice:
    """Queue ``text`` for the member (sent by the bot once this transaction commits)."""
    notice = MemberNotice(member_id=member_id, text=text, kind=kind[:32], created_at=now, attempts=0, failed=False)
    session.add(notice)
    await session.flush()
    return notice


async def claim(session: AsyncSession, *, now: datetime, limit: int = 20, lease: timedelta = LEASE
                ) -> list[MemberNotice]:
    """Due notices, each leased to this sender (``store.outbox.claim``); commit right after calling."""
    return await outbox.claim(session, MemberNotice, now=now, lease=lease, limit=limit)


async def mark(session: AsyncSession, *, notice_id: int, now: datetime, error: str | None = None,
               give_up: bool = False) -> None:
    """Sent (no error), or failed: retried later with a growing pause, given up after MAX_ATTEMPTS."""
    await outbox.mark(session, MemberNotice, row_id=notice_id, now=now, error=error, give_up=give_up)


async def pending_count(session: AsyncSession) -> int:
    return await outbox.pending_count(session, MemberNotice)


async def for_member(session: AsyncSession, *, member_id: int) -> list[MemberNotice]:
    return list(await session.scalars(
        select(MemberNotice).where(MemberNotice.member_id == member_id).order_by(MemberNotice.id)
    ))
