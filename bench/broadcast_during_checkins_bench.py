"""A broadcast while members check in (issue #12, item 5): ``python -m bench.broadcast_during_checkins_bench``.

``--recipients`` members (3,000) get a notice from the running bot's own sender while ``--checkins``
members (300, among them) send the meeting's check-in code over ``--seconds`` (60 s: 5 a second). The
bot is the production combination (``build_application``: one shared rate limiter, replies first;
long polling over HTTP) against the HTTP fake Bot API on 127.0.0.1 answering each call after
``--latency`` seconds (100 ms). Figures: the members' reply waits (from the update being queued to the
bot's first reply that is not the notice) and the broadcast's overall rate (notices per second from the
first to the last). Targets: replies p95 ≤ 2 s, broadcast ≥ 24 msg/s.

Measured (2-core shared machine, SQLite): replies median 0.17 s, p95 0.24 s; broadcast 26.7 msg/s overall,
24.7 msg/s while the check-ins ran (one reply per check-in: 30 - 5 = 25 left). An earlier run on a more
loaded machine: p95 0.48 s, 26.3 msg/s.
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
from pathlib import Path
from typing import Any

from telegram.request import HTTPXRequest

from bench.rush_bench import EVENT_CODE, attendances, bench_settings, seed_event_members, start_polling, stop_polling
from bot.app import build_application
from bot.localapi import JSONDict, LocalBotApi, Upload
from bot.services import build_services
from handlers.broadcast import kick, wait_idle
from handlers.broadcast_sender import BroadcastConfig
from store.broadcasts import outbox
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi

FIRST_MEMBER = 300_001
NOTICE = "委员您好：请于下周一上午 9:00 参加常委会会议，会议材料已上传至履职平台。"


class TimedApi(LocalBotApi):
    """Times the notices, and each checking-in member's first other message after their update."""

    def __init__(self) -> None:
        super().__init__(bot_username="cppcc_rush_bot")
        self.notices: list[float] = []
        self.asked_at: dict[int, float] = {}
        self.replied_at: dict[int, float] = {}
        self.all_replied = asyncio.Event()
        self.first_notice = asyncio.Event()
        self.expected = 0

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        status, body = await super().call(method, params, files)
        if method == "sendMessage" and status == 200 and params is not None:
            now = time.perf_counter()
            chat = int(str(params.get("chat_id")))
            if NOTICE in str(params.get("text", "")):
                self.notices.append(now)
                self.first_notice.set()
            elif chat in self.asked_at and chat not in self.replied_at:
                self.replied_at[chat] = now
                if len(self.replied_at) == len(self.asked_at) and self.expected == len(self.asked_at):
                    self.all_replied.set()
        return status, body


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def run(recipients: int, checkins: int, seconds: float, *, latency: float,
              database_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cppcc-bcci-") as tmp:
        api = TimedApi()
        api.expected = checkins
        fake = FakeBotApi(latency=latency)
        fake.api = api
        base_url = await fake.start_http()
        settings = bench_settings(Path(tmp) / "data", database_url, base_url, quiet_hours_default="00:00-00:00")
        services = build_services(settings, with_knowledge=False)
        await services.db.upgrade()
        users = await seed_event_members(services, recipients, first=FIRST_MEMBER)
        async with services.db.session() as session:
            await outbox.create(session, new=outbox.NewBroadcast(text=NOTICE, audience=[{}], urgent=True),
                                now=utcnow(), tz=services.tz, defaults=services.config(BroadcastConfig).defaults)
        app = build_application(settings, services, request=HTTPXRequest(connection_pool_size=256),
                                get_updates_request=HTTPXRequest(connection_pool_size=1))
        await start_polling(app)
        try:
            kick(app)  # the sender pass the JobQueue tick would start
            await asyncio.wait_for(api.first_notice.wait(), timeout=60)
            started = time.perf_counter()
            step = seconds / checkins
            for n, user in enumerate(users[:checkins]):  # spread over the minute, as members arrive
                await asyncio.sleep(max(0.0, started + n * step - time.perf_counter()))
                fake.user_sends(user, f"EVT-{EVENT_CODE}")
                api.asked_at[user] = time.perf_counter()
            await asyncio.wait_for(api.all_replied.wait(), timeout=120)
            await asyncio.wait_for(wait_idle(app), timeout=600)
        finally:
            await stop_polling(app)
            await fake.stop_http()
        checked_in = await attendances(database_url, Path(tmp) / "data")
    waits = [api.replied_at[u] - api.asked_at[u] for u in api.asked_at]
    span = api.notices[-1] - api.notices[0] if len(api.notices) > 1 else 0.0
    during = [t for t in api.notices if t <= max(api.replied_at.values())]
    during_span = (during[-1] - during[0]) if len(during) > 1 else 0.0
    return {"notices": len(api.notices), "rate": (len(api.notices) - 1) / span if span else 0.0,
            "rate_during": (len(during) - 1) / during_span if during_span else 0.0,
            "answered": len(waits), "checked_in": checked_in,
            "median": statistics.median(waits), "p95": _p95(waits), "max": max(waits)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--checkins", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each Bot API answer")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server = None
    if "postgresql" in args.backend:
        from tests.support.pgserver import PgServer

        server = PgServer.start()
    try:
        for backend in args.backend:
            for run_no in range(args.runs):
                url = server.create_database(f"bcci_{run_no}") if backend == "postgresql" and server else None
                fig = asyncio.run(run(args.recipients, args.checkins, args.seconds, latency=args.latency,
                                      database_url=url))
                print(f"{backend:10s} broadcast to {args.recipients} while {args.checkins} check in over "
                      f"{args.seconds:.0f} s: replies {fig['answered']:.0f} (checked in {fig['checked_in']:.0f}), "
                      f"wait median {fig['median']:.2f} s, p95 {fig['p95']:.2f} s, max {fig['max']:.2f} s; "
                      f"broadcast {fig['notices']:.0f} notices at {fig['rate']:.1f} msg/s overall "
                      f"({fig['rate_during']:.1f} msg/s while the check-ins ran; "
                      f"latency {args.latency * 1000:.0f} ms per Bot API call)", flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
