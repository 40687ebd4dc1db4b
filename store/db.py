"""Engine, sessions and migrations. One ``Database`` per process, built from a SQLAlchemy URL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import Delete

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Map plain URLs to the async drivers we ship (``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _one_trip_module() -> Any | None:
    """The faster aiosqlite adapter (``store.sqlite_async``), or None to use SQLAlchemy's stock one.

    The adapter builds on SQLAlchemy's aiosqlite dialect classes; should a future SQLAlchemy lay them out
    differently, the stock adapter is used (slower, same behaviour) instead of failing to start.
    """
    try:
        from store.sqlite_async import one_trip_dbapi

        return one_trip_dbapi()
    except (ImportError, AttributeError) as exc:
        log.warning("fast SQLite adapter unavailable (%s); using SQLAlchemy's stock aiosqlite adapter", exc)
        return None


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


class Database:
    """Owns the async engine; hands out sessions, one unit of work each."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["poolclass"] = NullPool if parsed.database in (None, "", ":memory:") else None
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            if parsed.drivername == "sqlite+aiosqlite" and (module := _one_trip_module()) is not None:
                kwargs["module"] = module  # one driver-thread hand-off per statement
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to ``revision`` (the default start-up path)."""
        await self._run_alembic(lambda cfg: command.upgrade(cfg, revision))

    async def downgrade(self, revision: str) -> None:
        await self._run_alembic(lambda cfg: command.downgrade(cfg, revision))

    async def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        def _current(conn: Connection) -> str | None:
            return MigrationContext.configure(conn).get_current_revision()

        async with self.engine.connect() as conn:
            return await conn.run_sync(_current)

    async def _run_alembic(self, fn: Any) -> None:
        def _run(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            fn(cfg)

        async with self.engine.begin() as conn:
            await conn.run_sync(_run)

    async def dispose(self) -> None:
        await self.engine.dispose()


_WROTE = "cppcc.wrote"  # Session.info key: the open transaction has executed a write


@event.listens_for(Session, "do_orm_execute")
def _note_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: UOWTransaction) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writes(session: Session) -> None:
    session.info.pop(_WROTE, None)


def has_writes(session: AsyncSession) -> bool:
    """Whether the session's open transaction holds writes (executed, or pending in the identity map).

    A transaction with reads only can end without a commit that matters; one with writes must commit.
    """
    sync = session.sync_session
    if sync.info.get(_WROTE):
        return True
    return bool(sync.new or sync.deleted) or any(sync.is_modified(obj) for obj in sync.dirty)


def affected_rows(result: Result[Any]) -> int:
    """Rows matched by an UPDATE, DELETE or INSERT (``session.execute`` types every result as a plain Result)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of a DML statement: {type(result).__name__}")
    return int(result.rowcount or 0)


async def delete_as_read(
    session: AsyncSession, row: object, statement: Delete, params: dict[str, Any] | None = None
) -> bool:
    """Run ``statement``, a DELETE of ``row`` matching what was read (id, step, last change): False when
    another transaction (a second tap, perhaps on another worker) consumed or changed the row first. On
    PostgreSQL the DELETE waits for that transaction and then matches nothing; the caller records nothing
    then. Call it in the transaction of the effect, before the effect. A statement built once with bound
    parameters (``params``) skips building and hashing the statement on every tap."""
    result = await session.execute(statement.execution_options(synchronize_session=False), params)
    if affected_rows(result) != 1:
        return False
    if row in session:
        session.expunge(row)  # the row is gone; its loaded fields stay readable
    return True


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for PostgreSQL and in-memory databases."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copy a live SQLite database (WAL) to ``target`` with the online backup API: a consistent snapshot.

    The copy is one backup step inside one read transaction, so it is a single committed state; in WAL
    mode writers keep working meanwhile (a copy made in many small steps would restart on every
    write by another connection and might never finish under load). ``target`` is written next to
    itself first and renamed, so a half-written backup never carries the final name.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)  # only read from; an existing file (checked above)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        finally:
            dst.close()
    finally:
        src.close()
    partial.replace(target)
    return target


def run_sync(coro: Any) -> Any:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)
