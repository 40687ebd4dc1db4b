"""Migrations: up, down and up again on both backends, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from store.db import Database, alembic_config
from store.models import Base


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        assert await database.current_revision() == _head()
        await database.downgrade("base")
        assert await database.current_revision() is None

        def _tables(conn: Connection) -> set[str]:
            return set(inspect(conn).get_table_names())

        async with database.engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await database.upgrade()
        async with database.engine.connect() as conn:
            assert set(Base.metadata.tables) <= await conn.run_sync(_tables)
    finally:
        await database.dispose()


async def test_models_match_migrations(db: Database) -> None:
    def _diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_anti_gaming_migration_keeps_data_and_one_open_dispute_per_entry(database_url: str) -> None:
    """Data from before 0007 survives it (no table rebuild cascading on SQLite), and of two open disputes on
    one entry (possible before 0007) the oldest stays open."""
    from datetime import UTC, date, datetime

    from sqlalchemy import text

    at, day = datetime(2026, 11, 26, 2, 0, tzinfo=UTC), date(2026, 11, 26)
    database = Database(database_url)
    try:
        await database.upgrade("0006_member_blocked")
        async with database.engine.begin() as conn:
            await conn.execute(text("INSERT INTO members (id, name, sector, district, role, active, created_at, "
                                    "updated_at) VALUES (1, '张明', '', '', 'member', true, :at, :at)"), {"at": at})
            await conn.execute(text(
                "INSERT INTO credit_events (id, code, title, rule_id, starts_at, ends_at, points, created_at) "
                "VALUES (1, 'HY01', '学习会', 'meeting', :at, :at, 5, :at)"), {"at": at})
            await conn.execute(text(
                "INSERT INTO credit_event_checkins (id, event_id, member_id, at, method, out_of_radius) "
                "VALUES (1, 1, 1, :at, 'code', false)"), {"at": at})
            await conn.execute(text(
                "INSERT INTO credit_entries (id, member_id, rule_id, source_type, source_id, activity_date, at, "
                "requested_points, points, rules_version, created_at) VALUES "
                "(1, 1, 'meeting', 'event', '1', :day, :at, 5, 5, 'v', :at)"), {"at": at, "day": day})
            for n in (1, 2):
                await conn.execute(text("INSERT INTO credit_disputes (id, entry_id, member_id, status, created_at) "
                                        "VALUES (:id, 1, 1, 'open', :at)"), {"id": n, "at": at})
        await database.upgrade()
        async with database.engine.connect() as conn:
            disputes = (await conn.execute(text("SELECT id, status FROM credit_disputes ORDER BY id"))).all()
            checkins = (await conn.execute(text("SELECT count(*) FROM credit_event_checkins"))).scalar()
            events = (await conn.execute(text("SELECT require_location FROM credit_events"))).all()
            entries = (await conn.execute(text("SELECT reverses_id FROM credit_entries"))).all()
        assert [tuple(r) for r in disputes] == [(1, "open"), (2, "duplicate")]
        assert checkins == 1 and [bool(r[0]) for r in events] == [False] and [r[0] for r in entries] == [None]
        await database.downgrade("0006_member_blocked")
        async with database.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM credit_disputes"))).scalar() == 2
            assert (await conn.execute(text("SELECT count(*) FROM credit_event_checkins"))).scalar() == 1
    finally:
        await database.dispose()
