"""``python -m bot broadcast send --wait`` against the HTTP fake Bot API, killed mid-way, then ``resume``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from store.db import Database
from store.models import Member
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.faults import FaultyBotApi
from tests.fakes.process import E2E_TOKEN, cli_env, run_cli

MEMBERS = 30
CONCURRENCY = 4
FIRST_ID = 810_000


async def _roster(data_dir: Path) -> list[int]:
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'cppcc.sqlite3'}")
    try:
        await db.upgrade()
        now = utcnow()
        async with db.session() as s:
            await s.execute(insert(Member), [
                {"name": f"委员{i}", "sector": "经济界", "district": "城关区", "role": "member",
                 "telegram_id": FIRST_ID + i, "active": True, "created_at": now, "updated_at": now}
                for i in range(MEMBERS)
            ])
    finally:
        await db.dispose()
    return [FIRST_ID + i for i in range(MEMBERS)]


@pytest.mark.real
async def test_send_killed_mid_way_then_resume_delivers_everyone_once_but_the_in_flight(
    tmp_path: Path, http_fake: FakeBotApi,
) -> None:
    data_dir = tmp_path / "data"
    ids = await _roster(data_dir)
    api = FaultyBotApi(hold_after=10)  # from the 11th send on, messages arrive but answers are held
    http_fake.api = api
    api.blocked.add(ids[3])
    assert http_fake.base_url is not None
    env = cli_env(TELEGRAM_BOT_TOKEN=E2E_TOKEN, TELEGRAM_API_BASE_URL=http_fake.base_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--data-dir", str(data_dir), "broadcast", "send", "--to", "all",
        "--text", "委员您好：明天上午九点召开常委会。", "--urgent", "--wait", "--json", "--no-progress",
        "--concurrency", str(CONCURRENCY),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=tmp_path,
    )
    try:
        assert await api.wait_until(lambda: api.held == CONCURRENCY, timeout=60), "sender never got in flight"
    finally:
        proc.kill()  # SIGKILL: no cleanup, the held rows stay "sending"
        await proc.wait()
    api.hold_after = None
    api.release()

    code, out, err = await run_cli(data_dir, "broadcast", "status", "--json", env=env)
    assert code == 0, err
    before = json.loads(out)
    assert before["pending"] == MEMBERS - 10 - 1  # 10 answered sends and the blocked member are final

    code, out, err = await run_cli(data_dir, "broadcast", "resume", "--wait", "--json", "--no-progress", env=env)
    assert code == 0, err
    status = json.loads(out.strip().splitlines()[-1])
    assert status == {"id": 1, "total": MEMBERS, "pending": 0, "sent": MEMBERS - 1, "failed": 0, "blocked": 1,
                      "uncertain": CONCURRENCY, "acknowledged": 0}
    delivered = {i: api.delivered[i] for i in ids if i != ids[3]}
    assert all(n >= 1 for n in delivered.values())  # nobody missed
    assert sum(n - 1 for n in delivered.values()) == CONCURRENCY  # only the in-flight ones twice
    assert api.delivered[ids[3]] == 0
