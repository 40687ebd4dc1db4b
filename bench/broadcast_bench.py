"""Broadcast benchmark: ``python -m bench.broadcast_bench [--members 3000] [--skip-kill]``.

Runs the real entry point (``python -m bot broadcast send --wait``) as a subprocess against the HTTP
fake Bot API on 127.0.0.1, which answers 429 (retry after 1 s) to every 500th send and 403 for 2 % of
the recipients. Then the same again, killing the sender with SIGKILL half-way and finishing with
``broadcast resume --wait``. Prints the figures: time, sustained rate outside the 429 pauses, counts
per state, duplicates, uncertain rows, missed recipients.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from store.db import Database
from store.models import Member
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.faults import FaultyBotApi

TOKEN = "123456:BENCH-TOKEN"
FIRST_TELEGRAM_ID = 700_000_000
TEXT = "委员您好：请于下周一上午 9:00 参加常委会会议。\n\n会议材料已上传至履职平台，请提前审阅。"


async def make_roster(data_dir: Path, members: int) -> list[int]:
    """A migrated database with ``members`` bound members (bulk insert); returns their Telegram ids."""
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'cppcc.sqlite3'}")
    try:
        await db.upgrade()
        now = utcnow()
        sectors = ["经济界", "教育界", "医药卫生界", "农业界", "科技界"]
        rows: list[dict[str, Any]] = [
            {
                "name": f"委员{i:04d}",
                "sector": sectors[i % len(sectors)],
                "district": f"第{i % 7 + 1}区",
                "role": "member",
                "telegram_id": FIRST_TELEGRAM_ID + i,
                "active": True,
                "bound_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(members)
        ]
        async with db.session() as session:
            await session.execute(insert(Member), rows)
        return [r["telegram_id"] for r in rows]
    finally:
        await db.dispose()


def _reached(api: FaultyBotApi, sends: int) -> bool:
    return len(api.sent_at) >= sends


async def inactive_ids(data_dir: Path) -> set[int]:
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'cppcc.sqlite3'}")
    try:
        async with db.session() as session:
            found = await session.scalars(select(Member.telegram_id).where(Member.active.is_(False)))
            return {t for t in found if t is not None}
    finally:
        await db.dispose()


def cli_env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CPPCC_", "DATABASE_URL"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=base_url, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


async def start_cli(data_dir: Path, base_url: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--data-dir",
        str(data_dir),
        "broadcast",
        *args,
        env=cli_env(base_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[dict[str, Any], str]:
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"CLI failed ({proc.returncode}): {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), err.decode()


def summarise(
    title: str, api: FaultyBotApi, ids: list[int], status: dict[str, Any], inactive: set[int], elapsed: float
) -> bool:
    rate, active, paused = api.rate_outside_pauses()
    blocked = set(api.blocked)
    expected = [i for i in ids if i not in blocked]
    missed = [i for i in expected if api.delivered[i] == 0]
    duplicates = sum(1 for i in expected if api.delivered[i] > 1)
    extra_copies = sum(max(0, api.delivered[i] - 1) for i in expected)
    wrongly_sent_blocked = sum(api.delivered[i] for i in blocked)
    print(f"\n== {title} ==")
    print(f"recipients {len(ids)}  (blocked {len(blocked)})   wall time {elapsed:.1f}s")
    print(f"429 answers {len(api.throttled_at)}   paused {paused:.1f}s   active sending {active:.1f}s")
    print(f"sustained rate outside 429 pauses: {rate:.2f} msg/s")
    print(f"status: {json.dumps(status, ensure_ascii=False)}")
    print(
        f"missed {len(missed)}   duplicates {duplicates} (extra copies {extra_copies})   "
        f"uncertain {status['uncertain']}   blocked marked inactive {len(blocked & inactive)}/{len(blocked)}"
        f"   sends to blocked chats {wrongly_sent_blocked}"
    )
    ok = (
        not missed
        and status["sent"] == len(expected)
        and status["blocked"] == len(blocked)
        and blocked <= inactive
        and extra_copies <= status["uncertain"]
    )
    print("RESULT:", "OK" if ok else "FAILED")
    return ok


async def run(members: int, kill: bool, concurrency: int) -> bool:
    ok = True
    for mode in ["normal", "kill"] if kill else ["normal"]:
        tmp = Path(tempfile.mkdtemp(prefix=f"bcbench-{mode}-"))
        try:
            t0 = time.monotonic()
            ids = await make_roster(tmp, members)
            print(f"[{mode}] roster of {members} bound members created in {time.monotonic() - t0:.2f}s")
            fake = FakeBotApi(token=TOKEN)
            api = FaultyBotApi(throttle_every=500, retry_after=1)
            fake.api = api
            api.blocked.update(i for n, i in enumerate(ids) if n % 50 == 7)  # 2 %
            base_url = await fake.start_http()
            try:
                send_args = [
                    "send",
                    "--to",
                    "all",
                    "--text",
                    TEXT,
                    "--urgent",
                    "--wait",
                    "--json",
                    "--no-progress",
                    "--concurrency",
                    str(concurrency),
                ]
                start = time.monotonic()
                proc = await start_cli(tmp, base_url, *send_args)
                if mode == "normal":
                    status, err = await finish(proc)
                else:
                    half = (members - len(api.blocked)) // 2
                    reached = await api.wait_until(functools.partial(_reached, api, half), timeout=600)
                    if not reached:
                        raise RuntimeError("sender never reached half-way")
                    proc.kill()
                    await proc.wait()
                    print(f"[kill] SIGKILL after {len(api.sent_at)} successful sends")
                    proc = await start_cli(
                        tmp, base_url, "resume", "--wait", "--json", "--no-progress", "--concurrency", str(concurrency)
                    )
                    status, err = await finish(proc)
                elapsed = time.monotonic() - start
                for line in err.splitlines():
                    if line.strip():
                        print(f"[{mode}] cli: {line.strip()}")
                ok &= summarise(f"{mode} run", api, ids, status, await inactive_ids(tmp), elapsed)
            finally:
                await fake.stop_http()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--skip-kill", action="store_true")
    args = parser.parse_args()
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # the killed client's dropped connections
    return 0 if asyncio.run(run(args.members, not args.skip_kill, args.concurrency)) else 1


if __name__ == "__main__":
    sys.exit(main())
