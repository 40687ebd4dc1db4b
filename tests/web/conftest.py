"""Fixtures for the console: the ASGI app over the test database, a controlled clock, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from handlers.context import Services
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from store import console as console_repo
from store.models import Member
from web.app import create_app
from web.state import Console, ConsoleConfig

BASE = "http://console.test"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, **kwargs: float) -> None:
        delta = timedelta(**kwargs)
        self.now += delta
        self.mono += delta.total_seconds()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    config = KnowledgeConfig(persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.1))
    return KnowledgeBase.open(config, embedder=HashEmbedder())


@pytest.fixture
def console(services: Services, settings: object, clock: Clock, tmp_path: Path) -> Console:
    config = ConsoleConfig(data_dir=tmp_path / "data", public_url=BASE, bot_username="cppcc_test_bot")
    return Console(db=services.db, config=config, knowledge=None, clock=clock, monotonic=clock.monotonic)


@pytest.fixture
def make_client(console: Console) -> Callable[..., httpx.AsyncClient]:
    app = create_app(console)

    def make(base_url: str = BASE) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=False)

    return make


@pytest.fixture
async def client(make_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as c:
        yield c


async def new_link(console: Console, member: Member) -> str:
    """The token part of a fresh sign-in link (as /console would send it)."""
    async with console.db.session() as session:
        url = await console_repo.issue_link(session, member=member, configured_secret=None, base_url=BASE,
                                            now=console.clock(), via="test")
    assert url is not None
    return url.split("?t=", 1)[1]


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


@dataclass
class SignedIn:
    client: httpx.AsyncClient
    csrf: str
    member: Member

    async def post(self, url: str, data: dict[str, str] | None = None, **kwargs: object) -> httpx.Response:
        return await self.client.post(url, data={"csrf": self.csrf, **(data or {})}, **kwargs)  # type: ignore[arg-type]  # httpx kwargs pass through


@pytest.fixture
def sign_in(console: Console) -> Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]:
    async def go(client: httpx.AsyncClient, member: Member) -> SignedIn:
        token = await new_link(console, member)
        response = await client.post("/console/login", data={"t": token})
        assert response.status_code == 303, response.text
        home = await client.get("/console/")
        assert home.status_code == 200
        return SignedIn(client, csrf_of(home.text), member)

    return go


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[Member]]]) -> dict[str, Member]:
    found = await roster(
        {"name": "张明", "telegram_id": 1001},
        {"name": "李干事", "telegram_id": 9001, "role": "staff"},
        {"name": "赵主任", "telegram_id": 9002, "role": "admin"},
        {"name": "钱把关", "telegram_id": 9003, "role": "reviewer"},
        {"name": "陈静", "phone": "13800000003"},
    )
    return dict(zip(("member", "staff", "admin", "reviewer", "unbound"), found, strict=True))
