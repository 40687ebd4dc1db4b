"""If the fast SQLite adapter cannot be built (a future SQLAlchemy), the stock adapter is used instead."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from sqlalchemy import text

from store.db import Database


async def test_stock_adapter_is_used_when_the_fast_one_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = types.ModuleType("store.sqlite_async")  # no one_trip_dbapi: the import fails
    monkeypatch.setitem(sys.modules, "store.sqlite_async", broken)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        assert "stock aiosqlite adapter" in caplog.text
        await database.upgrade()
        async with database.session() as session:
            assert (await session.execute(text("select count(*) from members"))).scalar_one() == 0
    finally:
        await database.dispose()


async def test_fast_adapter_is_used_by_default(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'y.sqlite3'}")
    try:
        assert type(database.engine.dialect.dbapi).__name__ == "OneTripDBAPI"
    finally:
        await database.dispose()
