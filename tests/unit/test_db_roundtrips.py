"""Cheap database round trips (issue #7): the one-trip SQLite adapter behaves like the stock one, and
the per-message lookup of the sender and their pending drafts is one correct query on both backends."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from store import members as members_repo
from store import pending
from store import updates as updates_repo
from store.broadcasts import drafts as broadcast_drafts
from store.db import Database, affected_rows
from store.models import Member, MemberGroup, ProcessedUpdate, Role
from store.proposals import repository as proposals_repo
from store.roster import RosterRow

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'rt.sqlite3'}")
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def handoffs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the calls run on aiosqlite's driver thread, by function name."""
    seen: Counter[str] = Counter()
    original = aiosqlite.core.Connection._execute

    async def counting(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen[getattr(fn, "__name__", type(fn).__name__)] += 1
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    yield seen


async def _add_members(db: Database, *names: str) -> list[Member]:
    rows = [RosterRow(line=n, name=name, sector="经济界", district="城关区", groups=("一组",), role=Role.MEMBER,
                      telegram_id=7000 + n, phone=None) for n, name in enumerate(names)]
    async with db.session() as session:
        report = await members_repo.import_roster(session, rows=rows, now=NOW)
    return report.created


async def test_statement_is_one_handoff_and_idle_commit_none(sqlite_db: Database, handoffs: Counter[str]) -> None:
    async with sqlite_db.sessionmaker() as session:
        await session.scalar(select(func.count()).select_from(Member))  # warm: pool connection, pragmas
        await session.commit()
    handoffs.clear()
    async with sqlite_db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0
        await session.commit()  # a read opens no transaction: nothing to commit, nothing to roll back
    assert sum(handoffs.values()) == 1, handoffs
    handoffs.clear()
    async with sqlite_db.sessionmaker() as session:
        await session.execute(insert(ProcessedUpdate).values(update_id=1, processed_at=NOW, failed=False))
        await session.commit()
    assert sum(handoffs.values()) == 2 and handoffs["commit"] == 1, handoffs  # no rollback after the commit


async def test_the_processed_update_mark_commits_in_its_own_trip(sqlite_db: Database, handoffs: Counter[str]) -> None:
    async with sqlite_db.sessionmaker() as session:
        await session.scalar(select(func.count()).select_from(Member))  # warm: pool connection, pragmas
        await session.commit()
    handoffs.clear()
    async with sqlite_db.sessionmaker() as session:
        await session.execute(insert(ProcessedUpdate).values(update_id=1, processed_at=NOW, failed=False))
        assert await updates_repo.claim(session, update_id=2, at=NOW, then_commit=True)
        await session.commit()
    assert sum(handoffs.values()) == 2 and handoffs["commit"] == 0, handoffs
    handoffs.clear()
    async with sqlite_db.sessionmaker() as session:  # already marked: nothing committed, the write rolled back
        await session.execute(insert(ProcessedUpdate).values(update_id=3, processed_at=NOW, failed=False))
        assert not await updates_repo.claim(session, update_id=2, at=NOW, then_commit=True)
        await session.rollback()
    async with sqlite_db.sessionmaker() as session:
        assert sorted(await session.scalars(select(ProcessedUpdate.update_id))) == [1, 2]
        await session.execute(insert(ProcessedUpdate).values(update_id=4, processed_at=NOW, failed=False))
        assert await updates_repo.claim(session, update_id=5, at=NOW, then_commit=True)
        await session.commit()
        await session.execute(insert(ProcessedUpdate).values(update_id=6, processed_at=NOW, failed=False))
        await session.commit()  # the writer gate was given back with the commit on the driver thread
    async with sqlite_db.sessionmaker() as session:
        assert sorted(await session.scalars(select(ProcessedUpdate.update_id))) == [1, 2, 4, 5, 6]


async def test_adapter_rows_rowcount_lastrowid_and_executemany(sqlite_db: Database) -> None:
    created = await _add_members(sqlite_db, "甲", "乙", "丙")
    assert all(m.id is not None for m in created)  # lastrowid reaches the ORM
    async with sqlite_db.session() as session:
        result = await session.execute(update(Member).where(Member.name.in_(["甲", "乙"])).values(sector="教育界"))
        assert affected_rows(result) == 2
        names = list(await session.scalars(select(Member.name).order_by(Member.id)))
        assert names == ["甲", "乙", "丙"]
        await session.execute(  # executemany
            insert(ProcessedUpdate), [{"update_id": i, "processed_at": NOW, "failed": False} for i in range(5)]
        )
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 5
        streamed = [row async for row in await session.stream_scalars(select(Member.name).order_by(Member.id))]
        assert streamed == names  # server-side cursors keep the stock implementation
        assert (await session.execute(text("SELECT 1 WHERE 0"))).first() is None


async def test_adapter_errors_savepoints_and_rollback(sqlite_db: Database) -> None:
    await _add_members(sqlite_db, "甲")
    async with sqlite_db.sessionmaker() as session:
        await session.execute(insert(ProcessedUpdate).values(update_id=1, processed_at=NOW, failed=False))
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await session.execute(insert(ProcessedUpdate).values(update_id=1, processed_at=NOW, failed=True))
        await session.execute(insert(ProcessedUpdate).values(update_id=2, processed_at=NOW, failed=False))
        await session.rollback()
    async with sqlite_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
        await session.execute(insert(ProcessedUpdate).values(update_id=3, processed_at=NOW, failed=False))
    async with sqlite_db.session() as session:
        assert list(await session.scalars(select(ProcessedUpdate.update_id))) == [3]
        await session.execute(delete(ProcessedUpdate))
    async with sqlite_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_groups_are_loaded_only_on_request(sqlite_db: Database) -> None:
    await _add_members(sqlite_db, "甲")
    async with sqlite_db.session() as session:
        member = await members_repo.get_by_telegram_id(session, telegram_id=7000)
        assert member is not None
        with pytest.raises(Exception, match="raise"):
            _ = member.groups  # the per-update lookup does not load them
        listed = await members_repo.list_members(session)
        assert listed[0].group_names == ["一组"]  # the same identity, now with its groups
        assert await session.scalar(select(func.count()).select_from(MemberGroup)) == 1


async def test_member_with_pending_drafts(db: Database) -> None:
    ann, bob, cat = await _add_members(db, "甲", "乙", "丙")
    async with db.session() as session:
        await proposals_repo.start_draft(session, member_id=bob.id, step="content", data={}, now=NOW)
        await proposals_repo.start_draft(
            session, member_id=bob.id, step="answer", data={}, now=NOW + timedelta(minutes=1), kind="review"
        )
        await broadcast_drafts.save(session, member_id=cat.id, step="text", data={}, now=NOW)
        await proposals_repo.start_draft(session, member_id=cat.id, step="title", data={}, now=NOW)
    async with db.session() as session:
        assert await pending.member_with_pending(session, telegram_id=1, now=NOW) == (None, pending.NOTHING_PENDING)
        found, nothing = await pending.member_with_pending(session, telegram_id=ann.telegram_id or 0, now=NOW)
        assert found is not None and found.id == ann.id and nothing == pending.NOTHING_PENDING
        found, bobs = await pending.member_with_pending(session, telegram_id=bob.telegram_id or 0, now=NOW)
        newest = (await proposals_repo.member_drafts(session, telegram_id=bob.telegram_id or 0))[0]
        assert found is not None and found.id == bob.id and bobs.broadcast_step is None
        assert bobs.proposal == pending.ProposalPending(newest.id, "review", "answer")
        found, cats = await pending.member_with_pending(session, telegram_id=cat.telegram_id or 0, now=NOW)
        assert cats.broadcast_step == "text"
        assert cats.broadcast_step == await broadcast_drafts.step_for_telegram(session, telegram_id=7002)
        assert cats.proposal is not None and (cats.proposal.kind, cats.proposal.step) == ("proposal", "title")
