"""Webhook workers claim each update before handling it (``CppccApplication.claim_before_handling``).

Two Applications on one database stand for two webhook workers that got the same update (Telegram
redelivering while the first delivery is still handled): one of them handles it, the other skips it
before any handler runs. A failing handler's update stays claimed, marked failed, its effects rolled back.
The subprocess version, on PostgreSQL behind a forwarder: ``tests/e2e/test_multiprocess.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from telegram import Update

from handlers import texts
from handlers.application import CppccApplication
from handlers.context import BotApplication, Services
from handlers.registry import Feature
from store import members as members_repo
from store.models import Member, ProcessedUpdate
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, with_features
from tests.handlers.test_fallback import BOOM, Boom

MEMBER = 1001

AppFactory = Callable[..., Awaitable[BotApplication]]


async def webhook_worker(app_factory: AppFactory, *extra: Feature) -> CppccApplication:
    app = await app_factory(with_features(*extra))
    assert isinstance(app, CppccApplication)
    app.claim_before_handling = True  # what ``cppcc-bot webhook`` sets
    return app


async def test_one_update_given_to_two_workers_at_once_is_handled_by_one(
    app_factory: AppFactory, fake: FakeBotApi, roster: Callable[..., Awaitable[list[Member]]],
) -> None:
    await roster({"name": "张明", "telegram_id": MEMBER})
    workers = [await webhook_worker(app_factory) for _ in range(2)]
    for text in ("/help", "今天学习了《政协章程》45分钟"):
        since = fake.mark()
        update = fake.user_sends(MEMBER, text)
        await asyncio.gather(*(w.process_update(Update.de_json(update, w.bot)) for w in workers))
        replies = fake.replies_since(since, MEMBER)
        assert len(replies) == 1, [c.text for c in replies]
    pressed = fake.user_taps(MEMBER, texts.BTN_CONFIRM)
    since = fake.mark()
    await asyncio.gather(*(w.process_update(Update.de_json(pressed, w.bot)) for w in workers))
    replies = fake.replies_since(since, MEMBER)
    assert [c.method for c in replies] == ["answerCallbackQuery", "editMessageText"], [c.text for c in replies]
    assert (replies[1].text or "").startswith("已记录打卡")


async def test_a_failing_update_stays_claimed_marked_failed_and_rolled_back(
    app_factory: AppFactory, fake: FakeBotApi, services: Services, roster: Callable[..., Awaitable[list[Member]]],
) -> None:
    [member] = await roster({"name": "张明", "telegram_id": MEMBER})
    app = await webhook_worker(app_factory, BOOM)
    chat = Dialogue(fake, app)
    replies = await chat.send(MEMBER, "/boom", expect_error=True)
    assert replies.texts == [texts.ERROR]
    assert isinstance(chat.errors[-1], Boom)
    async with services.db.session() as session:
        stored = await members_repo.get(session, member_id=member.id)
        assert stored is not None and stored.sector == member.sector  # rolled back
        failed = await session.scalar(select(ProcessedUpdate.failed).where(
            ProcessedUpdate.update_id == replies.update["update_id"]))
    assert failed is True
    assert await chat.process(replies.update) == []  # a redelivery is skipped
    assert (await chat.send(MEMBER, "/cancel")).texts == [texts.NOTHING_TO_CANCEL]
