"""Processed-update marks: idempotency ledger and pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import updates as repo
from store.db import Database

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def test_mark_is_idempotent_and_prune_removes_only_old_marks(db: Database) -> None:
    async with db.session() as session:
        await repo.mark_processed(session, update_id=1, at=NOW - timedelta(days=10))
        await repo.mark_processed(session, update_id=2, at=NOW)
    async with db.session() as session:
        await repo.mark_processed(session, update_id=2, at=NOW, failed=True)  # merge, no duplicate key
    async with db.session() as session:
        assert await repo.is_processed(session, update_id=1) and await repo.is_processed(session, update_id=2)
        assert await repo.prune(session, before=NOW - timedelta(days=7)) == 1
    async with db.session() as session:
        assert not await repo.is_processed(session, update_id=1)
        assert await repo.is_processed(session, update_id=2)
