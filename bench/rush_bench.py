"""The check-in rush (issue #12): ``python -m bench.rush_bench [--members 300 1000] [--backend sqlite postgresql]``.

N members send the check-in code of a plenary meeting within the same second. The bot is the production
combination: ``build_application`` with the shared rate limiter (``handlers/rate_limit.py``: 30 messages/s
overall, about 1/s per chat) and the ``ChatOrderedUpdateProcessor``,
long polling over HTTP (``HTTPXRequest``) an HTTP fake Bot API on 127.0.0.1 that answers each call after
``--latency`` seconds (100 ms: a real Bot API server is that far away). A member's wait is from the
moment the update is queued at the fake to the bot's first reply in that chat.

Telegram's ~30 messages per second make 10 s the floor for 300 replies. Targets: 300 members p95 ≤ 12 s,
1,000 members p95 ≤ 40 s, on SQLite and on PostgreSQL (a throw-away server, as the tests start it).
Before issue #12 (one update at a time, a transaction across each reply): 300 members, median 16.9 s,
p95 31.8 s. After (2-core shared machine, one run each): SQLite 300 members median 4.4 s, p95 8.9 s;
1,000 members median 16.6 s, p95 31.4 s. PostgreSQL 300: median 4.7 s, p95 9.2 s; 1,000: median 16.5 s,
p95 31.5 s. Every member answered and checked in once. With the shared limiter (issue #12 item 5, which
never exceeds 30 in any second, where PTB's ``AIORateLimiter`` let ~32/s through): SQLite 300 members,
3 runs, median wait 5.4 s, p95 9.9 s (PTB's limiter on the same machine minutes apart: p95 9.0 s).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram.request import HTTPXRequest

from bench.load_bench import seed_members
from bot.app import build_application
from bot.localapi import JSONDict, LocalBotApi, Upload
from bot.services import build_services
from bot.settings import Settings
from handlers.context import BotApplication, Services
from store.credits import events as events_repo
from store.credits.rules import default_rules
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi

FIRST_MEMBER = 200_001
TOKEN = "123456:RUSH-BENCH-TOKEN-NOT-USED-ANYWHERE-ELSE"
EVENT_CODE = "RUSH"


class TimedApi(LocalBotApi):
    """Records when each chat got its first successful ``sendMessage``."""

    def __init__(self) -> None:
        super().__init__(bot_username="cppcc_rush_bot")
        self.first_reply: dict[int, float] = {}
        self.replied = asyncio.Event()
        self.expected = 0

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        status, body = await super().call(method, params, files)
        if method == "sendMessage" and status == 200 and params is not None:
            chat = int(str(params.get("chat_id")))
            if chat not in self.first_reply:
                self.first_reply[chat] = time.perf_counter()
                if len(self.first_reply) >= self.expected:
                    self.replied.set()
        return status, body


def bench_settings(data_dir: Path, database_url: str | None, base_url: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir, database_url=database_url, telegram_bot_token=TOKEN, telegram_api_base_url=base_url,
        bot_username="cppcc_rush_bot", staff_chat_id=None, webhook_url=None, webhook_secret=None,
        log_level="WARNING", embedder="hash", starter_kb=False, **extra,
    )


async def seed_event_members(services: Services, members: int, *, first: int = FIRST_MEMBER) -> list[int]:
    """The members, and the plenary meeting whose code they all send (open for the next three hours)."""
    users = await seed_members(services, members, first=first)
    now = utcnow()
    rules = default_rules()
    async with services.db.session() as session:
        spec = events_repo.EventSpec(title="全体会议", rule_id=next(iter(rules.event_types())),
                                     starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=3),
                                     code=EVENT_CODE)
        await events_repo.create_event(session, rules=rules, spec=spec, creator=None, now=now)
    return users


async def rush(members: int, *, database_url: str | None, latency: float) -> dict[str, float]:
    """One rush on a fresh database: the members' waits in seconds (median, p95, max) and totals."""
    with tempfile.TemporaryDirectory(prefix="cppcc-rush-") as tmp:
        api = TimedApi()
        api.expected = members
        fake = FakeBotApi(latency=latency)
        fake.api = api
        base_url = await fake.start_http()
        settings = bench_settings(Path(tmp) / "data", database_url, base_url)
        services = build_services(settings, with_knowledge=False)
        await services.db.upgrade()
        users = await seed_event_members(services, members)
        app = build_application(settings, services, request=HTTPXRequest(connection_pool_size=256),
                                get_updates_request=HTTPXRequest(connection_pool_size=1))
        await start_polling(app)
        try:
            sent_at: dict[int, float] = {}
            for user in users:  # all within the same second (well within: a few milliseconds)
                fake.user_sends(user, f"EVT-{EVENT_CODE}")
                sent_at[user] = time.perf_counter()
            started = min(sent_at.values())
            await asyncio.wait_for(api.replied.wait(), timeout=60 + members * 0.5)
            finished = time.perf_counter()
            waits = sorted(api.first_reply[u] - sent_at[u] for u in users)
        finally:
            await stop_polling(app)
            await fake.stop_http()
        checked_in = await attendances(database_url, Path(tmp) / "data")
    p95 = waits[max(0, round(0.95 * len(waits)) - 1)]
    return {"members": members, "answered": len(waits), "checked_in": checked_in,
            "median": statistics.median(waits), "p95": p95, "max": waits[-1],
            "all_answered_after": finished - started}


async def start_polling(app: BotApplication) -> None:
    """Start the app as ``run`` does: initialise, post_init, long polling, start."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=10)
    await app.start()


async def stop_polling(app: BotApplication) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def attendances(database_url: str | None, data_dir: Path) -> int:
    from sqlalchemy import func, select

    from store.db import Database
    from store.models import EventAttendance

    db = Database(database_url or f"sqlite+aiosqlite:///{data_dir / 'cppcc.sqlite3'}")
    try:
        async with db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(EventAttendance)) or 0)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each Bot API answer")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    server = None
    if "postgresql" in args.backend:
        from tests.support.pgserver import PgServer

        server = PgServer.start()
    try:
        for backend in args.backend:
            for n in args.members:
                for run in range(args.runs):
                    url = server.create_database(f"rush_{n}_{run}") if backend == "postgresql" and server else None
                    fig = asyncio.run(rush(n, database_url=url, latency=args.latency))
                    print(f"{backend:10s} {n:5d} members: answered {fig['answered']:.0f}, checked in "
                          f"{fig['checked_in']:.0f}; wait median {fig['median']:.1f} s, p95 {fig['p95']:.1f} s, "
                          f"max {fig['max']:.1f} s (latency {args.latency * 1000:.0f} ms per Bot API call)",
                          flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
