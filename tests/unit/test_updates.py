"""Processed-update marks: idempotency ledger and pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.processed_ids import ProcessedIds
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


async def test_highest_mark_is_minus_one_when_nothing_is_marked(db: Database) -> None:
    async with db.session() as session:
        assert await repo.highest(session) == -1
        await repo.mark_processed(session, update_id=41, at=NOW)
        await repo.mark_processed(session, update_id=7, at=NOW)
    async with db.session() as session:
        assert await repo.highest(session) == 41


async def test_processed_ids_ask_the_database_only_at_or_below_the_start_mark_or_for_a_second_delivery(
    db: Database,
) -> None:
    async with db.session() as session:
        await repo.mark_processed(session, update_id=100, at=NOW)
    seen = ProcessedIds()
    async with db.session() as session:
        assert not await seen.surely_new(session, 100)  # marked before this process started
        assert not await seen.surely_new(session, 99)  # below the mark: may have been handled
        assert await seen.surely_new(session, 101)  # above the mark, first delivery
        assert not await seen.surely_new(session, 101)  # a second delivery to this process
    async with db.session() as session:  # marked later by someone else: the mark was read once, at start
        await repo.mark_processed(session, update_id=500, at=NOW)
    async with db.session() as session:
        assert await seen.surely_new(session, 102)


async def test_trimming_raises_the_mark_past_every_forgotten_id(db: Database) -> None:
    seen = ProcessedIds(keep=10)
    async with db.session() as session:
        assert all([await seen.surely_new(session, i) for i in range(1, 12)])  # the 11th trims to the newest
        for i in range(1, 12):  # every id, forgotten or kept, now needs the database
            assert not await seen.surely_new(session, i)
        assert await seen.surely_new(session, 12)
