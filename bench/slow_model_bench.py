"""Questions to a slow model while members check in: ``python -m bench.slow_model_bench [--backend sqlite postgresql]``.

An OpenAI-compatible fake model on 127.0.0.1 answers each ``/v1/chat/completions`` after ``--think``
seconds (5 s). ``--askers`` members (20) ask a question answered from a one-document knowledge base
(the model writes the answer) at the same moment as ``--checkers`` others (100) send the meeting's
check-in code, all at once (as in rush_bench) or spread over ``--spread`` seconds. At once, Telegram's
30 messages/s alone put the 95th check-in reply at ≥ 2.2 s (30 at once, then 30 a second); spread over
5 s (20/s) the budget allows ≤ 2 s. The bot is the production combination (``build_application``: the
shared rate limiter, chats side by side; long polling over HTTP) against the HTTP fake Bot API answering
each call after ``--latency`` seconds (100 ms). A wait runs from the update being queued to the bot's
first message in that chat (for a question: the first that carries the model's answer). Targets:
check-ins p95 ≤ 2 s, questions p95 ≤ 8 s.

Measured (2-core shared machine, SQLite, 3 runs, medians): at once, check-ins p95 4.2 s (the budget's
floor is 2.2 s; the rest is the machine), questions p95 6.0 s; check-ins spread over 5 s: p95 1.1 s,
questions p95 6.4 s. Before answers got their own threads (``knowledge/service.py``), the loop's default
pool (6 threads on 2 cores) let 6 model calls run at a time: questions p95 20.8 s, check-ins p95 5-7 s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram.request import HTTPXRequest

from bench.rush_bench import EVENT_CODE, bench_settings, seed_event_members, start_polling, stop_polling
from bot.app import build_application
from bot.knowledge_wiring import open_knowledge_base
from bot.localapi import JSONDict, LocalBotApi, Upload
from bot.services import build_services
from tests.fakes.botapi import FakeBotApi

FIRST_MEMBER = 400_001
RULES = """标题：委员履职管理办法（试行） | 发布机关：本委员会办公室 | 版本：2026年

# 委员履职管理办法（试行）

第一条 为规范委员履职，制定本办法。

第二条 委员每年参加集中学习不少于四次，并按时完成学习打卡。
"""
QUESTION = "委员每年参加几次集中学习"
MODEL_REPLY = "委员每年参加集中学习不少于四次（《委员履职管理办法（试行）》第二条）。"


class SlowModel:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that answers after ``think`` seconds."""

    def __init__(self, think: float) -> None:
        self.think = think
        self.requests = 0
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        await asyncio.sleep(self.think)
        return web.json_response({
            "id": "chatcmpl-slow", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": MODEL_REPLY}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        })

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class TimedApi(LocalBotApi):
    """When each member got the reply that counts (a check-in's first message, a question's answer)."""

    def __init__(self) -> None:
        super().__init__(bot_username="cppcc_rush_bot")
        self.asked_at: dict[int, float] = {}
        self.askers: set[int] = set()
        self.replied_at: dict[int, float] = {}
        self.expected = 0
        self.all_replied = asyncio.Event()

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        status, body = await super().call(method, params, files)
        if method in ("sendMessage", "editMessageText") and status == 200 and params is not None:
            chat = int(str(params.get("chat_id")))
            counts = chat not in self.askers or "不少于四次" in str(params.get("text", ""))
            if chat in self.asked_at and chat not in self.replied_at and counts:
                self.replied_at[chat] = time.perf_counter()
                if len(self.replied_at) >= self.expected:
                    self.all_replied.set()
        return status, body


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _figures(waits: list[float]) -> dict[str, float]:
    return {"n": len(waits), "median": statistics.median(waits), "p95": _p95(waits), "max": max(waits)}


async def run(askers: int, checkers: int, *, think: float, latency: float, spread: float,
              database_url: str | None) -> tuple[dict[str, float], dict[str, float], int]:
    model = SlowModel(think)
    await model.start()
    with tempfile.TemporaryDirectory(prefix="cppcc-slow-") as tmp:
        api = TimedApi()
        api.expected = askers + checkers
        fake = FakeBotApi(latency=latency)
        fake.api = api
        base_url = await fake.start_http()
        settings = bench_settings(Path(tmp) / "data", database_url, base_url, llm_base_url=model.base_url,
                                  llm_api_key="bench-key", llm_model="qwen-bench")
        doc = Path(tmp) / "委员履职管理办法.md"
        doc.write_text(RULES, encoding="utf-8")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(lambda: open_knowledge_base(settings, with_starter=False).ingest([doc]))
        services = await asyncio.to_thread(build_services, settings)
        await services.db.upgrade()
        users = await seed_event_members(services, askers + checkers, first=FIRST_MEMBER)
        app = build_application(settings, services, request=HTTPXRequest(connection_pool_size=256),
                                get_updates_request=HTTPXRequest(connection_pool_size=1))
        await start_polling(app)
        try:
            api.askers = set(users[:askers])
            for user in users[:askers]:  # the questions at once
                fake.user_sends(user, QUESTION)
                api.asked_at[user] = time.perf_counter()
            started = time.perf_counter()
            step = spread / checkers
            for n, user in enumerate(users[askers:]):  # at once (spread 0), or spread over ``spread`` seconds
                if spread:
                    await asyncio.sleep(max(0.0, started + n * step - time.perf_counter()))
                fake.user_sends(user, f"EVT-{EVENT_CODE}")
                api.asked_at[user] = time.perf_counter()
            await asyncio.wait_for(api.all_replied.wait(), timeout=120)
        finally:
            await stop_polling(app)
            await fake.stop_http()
            await model.stop()
    checkins = [api.replied_at[u] - api.asked_at[u] for u in users[askers:]]
    questions = [api.replied_at[u] - api.asked_at[u] for u in users[:askers]]
    return _figures(checkins), _figures(questions), model.requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--checkers", type=int, default=100)
    parser.add_argument("--think", type=float, default=5.0, help="seconds the model takes per answer")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each Bot API answer")
    parser.add_argument("--spread", type=float, nargs="+", default=[0.0, 5.0],
                        help="seconds the check-ins are spread over (0: all at once, like rush_bench)")
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
            for spread, run_no in itertools.product(args.spread, range(args.runs)):
                url = (server.create_database(f"slow_{run_no}_{round(spread * 10)}")
                       if backend == "postgresql" and server else None)
                checkins, questions, asked = asyncio.run(run(args.askers, args.checkers, think=args.think,
                                                             latency=args.latency, spread=spread, database_url=url))
                when = f"over {spread:.0f} s" if spread else "at once"
                print(f"{backend:10s} {args.askers} questions (model {args.think:.0f} s, {asked} model calls) "
                      f"while {args.checkers} check in {when}: check-ins median {checkins['median']:.2f} s, "
                      f"p95 {checkins['p95']:.2f} s, max {checkins['max']:.2f} s; questions median "
                      f"{questions['median']:.2f} s, p95 {questions['p95']:.2f} s, max {questions['max']:.2f} s",
                      flush=True)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
