"""``cppcc-bot db backup``: a consistent copy of the live SQLite database; PostgreSQL points to pg_dump."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import cli
from store.db import Database


def _writer(path: Path, stop: threading.Event, written: list[int]) -> None:
    """Writes pairs of rows, one transaction each, until told to stop (a bot under load)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO tick_a (n, pad) VALUES (?, ?)", (n, "x" * 500))
            conn.execute("INSERT INTO tick_b (n) VALUES (?)", (n,))
            conn.execute("COMMIT")
            written.append(n)
    finally:
        conn.close()


def _wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)  # polling a condition with a deadline


def test_backup_while_another_connection_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    db_file = data_dir / "cppcc.sqlite3"

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{db_file}")
        try:
            await db.upgrade()
        finally:
            await db.dispose()

    asyncio.run(migrate())  # WAL mode, the real schema
    with sqlite3.connect(db_file) as conn:
        conn.execute("CREATE TABLE tick_a (n INTEGER PRIMARY KEY, pad TEXT)")
        conn.execute("CREATE TABLE tick_b (n INTEGER PRIMARY KEY)")
    stop, written = threading.Event(), list[int]()
    writer = threading.Thread(target=_writer, args=(db_file, stop, written), daemon=True)
    writer.start()
    try:
        _wait_for(lambda: len(written) >= 200)
        target = tmp_path / "copies" / "snapshot.sqlite3"
        assert cli.main(["--data-dir", str(data_dir), "db", "backup", str(target)]) == 0
        before_backup_returned = len(written)
        _wait_for(lambda: len(written) >= before_backup_returned + 50)  # writers were never blocked for good
    finally:
        stop.set()
        writer.join(timeout=30)
    assert capsys.readouterr().out.strip() == str(target.resolve())
    assert not target.with_name(target.name + ".partial").exists()

    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        a = [n for (n,) in copy.execute("SELECT n FROM tick_a ORDER BY n")]
        b = [n for (n,) in copy.execute("SELECT n FROM tick_b ORDER BY n")]
        version = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        copy.close()
    # One committed state: every transaction is in the copy whole or not at all, without gaps.
    assert a == b == list(range(1, len(a) + 1))
    assert 200 <= len(a) <= before_backup_returned < len(written)
    assert version is not None
    # The live database went on and holds everything.
    with sqlite3.connect(db_file) as live:
        assert live.execute("SELECT count(*) FROM tick_b").fetchone() == (len(written),)


def test_backup_default_name_in_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "cppcc.sqlite3") as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (42)")
    assert cli.main(["--data-dir", str(data_dir), "db", "backup"]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.parent == (data_dir / "backups").resolve() and printed.name.startswith("cppcc-")
    with sqlite3.connect(printed) as copy:
        assert copy.execute("SELECT x FROM t").fetchall() == [(42,)]


def test_backup_without_a_database_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["--data-dir", str(tmp_path / "empty"), "db", "backup"]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "cppcc.sqlite3").exists()  # nothing was created by the attempt


def test_backup_on_postgresql_points_to_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://cppcc:secret@db.internal/cppcc")
    assert cli.main(["--data-dir", str(tmp_path / "data"), "db", "backup"]) == 2
    captured = capsys.readouterr()
    assert "pg_dump" in captured.err and captured.out == ""
    assert "secret" not in captured.err
