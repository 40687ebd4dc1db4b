"""Processed-update ledger: makes handling of a redelivered update idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ProcessedUpdate


async def is_processed(session: AsyncSession, *, update_id: int) -> bool:
    row = await session.scalar(select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == update_id))
    return row is not None


async def mark_processed(session: AsyncSession, *, update_id: int, at: datetime, failed: bool = False) -> None:
    """Record the update in the current transaction, so it commits together with its effects."""
    await session.merge(ProcessedUpdate(update_id=update_id, processed_at=at, failed=failed))


async def prune(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
