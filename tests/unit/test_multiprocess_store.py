"""What lets several bot processes share one database: scheduled-job run claims and the broadcast sender lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from store import app_state
from store.broadcasts.sender_lock import SENDER_LOCK_KEY, sender_lock
from store.db import Database

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DAY = NOW.date().toordinal()


async def claim(db: Database, slot: int, name: str = "job:digest") -> bool:
    async with db.session() as session:
        return await app_state.claim_run(session, name=name, slot=slot, now=NOW)


async def test_each_run_of_a_job_is_claimed_once(db: Database) -> None:
    assert await claim(db, DAY)  # creates the row
    assert not await claim(db, DAY)  # the same day again: taken
    assert not await claim(db, DAY - 1)  # an earlier day never runs after a later one
    assert await claim(db, DAY + 1)  # the next day
    assert await claim(db, DAY, name="job:reminders")  # another job has its own runs
    async with db.session() as session:
        assert await app_state.counter(session, name="job:digest") == DAY + 1


@pytest.mark.pg
async def test_concurrent_claims_of_one_run_on_postgresql_give_one_winner(pg_url: str) -> None:
    workers = [Database(pg_url) for _ in range(4)]
    try:
        await workers[0].upgrade()
        assert await claim(workers[0], DAY - 1)  # the row exists: the racers update it
        results = await asyncio.gather(*(claim(w, DAY) for w in workers))
        assert sorted(results) == [False, False, False, True]
    finally:
        for w in workers:
            await w.dispose()


async def test_sqlite_has_no_sender_lock_and_is_never_exclusive(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    try:
        async with sender_lock(db.engine) as first, sender_lock(db.engine) as second:
            assert first.held and second.held  # one process per SQLite database: nothing to exclude
            assert not first.exclusive  # so rows held by another process are not taken back on sight
    finally:
        await db.dispose()


@pytest.mark.pg
async def test_one_sender_at_a_time_on_postgresql_and_a_dead_holder_frees_the_lock(pg_url: str) -> None:
    one, two = Database(pg_url), Database(pg_url)
    try:
        async with sender_lock(one.engine) as held:
            assert held.held and held.exclusive
            async with sender_lock(two.engine) as refused:
                assert not refused.held and not refused.exclusive
        async with sender_lock(two.engine) as taken:  # released at the end of the block
            assert taken.held

        # A holder whose connection dies (kill -9) loses the lock at once, without releasing it.
        async with one.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": SENDER_LOCK_KEY})
            await conn.commit()
            async with sender_lock(two.engine) as refused:
                assert not refused.held
            await conn.invalidate()  # the connection is closed, as by the death of its process
        waiting = asyncio.create_task(_hold(two))
        assert await asyncio.wait_for(waiting, timeout=10)
    finally:
        await one.dispose()
        await two.dispose()


async def _hold(db: Database) -> bool:
    async with sender_lock(db.engine, wait=True) as lock:
        return lock.held and lock.exclusive
