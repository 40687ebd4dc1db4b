"""Peak hours (issue #12): a slow model stalls neither other members nor the database; one chat stays in order.

Updates go through the running Application's update queue, as the updater and the webhook hand them in.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.localapi import JSONDict
from handlers import texts
from handlers.context import BotApplication, Services
from handlers.update_processor import ChatOrderedUpdateProcessor
from knowledge.models import Answer
from store import updates as updates_repo
from store.models import Member
from tests.fakes.botapi import FakeBotApi
from tests.handlers.test_ask import people  # noqa: F401  # the members fixture

MEMBER, OTHER = 1001, 1002
SLOW_ANSWER = "慢速模型的回答"


class SlowKnowledge:
    """A knowledge service whose model answers only when the test lets it."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    @property
    def embedder(self) -> None:
        return None

    async def aanswer(self, question: str, *, history: list[tuple[str, str]] | None = None, k: int = 5) -> Answer:
        self.asked.set()
        await self.answer.wait()
        return Answer(answered=False, text=SLOW_ANSWER)

    def article_text(self, source: str, article: str) -> str | None:
        return None


async def _queue(app: BotApplication, update: JSONDict) -> None:
    await app.update_queue.put(Update.de_json(update, app.bot))


async def test_a_slow_answer_stalls_neither_other_members_nor_writes_and_its_chat_stays_in_order(
    bot_app: BotApplication, services: Services, fake: FakeBotApi,
    people: list[Member],  # noqa: F811
) -> None:
    assert isinstance(bot_app.update_processor, ChatOrderedUpdateProcessor)
    slow = SlowKnowledge()
    services.knowledge = slow
    try:
        since = fake.mark()
        await _queue(bot_app, fake.user_sends(MEMBER, "/ask 委员每年参加几次集中学习"))
        await asyncio.wait_for(slow.asked.wait(), timeout=10)
        await _queue(bot_app, fake.user_sends(MEMBER, "/help"))  # the same chat: waits for the answer
        await _queue(bot_app, fake.user_sends(OTHER, "/help"))  # another chat: answered meanwhile
        other = await fake.wait_for_call("sendMessage", lambda c: c.chat_id == OTHER, since=since)
        assert texts.HELP_MEMBER_HEAD in (other.text or "")
        # No transaction waits with the model: another session writes at once (SQLite has one writer).
        async with services.db.session() as session:
            await updates_repo.mark_processed(session, update_id=999_999, at=services.clock())
        assert fake.replies_since(since, MEMBER) == []
        slow.answer.set()
        await fake.wait_for_call("sendMessage", lambda c: c.chat_id == MEMBER and texts.HELP_MEMBER_HEAD in (
            c.text or ""), since=since)
        mine = [c.text or "" for c in fake.replies_since(since, MEMBER)]
        assert len(mine) == 2 and mine[0].startswith(SLOW_ANSWER) and texts.HELP_MEMBER_HEAD in mine[1]
    finally:
        slow.answer.set()
        services.knowledge = None
