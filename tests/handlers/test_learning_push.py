"""Learning pushes through the real Application: a push that fits the member, never in quiet hours, and
不再推送此主题 stops the topic (this week's planned pushes and next week's plan)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import learning_push, texts
from handlers.context import BotApplication, Services
from store import preferences
from store.learning import pushes
from store.learning.materials import MaterialInput, create_material
from store.learning.planner import next_week_start, week_start
from store.models import LearningPush, Member
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.support.clock import SHANGHAI, TestClock

MEMBER = 1001
OTHER = 1002
MONDAY_NIGHT = datetime(2026, 11, 30, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)  # Monday 00:30, quiet hours


async def add_material(services: Services, title: str, topics: list[str], *, age_days: int) -> int:
    async with services.db.session() as session:
        material = await create_material(
            session, data=MaterialInput(title=title, kind="text", body=f"{title}的正文。", estimated_minutes=15,
                                        topics=topics),
            created_by=None, now=MONDAY_NIGHT - timedelta(days=age_days))
        await session.commit()
        return material.id


async def setup(services: Services, roster: Callable[..., Awaitable[list[Member]]],
                wrong: dict[str, int]) -> tuple[Member, dict[str, int]]:
    member, _ = await roster({"name": "张明", "telegram_id": MEMBER}, {"name": "李华", "telegram_id": OTHER})
    async with services.db.session() as session:
        await preferences.toggle_topic(session, member_id=member.id, topic="经济发展", now=MONDAY_NIGHT)
        await session.commit()
    ids = {
        "economy": await add_material(services, "优化营商环境条例解读", ["经济发展"], age_days=20),
        "livelihood": await add_material(services, "养老服务体系建设", ["社会民生"], age_days=30),
        "newest": await add_material(services, "文化遗产保护概览", ["文化教育"], age_days=1),
    }

    async def wrong_topics(session: AsyncSession) -> dict[int, dict[str, int]]:
        return {member.id: dict(wrong)}

    config = services.config(pushes.LearningPushConfig)
    services.configs.replace(replace(config, wrong_topics=wrong_topics))
    return member, ids


async def planned(services: Services, member_id: int) -> list[LearningPush]:
    async with services.db.session() as session:
        rows = await session.scalars(select(LearningPush).where(LearningPush.member_id == member_id)
                                     .order_by(LearningPush.planned_at))
        return list(rows)


def pushes_to(fake: FakeBotApi, since: int, chat_id: int) -> list:
    head = texts.LEARNING_PUSH_MESSAGE.split("\n", 1)[0]
    return [c for c in fake.replies_since(since, chat_id=chat_id)
            if c.method == "sendMessage" and (c.text or "").startswith(head)]


async def run_job(app: BotApplication, name: str) -> None:
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(name)
    await job.run(app)


async def test_a_push_matches_topic_and_wrong_answer_and_waits_out_quiet_hours(
    chat: Dialogue, bot_app: BotApplication, services: Services, fake: FakeBotApi,
    roster: Callable[..., Awaitable[list[Member]]], clock: TestClock,
) -> None:
    member, ids = await setup(services, roster, {"社会民生": 2})
    clock.set(MONDAY_NIGHT)
    await run_job(bot_app, learning_push.PLAN_JOB)
    rows = await planned(services, member.id)
    assert [(r.material_id, r.reason, r.topic) for r in sorted(rows, key=lambda r: r.reason)] == [
        (ids["economy"], "topic", "经济发展"), (ids["livelihood"], "wrong", "社会民生")]
    assert len({r.planned_at.astimezone(SHANGHAI).date() for r in rows}) == 2  # spread over the week
    for row in rows:
        local = row.planned_at.astimezone(SHANGHAI).time()
        assert time(8, 0) <= local < time(22, 0)  # outside the default quiet hours 22:00-08:00

    since = fake.mark()
    await run_job(bot_app, learning_push.SEND_JOB)  # Monday 00:30: nothing is due, and it is quiet
    assert pushes_to(fake, since, MEMBER) == []

    # The member changes their quiet hours to cover the first push's time: at send time it waits.
    first = rows[0]
    hour = first.planned_at.astimezone(SHANGHAI).hour
    quiet = (time(hour, 0), time((hour + 2) % 24, 0))
    async with services.db.session() as session:
        await preferences.set_quiet_hours(session, member_id=member.id, window=quiet, now=clock())
        await session.commit()
    clock.set(first.planned_at + timedelta(minutes=1))
    await run_job(bot_app, learning_push.SEND_JOB)
    assert pushes_to(fake, since, MEMBER) == []
    (deferred,) = [r for r in await planned(services, member.id) if r.id == first.id]
    assert deferred.status == "planned"
    assert deferred.planned_at.astimezone(SHANGHAI).time() == quiet[1]

    clock.set(deferred.planned_at + timedelta(seconds=5))
    await run_job(bot_app, learning_push.SEND_JOB)
    (sent,) = pushes_to(fake, since, MEMBER)
    material = "优化营商环境条例解读" if first.material_id == ids["economy"] else "养老服务体系建设"
    assert f"《{material}》" in (sent.text or "")
    assert sent.buttons == [[texts.BTN_LEARNING_PUSH_READ], [texts.BTN_LEARNING_PUSH_STOP]]
    markup = sent.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["inline_keyboard"][0][0]["callback_data"] == f"learn:page:{first.material_id}:1"
    reader = await chat.tap(MEMBER, texts.BTN_LEARNING_PUSH_READ)  # opens the library's reader, page 1
    assert any(f"{material}的正文。" in t for t in reader.texts), reader.texts
    await run_job(bot_app, learning_push.SEND_JOB)  # sent once only
    assert len(pushes_to(fake, since, MEMBER)) == 1
    assert [r.status for r in await planned(services, member.id) if r.id == first.id] == ["sent"]


async def test_stop_this_topic_skips_planned_pushes_and_next_weeks_plan(
    chat: Dialogue, bot_app: BotApplication, services: Services, fake: FakeBotApi,
    roster: Callable[..., Awaitable[list[Member]]], clock: TestClock,
) -> None:
    member, ids = await setup(services, roster, {"社会民生": 3})
    more = await add_material(services, "社区养老服务案例", ["社会民生"], age_days=40)
    clock.set(MONDAY_NIGHT)
    await run_job(bot_app, learning_push.PLAN_JOB)
    rows = await planned(services, member.id)
    wrong = next(r for r in rows if r.reason == "wrong")
    assert wrong.topic == "社会民生"
    clock.set(wrong.planned_at + timedelta(seconds=1))
    since = fake.mark()
    await run_job(bot_app, learning_push.SEND_JOB)
    assert any("养老服务体系建设" in (c.text or "") for c in pushes_to(fake, since, MEMBER))

    replies = await chat.tap(MEMBER, texts.BTN_LEARNING_PUSH_STOP)
    assert texts.LEARNING_PUSH_STOPPED.format(topic="社会民生") in replies.texts
    again = await chat.press(MEMBER, f"lpush:stop:{wrong.id}")
    assert texts.LEARNING_PUSH_ALREADY_STOPPED.format(topic="社会民生") in again.texts
    async with services.db.session() as session:
        assert await pushes.blocked_topics(session, member_id=member.id) == ["社会民生"]
        nxt = next_week_start(clock(), SHANGHAI)
        plan = await pushes.compute_plan(session, week_from=nxt, now=clock(),
                                         config=services.config(pushes.LearningPushConfig),
                                         defaults=services.prefs_defaults, tz=SHANGHAI,
                                         wrong_topics=services.config(pushes.LearningPushConfig).wrong_topics)
    mine = [p for p in plan if p.member_id == member.id]
    assert mine and all(p.material_id not in (ids["livelihood"], more) for p in mine)
    assert all(p.material_id not in {r.material_id for r in rows} for p in mine)  # never the same twice

    # /settings lists the stopped topic, and 恢复推送 lifts the stop (an old card's second press is harmless)
    card = await chat.send(MEMBER, "/settings")
    assert texts.SETTINGS_BLOCKED.format(topics="社会民生") in card.text
    unblock = texts.BTN_SETTINGS_UNBLOCK.format(topic="社会民生")
    assert unblock in card.buttons
    lifted = await chat.tap(MEMBER, unblock)
    assert texts.SETTINGS_UNBLOCKED.format(topic="社会民生") in [r.text for r in lifted]
    assert unblock not in lifted.buttons and "已停止推送" not in lifted.text
    stale = await chat.press(MEMBER, "pref:u:社会民生")  # on a card the bot can no longer edit: a fresh card
    assert texts.SETTINGS_UNBLOCKED.format(topic="社会民生") in [r.text for r in stale]
    assert any(r.text.startswith("⚙️ 通知设置") for r in stale if r.text)
    async with services.db.session() as session:
        assert await pushes.blocked_topics(session, member_id=member.id) == []


async def test_forged_and_foreign_stop_buttons_change_nothing(
    chat: Dialogue, bot_app: BotApplication, services: Services,
    roster: Callable[..., Awaitable[list[Member]]], clock: TestClock,
) -> None:
    member, _ = await setup(services, roster, {"社会民生": 1})
    clock.set(MONDAY_NIGHT)
    await run_job(bot_app, learning_push.PLAN_JOB)
    row = (await planned(services, member.id))[0]
    for data in (f"lpush:stop:{row.id}", "lpush:stop:abc", "lpush:stop:99999999", "lpush:zz:1"):
        replies = await chat.press(OTHER, data)
        assert texts.STALE_BUTTON in replies.texts
    async with services.db.session() as session:
        assert await pushes.blocked_topics(session, member_id=member.id) == []


async def test_two_workers_plan_the_week_once_and_send_each_push_once(
    bot_app: BotApplication, app_factory: Callable[..., Awaitable[BotApplication]], services: Services,
    fake: FakeBotApi, roster: Callable[..., Awaitable[list[Member]]], clock: TestClock,
) -> None:
    member, _ = await setup(services, roster, {"社会民生": 1})
    other = await app_factory()
    clock.set(MONDAY_NIGHT)
    await asyncio.gather(run_job(bot_app, learning_push.PLAN_JOB), run_job(other, learning_push.PLAN_JOB))
    rows = await planned(services, member.id)
    assert len(rows) == 2
    assert {r.week_start for r in rows} == {week_start(MONDAY_NIGHT, SHANGHAI)}
    since = fake.mark()
    clock.set(max(r.planned_at for r in rows) + timedelta(seconds=1))
    await asyncio.gather(run_job(bot_app, learning_push.SEND_JOB), run_job(other, learning_push.SEND_JOB))
    assert len(pushes_to(fake, since, MEMBER)) == 2
