"""Staff /broadcast drafts: one per staff member, kept in the database so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import affected_rows, delete_as_read
from store.models import BroadcastDraft, Member


async def get(session: AsyncSession, *, member_id: int) -> BroadcastDraft | None:
    return await session.get(BroadcastDraft, member_id)


async def step_for_telegram(session: AsyncSession, *, telegram_id: int) -> str | None:
    """The draft step of the staff member with this Telegram account (None without a draft)."""
    return await session.scalar(
        select(BroadcastDraft.step).join(Member, Member.id == BroadcastDraft.member_id)
        .where(Member.telegram_id == telegram_id)
    )


async def save(session: AsyncSession, *, member_id: int, step: str, data: dict[str, Any], now: datetime
               ) -> BroadcastDraft:
    draft = await session.get(BroadcastDraft, member_id)
    if draft is None:
        draft = BroadcastDraft(member_id=member_id, step=step, data=dict(data), updated_at=now)
        session.add(draft)
    else:
        draft.step, draft.data, draft.updated_at = step, dict(data), now  # a new dict: JSON change tracked
    await session.flush()
    return draft


async def discard(session: AsyncSession, *, member_id: int) -> bool:
    result = await session.execute(delete(BroadcastDraft).where(BroadcastDraft.member_id == member_id))
    return affected_rows(result) > 0


async def consume(session: AsyncSession, *, draft: BroadcastDraft) -> bool:
    """Delete the draft as it was read (same step, not changed since): False when another transaction (a
    second tap of 确认, perhaps on another worker) consumed or changed it first; on PostgreSQL the DELETE
    waits for that transaction, then matches nothing. Call it in the transaction that creates the
    broadcast, before creating it, and create nothing when it is False."""
    return await delete_as_read(
        session,
        draft,
        delete(BroadcastDraft)
        .where(BroadcastDraft.member_id == draft.member_id, BroadcastDraft.step == draft.step,
               BroadcastDraft.updated_at == draft.updated_at)
    )
