"""Processed-update ledger: makes handling of a redelivered update idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from store.db import affected_rows
from store.models import ProcessedUpdate
from store.models.base import table_of


async def is_processed(session: AsyncSession, *, update_id: int) -> bool:
    row = await session.scalar(select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == update_id))
    return row is not None


async def highest(session: AsyncSession) -> int:
    """The highest update id marked so far (-1 when none): ids above it were never handled."""
    found = await session.scalar(select(func.max(ProcessedUpdate.update_id)))
    return -1 if found is None else int(found)


_CLAIMS: dict[tuple[str, bool], Executable] = {}


def _claim_statement(dialect: str, *, then_commit: bool = False) -> Executable | None:
    """``INSERT … ON CONFLICT (update_id) DO NOTHING`` for this dialect, built once (None: not supported).

    A Core insert on the table, built once: it skips the ORM bulk-insert machinery and keeps its
    memoized cache key, which matters because it runs for every update (issue #7). ``then_commit`` (SQLite):
    prefixed so that the one-trip adapter commits in the statement's own trip when it inserted the mark.
    """
    key = (dialect, then_commit and dialect == "sqlite")
    if key not in _CLAIMS:
        table = table_of(ProcessedUpdate)
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            _CLAIMS[key] = postgresql.insert(table).on_conflict_do_nothing(index_elements=[table.c.update_id])
        elif dialect == "sqlite":
            from sqlalchemy.dialects import sqlite

            from store.sqlite_async import COMMIT_IF_INSERTED

            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[table.c.update_id])
            _CLAIMS[key] = stmt.prefix_with(COMMIT_IF_INSERTED) if then_commit else stmt
        else:
            return None
    return _CLAIMS[key]


async def claim(session: AsyncSession, *, update_id: int, at: datetime, then_commit: bool = False) -> bool:
    """Mark the update processed in the current transaction unless it already is; True when newly marked.

    One ``INSERT … ON CONFLICT DO NOTHING`` instead of a lookup plus an insert (two round trips on
    every update). On PostgreSQL a concurrent, uncommitted claim of the same update makes this wait
    for it and then report False.

    ``then_commit``: the caller commits the session as soon as this returns True (and rolls back on
    False), with nothing left to flush; on SQLite the commit then happens in the INSERT's own trip.
    """
    stmt = _claim_statement(session.get_bind().dialect.name, then_commit=then_commit)
    if stmt is None:
        if await is_processed(session, update_id=update_id):
            return False
        await mark_processed(session, update_id=update_id, at=at)
        return True
    result = await session.execute(stmt, {"update_id": update_id, "processed_at": at, "failed": False})
    return affected_rows(result) == 1


async def mark_processed(session: AsyncSession, *, update_id: int, at: datetime, failed: bool = False) -> None:
    """Record the update in the current transaction, so it commits together with its effects."""
    await session.merge(ProcessedUpdate(update_id=update_id, processed_at=at, failed=failed))


async def prune(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return affected_rows(result)
