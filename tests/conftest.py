"""Shared fixtures: no network, settings, a migrated database, roster factory, the real Application.

Write handler tests as dialogues with the ``chat`` fixture (see tests/fakes/dialogue.py)::

    async def test_help(chat, roster):
        await roster({"name": "张明", "telegram_id": 1001})
        replies = await chat.send(1001, "/help")
        assert texts.HELP_MEMBER_HEAD in replies.text
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.app import FEATURES, build_application
from bot.localapi import running_without_updater
from bot.services import build_services
from bot.settings import Settings
from handlers.context import BotApplication, Services
from handlers.rate_limit import TimeSource, VirtualTime
from handlers.registry import Feature
from store import members as members_repo
from store.db import Database
from store.models import Member, Role
from store.roster import RosterRow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, record_error
from tests.support.clock import TestClock
from tests.support.dbfixtures import database_url, db, pg_server, pg_url
from tests.support.pgserver import PgServer

# Registered here (not in a sub-directory conftest) so the session PostgreSQL server starts once.
__all__ = ["database_url", "db", "pg_server", "pg_url"]

STAFF_CHAT_ID = -1_009_999_000_001
DB_FILE = "cppcc.sqlite3"

# ---- no network ----------------------------------------------------------------------------------

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "", "0.0.0.0", "::"}


def _is_local(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").lower().split("%", 1)[0]
    if host in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _address_is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a unix socket path
        return True
    return isinstance(address, tuple) and bool(address) and _is_local(address[0])


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any test that tries to reach a non-loopback address (even if the code swallows the error)."""
    attempts: list[str] = []

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return ConnectionRefusedError(f"network access blocked in tests: {what}")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family != getattr(socket, "AF_UNIX", None) and not _address_is_local(address):
            raise refuse(f"connect {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family != getattr(socket, "AF_UNIX", None) and not _address_is_local(address):
            raise refuse(f"connect_ex {address!r}")
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _address_is_local(address):
            raise refuse(f"create_connection {address!r}")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise refuse(f"getaddrinfo {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"test tried to use the network: {attempts}"


# ---- settings and database ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / DB_FILE

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await db.upgrade()
        finally:
            await db.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: a fresh data dir with a SQLite file, no token, a staff chat."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=None,
        telegram_bot_token=None,
        telegram_api_base_url=None,
        bot_username=None,
        staff_chat_id=STAFF_CHAT_ID,
        webhook_url=None,
        webhook_secret=None,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> tuple[PgServer, str]:
    """A PostgreSQL database migrated to head once per session; each test gets ``CREATE DATABASE … TEMPLATE``."""
    name = f"tmpl_{os.getpid()}"
    url = pg_server.create_database(name)

    async def migrate() -> None:
        db = Database(url)
        try:
            await db.upgrade()
        finally:
            await db.dispose()  # a template must have no open connections when it is copied

    asyncio.run(migrate())
    return pg_server, name


_pg_counter = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def backend(request: pytest.FixtureRequest) -> tuple[PgServer, str] | None:
    """The database backend of ``services``: None for SQLite, else (server, template database)."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_template")


async def _pg_admin(server: PgServer, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="postgres", database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def clock() -> TestClock:
    """The controlled clock installed in ``services`` (tests/support/clock.py); move it with set/advance."""
    return TestClock()


@pytest.fixture
async def services(
    settings: Settings, migrated_template: Path, backend: tuple[PgServer, str] | None, clock: TestClock
) -> AsyncIterator[Services]:
    """Services on a migrated database (SQLite file, and a ``pg`` copy on PostgreSQL), without the KB.

    Their clock is the test's controlled ``clock``, never the wall clock.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pg_name = None
    if backend is None:
        shutil.copyfile(migrated_template, settings.data_dir / DB_FILE)
    else:
        server, template = backend
        pg_name = f"h{os.getpid()}_{next(_pg_counter)}"
        await _pg_admin(server, f'CREATE DATABASE "{pg_name}" TEMPLATE "{template}"')
        settings.database_url = server.url_for(pg_name)
    services = build_services(settings, with_knowledge=False)
    services.clock = clock
    await services.db.upgrade()  # a no-op on the copied template; keeps the fixture honest
    yield services
    await services.db.dispose()
    if backend is not None and pg_name is not None:
        await _pg_admin(backend[0], f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


Person = Mapping[str, Any]


@pytest.fixture
def roster(services: Services) -> Callable[..., Awaitable[list[Member]]]:
    """``await roster({"name": "张明", "telegram_id": 1001}, {"name": "李干事", "role": "staff"})``.

    Imports the people through ``store.members.import_roster`` and returns their members in order
    (unbound ones carry an ``invite_code``).
    """

    async def add(*people: Person) -> list[Member]:
        rows = [
            RosterRow(
                line=n, name=p["name"], sector=p.get("sector", "经济界"), district=p.get("district", "城关区"),
                groups=tuple(p.get("groups", ())), role=Role(p.get("role", "member")),
                telegram_id=p.get("telegram_id"), phone=p.get("phone"),
            )
            for n, p in enumerate(people, start=2)
        ]
        async with services.db.session() as session:
            report = await members_repo.import_roster(session, rows=rows, now=services.clock())
        by_key = {(m.name, m.phone): m for m in report.created + report.updated}
        return [by_key[(r.name, r.phone)] for r in rows]

    return add


# ---- the application and the fake Bot API -------------------------------------------------------


@pytest.fixture
def fake() -> FakeBotApi:
    """The in-process fake Bot API (state shared with ``bot_app``)."""
    return FakeBotApi()


@pytest.fixture
async def app_factory(
    fake: FakeBotApi, settings: Settings, services: Services
) -> AsyncIterator[Callable[..., Awaitable[BotApplication]]]:
    """``await app_factory(features)`` → the real Application, initialised and started; stopped after.

    It is the production build (``run`` and ``webhook`` call the same ``build_application``), shared rate
    limiter included; only the limiter's clock is virtual (waits keep their order but end at once), or the
    ``limiter_time`` a test passes (``ManualTime``, to watch the order).
    """
    async with AsyncExitStack() as stack:

        async def make(features: Sequence[Feature] = FEATURES, limiter_time: TimeSource | None = None
                       ) -> BotApplication:
            app = build_application(settings, services, request=fake.request(),
                                    limiter_time=limiter_time or VirtualTime(), features=features)
            app.add_error_handler(record_error)
            await stack.enter_async_context(running_without_updater(app))
            return app

        yield make


@pytest.fixture
async def bot_app(app_factory: Callable[..., Awaitable[BotApplication]]) -> BotApplication:
    return await app_factory()


@pytest.fixture
def chat(fake: FakeBotApi, bot_app: BotApplication) -> Dialogue:
    """Dialogue with the default application: ``await chat.send(1001, "/help")``."""
    return Dialogue(fake, bot_app)


# ---- end to end ---------------------------------------------------------------------------------


@pytest.fixture
async def http_fake() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API served over HTTP on 127.0.0.1 (``http_fake.base_url``)."""
    from tests.fakes.process import E2E_TOKEN

    fake = FakeBotApi(token=E2E_TOKEN)
    await fake.start_http()
    try:
        yield fake
    finally:
        await fake.stop_http()
