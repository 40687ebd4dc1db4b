"""SQLAlchemy's aiosqlite adapter with one trip to the driver thread per statement.

aiosqlite runs every sqlite3 call on its own thread; each call is a hand-off (a queue put, a wake-up
of that thread, a ``call_soon_threadsafe`` back to the event loop). SQLAlchemy's stock adapter makes
three or four of them per statement (create cursor, execute, fetchall, close), and one more for the
connection pool's rollback when a session ends even though its transaction was already committed.
Those hand-offs were most of the CPU spent per update (issue #7).

This module keeps the stock dialect, URL (``sqlite+aiosqlite``), pool and exception mapping, and
swaps only the adapted cursor and connection (through ``create_async_engine(module=...)``):

- a statement runs as one function on the driver thread: cursor, execute, fetch every row, close;
  SQLAlchemy reads the buffered rows, ``description``, ``rowcount`` and ``lastrowid`` afterwards,
  exactly as the stock (buffered) cursor lets it;
- ``commit``/``rollback`` with no transaction open are skipped: sqlite3 itself does nothing then
  (it checks ``sqlite3_get_autocommit`` first), so only the hand-off is saved;
- an ``INSERT`` prefixed with ``COMMIT_IF_INSERTED`` (the processed-update mark, the last statement of an
  update's transaction, followed at once by the session's commit) commits in its own trip when it
  inserted a row; the session's commit then finds nothing open. One trip less per update.

Writers take turns inside the process (issue #12): a statement that would open a write transaction first
waits for this engine's ``WriterGate`` (FIFO), released at commit or rollback. SQLite has one writer at
a time anyway; without the gate, concurrent updates contend in SQLite's busy handler, which polls with
sleeps of up to 100 ms, so the lock sits idle between writers and an unlucky one fails with ``database
is locked`` after the busy timeout. A writer that waits too long proceeds to that busy handler as before.

Server-side cursors (``stream``) keep the stock implementation. The adapter relies on the same
aiosqlite internals SQLAlchemy's own dialect already uses (``Connection._execute``, ``_conn``,
``_connection``); ``tests/unit/test_db_roundtrips.py`` pins the behaviour.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

_Outcome = tuple[Any, Sequence[Any], int, int | None]
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")  # what makes sqlite3 open a transaction (legacy mode)
GATE_TIMEOUT = 10.0  # seconds; then SQLite's own busy handler decides, as without the gate
# An INSERT carrying this prefix (``INSERT /* … */ INTO``) commits the transaction in the same trip when it
# inserted a row (``store.updates.claim(..., then_commit=True)``: the processed-update mark, written last).
COMMIT_IF_INSERTED = "/* commit if inserted */"
_COMMIT_IF_INSERTED = "INSERT " + COMMIT_IF_INSERTED


def _opens_write(operation: Any) -> bool:
    return isinstance(operation, str) and operation.lstrip()[:6].upper() in _WRITES


class WriterGate:
    """One write transaction at a time per engine, first come first served (an ``asyncio.Lock`` per loop)."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def acquire(self) -> asyncio.Lock | None:
        """The lock now held, or None when it could not be had within ``GATE_TIMEOUT``."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        lock = self._lock
        if not lock.locked():  # the common case: no task for a timeout, no hand-off
            await lock.acquire()
            return lock
        try:
            await asyncio.wait_for(lock.acquire(), GATE_TIMEOUT)
        except TimeoutError:
            return None
        return lock


def _run_statement(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On the driver thread: execute one statement and buffer everything SQLAlchemy will read."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        rowcount, lastrowid = cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()
    if rowcount == 1 and operation.startswith(_COMMIT_IF_INSERTED):
        conn.commit()  # the caller commits next: its commit then finds no transaction open (no trip)
    return description, rows, rowcount, lastrowid


def _run_many(conn: sqlite3.Connection, operation: str, seq_of_parameters: Any) -> _Outcome:
    """On the driver thread: ``executemany`` and its row count."""
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return cursor.description, (), cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor that holds no driver cursor: each statement is a single hand-off."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no hand-off here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # on purpose: this cursor holds no driver cursor
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # None before any INSERT, as in sqlite3

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return  # the driver cursor is already closed; the rows stay buffered

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(_run_statement, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(_run_many, operation, seq_of_parameters)

    async def _run(self, fn: Any, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]  # SQLAlchemy: any DB-API
        adapt = self._adapt_connection
        if isinstance(adapt, OneTripConnection) and adapt.gate_held is None and _opens_write(operation):
            driver: sqlite3.Connection | None = connection._connection
            if driver is not None and not driver.in_transaction:
                adapt.gate_held = await adapt.gate.acquire()
        async with self._adapt_connection._execute_mutex:
            # aiosqlite's private hand-off to its thread: one trip per statement
            outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]  # unannotated upstream
                fn, connection._conn, operation, parameters
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)
        if isinstance(adapt, OneTripConnection) and adapt.gate_held is not None and adapt._idle():
            adapt._release_gate()  # committed on the driver thread (COMMIT_IF_INSERTED)

    def nextset(self) -> None:
        return None  # sqlite3 has a single result set per statement


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Adapted connection using ``OneTripCursor``; commit/rollback skip the hand-off when idle."""

    __slots__ = ("gate", "gate_held")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any, gate: WriterGate | None = None) -> None:
        super().__init__(dbapi, connection)
        self.gate = gate or WriterGate()
        self.gate_held: asyncio.Lock | None = None  # the writer gate, held by this connection's transaction

    def _release_gate(self) -> None:
        held, self.gate_held = self.gate_held, None
        if held is not None and held.locked():
            held.release()

    def _idle(self) -> bool:
        """No transaction open on a live connection (sqlite3's commit/rollback would do nothing)."""
        driver: sqlite3.Connection | None = self._connection._connection
        return driver is not None and not driver.in_transaction

    def rollback(self) -> None:
        try:
            if not self._idle():
                super().rollback()
        finally:
            self._release_gate()

    def commit(self) -> None:
        try:
            if not self._idle():
                super().commit()
        finally:
            self._release_gate()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_gate()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim handing out ``OneTripConnection``s."""

    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self.gate = WriterGate()  # shared by every connection of the engine using this module

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection, self.gate)


def one_trip_dbapi() -> OneTripDBAPI:
    """The ``module=`` argument for ``create_async_engine`` on a ``sqlite+aiosqlite`` URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
