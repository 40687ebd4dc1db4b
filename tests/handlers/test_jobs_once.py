"""Scheduled jobs with several bot processes on one database: each run of a once-per-period job happens once.

Two Applications on one database stand for two webhook workers: both run the daily proposal digest at
the same moment, and the staff chat gets one digest; the next day it gets the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from handlers import proposal_jobs, texts
from handlers.context import BotApplication
from store.models import Member
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_proposals import submit
from tests.support.clock import TestClock

MEMBER = 1001
NOON = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # Beijing 2026-11-30 12:00


async def test_two_workers_send_one_digest_a_day(
    chat: Dialogue, bot_app: BotApplication, app_factory: Callable[..., Awaitable[BotApplication]],
    fake: FakeBotApi, roster: Callable[..., Awaitable[list[Member]]], clock: TestClock,
) -> None:
    await roster({"name": "张明", "telegram_id": MEMBER})
    await submit(chat, MEMBER, "建议在滨江公园增设公共厕所和饮水点")
    other = await app_factory()
    jobs = []
    for app in (bot_app, other):
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name(proposal_jobs.DIGEST_JOB)
        jobs.append((job, app))

    def digests(since: int) -> list[str]:
        return [c.text or "" for c in fake.replies_since(since, chat_id=STAFF_CHAT_ID)
                if (c.text or "").startswith(texts.PROPOSAL_DIGEST.split("{", 1)[0])]

    clock.set(NOON)
    since = fake.mark()
    await asyncio.gather(*(job.run(app) for job, app in jobs))
    assert len(digests(since)) == 1
    await asyncio.gather(*(job.run(app) for job, app in jobs))  # later the same day: nothing more
    assert len(digests(since)) == 1

    clock.advance(days=1)
    await asyncio.gather(*(job.run(app) for job, app in jobs))
    assert len(digests(since)) == 2
