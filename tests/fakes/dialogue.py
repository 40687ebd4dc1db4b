"""Dialogue helper: handler tests read like conversations with the real Application.

    replies = await chat.send(1001, "/help")
    assert texts.HELP_MEMBER_HEAD in replies.text
    replies = await chat.tap(1001, "确认")

Each step queues an update at the fake Bot API, runs it through ``app.process_update`` (the unit of
work included) and returns what the bot showed in that chat. A step fails the test if the error
handler ran, unless ``expect_error=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import FEATURES
from bot.localapi import JSONDict
from handlers.context import BotApplication, BotContext
from handlers.registry import Feature
from tests.fakes.botapi import FakeBotApi

ERRORS_KEY = "test_errors"


@dataclass(frozen=True)
class Reply:
    """One thing the bot showed: a message, an edit, a photo caption, or a button alert."""

    method: str
    text: str | None
    buttons: list[list[str]]

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label in row]


class Replies(list[Reply]):
    """The bot's replies to one update, plus the update itself (for redelivery tests)."""

    def __init__(self, replies: Sequence[Reply], update: JSONDict) -> None:
        super().__init__(replies)
        self.update = update

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self if r.text]

    @property
    def text(self) -> str:
        """All reply texts joined by blank lines ("" when the bot said nothing)."""
        return "\n\n".join(self.texts)

    @property
    def buttons(self) -> list[str]:
        """Button labels of the last reply that has any."""
        return next((r.labels for r in reversed(self) if r.buttons), [])


async def record_error(update: object, context: BotContext) -> None:
    """Test-only error handler (runs after the product's): remembers every handler error."""
    context.application.bot_data.setdefault(ERRORS_KEY, []).append(context.error)


def with_features(*extra: Feature) -> list[Feature]:
    """The product's features with ``extra`` inserted right after ``start`` (before any catch-all)."""
    names = [f.name for f in FEATURES]
    cut = names.index("start") + 1 if "start" in names else 0
    return [*FEATURES[:cut], *extra, *FEATURES[cut:]]


def _chat_of(update: JSONDict) -> int:
    for key in ("message", "edited_message"):
        if key in update:
            return int(update[key]["chat"]["id"])
    query = update["callback_query"]
    return int(query["message"]["chat"]["id"]) if "message" in query else int(query["from"]["id"])


class Dialogue:
    """Conversations with the real Application through the in-process fake Bot API."""

    def __init__(self, fake: FakeBotApi, app: BotApplication) -> None:
        self.fake, self.app = fake, app

    @property
    def errors(self) -> list[BaseException]:
        return self.app.bot_data.setdefault(ERRORS_KEY, [])

    async def process(self, update: JSONDict, *, expect_error: bool = False) -> Replies:
        """Run one update (new or redelivered) and return the bot's replies in its chat."""
        since, errors_before = self.fake.mark(), len(self.errors)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        new_errors = self.errors[errors_before:]
        if new_errors and not expect_error:
            raise AssertionError(f"the error handler ran: {new_errors[0]!r}") from new_errors[0]
        if expect_error and not new_errors:
            raise AssertionError("expected a handler error, but none happened")
        calls = self.fake.replies_since(since, chat_id=_chat_of(update))
        return Replies([Reply(c.method, c.text, c.buttons) for c in calls], update)

    async def send(self, user: int, text: str, *, expect_error: bool = False, **kwargs: Any) -> Replies:
        return await self.process(self.fake.user_sends(user, text, **kwargs), expect_error=expect_error)

    async def tap(self, user: int, label: str) -> Replies:
        return await self.process(self.fake.user_taps(user, label))

    async def press(self, user: int, data: str) -> Replies:
        return await self.process(self.fake.user_presses(user, data))

    async def send_photo(self, user: int, photo: str | Path | bytes = b"\xff\xd8fake-jpeg",
                         caption: str | None = None) -> Replies:
        return await self.process(self.fake.user_sends_photo(user, photo, caption))

    async def send_sticker(self, user: int) -> Replies:
        return await self.process(self.fake.user_sends_sticker(user))

    async def send_location(self, user: int, lat: float, lon: float) -> Replies:
        return await self.process(self.fake.user_sends_location(user, lat, lon))

    async def send_document(self, user: int, path: str | Path, **kwargs: Any) -> Replies:
        return await self.process(self.fake.user_sends_document(user, path, **kwargs))
