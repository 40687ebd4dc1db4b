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
