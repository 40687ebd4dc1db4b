"""The member notice outbox the console fills: the bot's job sends each notice once, to bound and active
members, gives up on blocked or unbound ones, and retries a failed send later."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from handlers import member_notices as job
from handlers.context import BotApplication, Services
from store import member_notices, preferences
from store.models import Member, MemberNotice
from tests.fakes.botapi import FakeBotApi

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[Member]]], services: Services,
                 bot_app: BotApplication) -> list[Member]:
    services.clock = lambda: NOW
    assert bot_app.job_queue is not None
    (outbox,) = bot_app.job_queue.get_jobs_by_name(job.JOB)
    outbox.enabled = False  # drained explicitly below
    return await roster({"name": "张明", "telegram_id": 1001}, {"name": "王芳", "telegram_id": 1002},
                        {"name": "陈静"})


async def _queue(services: Services, member: Member, text: str) -> int:
    async with services.db.session() as session:
        return (await member_notices.enqueue(session, member_id=member.id, text=text, now=NOW, kind="test")).id


async def _row(services: Services, notice_id: int) -> MemberNotice:
    async with services.db.session() as session:
        row = await session.get(MemberNotice, notice_id)
        assert row is not None
        return row


async def test_each_notice_is_sent_once(people: list[Member], services: Services, bot_app: BotApplication,
                                        fake: FakeBotApi) -> None:
    zhang, wang, _ = people
    await _queue(services, zhang, "您的积分申诉 #1 已处理：维持原记录。\n处理说明：核实无误")
    await _queue(services, wang, "第二条")
    assert bot_app.job_queue is not None
    (outbox,) = bot_app.job_queue.get_jobs_by_name(job.JOB)
    since = fake.mark()
    await outbox.run(bot_app)
    await outbox.run(bot_app)  # a second run sends nothing again
    sent = fake.replies_since(since)
    assert [(c.chat_id, c.text) for c in sent] == [
        (1001, "您的积分申诉 #1 已处理：维持原记录。\n处理说明：核实无误"), (1002, "第二条")]
    async with services.db.session() as session:
        assert await member_notices.pending_count(session) == 0


async def test_blocked_and_unbound_members_are_given_up_and_errors_retried(
    people: list[Member], services: Services, bot_app: BotApplication, fake: FakeBotApi
) -> None:
    zhang, wang, unbound = people
    fake.blocked.add(1002)
    blocked = await _queue(services, wang, "被屏蔽")
    nowhere = await _queue(services, unbound, "未绑定")
    assert await job.send_pending(bot_app.bot, services) == 0
    assert (await _row(services, blocked)).failed and (await _row(services, nowhere)).failed
    flaky = await _queue(services, zhang, "稍后重试")
    fake.fail_next("sendMessage", 400)
    assert await job.send_pending(bot_app.bot, services) == 0
    row = await _row(services, flaky)
    assert row.sent_at is None and not row.failed and row.attempts == 1 and row.last_error
    assert await job.send_pending(bot_app.bot, services) == 0  # waits its pause out
    services.clock = lambda: NOW + timedelta(minutes=1)
    assert await job.send_pending(bot_app.bot, services) == 1
    assert fake.bot_calls("sendMessage", chat_id=1001)[-1].text == "稍后重试"


async def test_a_claimed_notice_is_not_claimed_twice(people: list[Member], services: Services) -> None:
    await _queue(services, people[0], "一次")
    async with services.db.session() as session:
        first = await member_notices.claim(session, now=NOW)
    async with services.db.session() as session:
        second = await member_notices.claim(session, now=NOW)
    assert len(first) == 1 and second == []


async def test_notices_wait_for_the_end_of_quiet_hours(people: list[Member], services: Services,
                                                       bot_app: BotApplication, fake: FakeBotApi) -> None:
    zhang, wang, _ = people
    async with services.db.session() as session:  # 王芳 turned quiet hours off in /settings
        await preferences.set_quiet_hours(session, member_id=wang.id, window=None, now=NOW)
    night = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # 23:30 in Beijing: inside the default 22:00-08:00
    services.clock = lambda: night
    held = await _queue(services, zhang, "您的积分已调整")
    await _queue(services, wang, "无免打扰")
    since = fake.mark()
    assert await job.send_pending(bot_app.bot, services) == 1
    assert [(c.chat_id, c.text) for c in fake.replies_since(since)] == [(1002, "无免打扰")]
    row = await _row(services, held)
    assert row.sent_at is None and row.attempts == 0 and not row.failed  # held back, not an attempt
    services.clock = lambda: datetime(2026, 11, 26, 23, 59, tzinfo=UTC)  # 07:59: still quiet
    assert await job.send_pending(bot_app.bot, services) == 0
    services.clock = lambda: datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 08:00: the window has ended
    assert await job.send_pending(bot_app.bot, services) == 1
    assert fake.bot_calls("sendMessage", chat_id=1001)[-1].text == "您的积分已调整"
    assert (await _row(services, held)).attempts == 1
