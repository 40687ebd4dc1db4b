"""Last-resort replies, group chatter, oversized messages and the error handler — as dialogues."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from handlers import texts
from handlers.context import BotContext, Services
from handlers.registry import Feature
from handlers.start import MAX_TEXT
from store import members as members_repo
from store.models import Member
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, with_features

MEMBER, STRANGER = 1001, 5002
GROUP = -1_001_234_567_890


@pytest.fixture(autouse=True)
async def member(roster) -> Member:
    [zhang] = await roster({"name": "张明", "telegram_id": MEMBER})
    return zhang


def assert_no_error_reply(fake: FakeBotApi) -> None:
    assert all(texts.ERROR not in t for t in fake.transcript(MEMBER))


async def test_unknown_command(chat: Dialogue, fake: FakeBotApi) -> None:
    replies = await chat.send(MEMBER, "/frobnicate now")
    assert replies.texts == [texts.UNKNOWN_COMMAND.format(command="/frobnicate")]
    assert_no_error_reply(fake)


async def test_sticker_photo_and_document_get_a_clear_reply(chat: Dialogue, fake: FakeBotApi, tmp_path: Path) -> None:
    assert (await chat.send_sticker(MEMBER)).texts == [texts.UNSUPPORTED_MEDIA.format(kind="贴纸")]
    assert (await chat.send_photo(MEMBER)).texts == [texts.UNSUPPORTED_MEDIA.format(kind="图片")]
    sheet = tmp_path / "材料.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    assert (await chat.send_document(MEMBER, sheet)).texts == [texts.UNSUPPORTED_MEDIA.format(kind="文件")]
    assert_no_error_reply(fake)


async def test_very_long_message_is_refused_politely(chat: Dialogue, fake: FakeBotApi) -> None:
    replies = await chat.send(MEMBER, "建" * 5000)
    assert replies.texts == [texts.TOO_LONG.format(length=5000, limit=MAX_TEXT)]
    assert_no_error_reply(fake)


async def test_cancel_with_nothing_running(chat: Dialogue) -> None:
    assert (await chat.send(MEMBER, "/cancel")).texts == [texts.NOTHING_TO_CANCEL]


async def test_stale_button_gets_an_alert(chat: Dialogue, fake: FakeBotApi) -> None:
    replies = await chat.press(MEMBER, "gone:42")
    assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.STALE_BUTTON)]
    assert fake.bot_calls("answerCallbackQuery")[-1].params.get("show_alert") is True


async def test_edited_message_is_ignored(chat: Dialogue) -> None:
    sent = await chat.send(MEMBER, "/cancel")
    message_id = sent.update["message"]["message_id"]
    assert await chat.process(chat.fake.user_edits(MEMBER, message_id, "/help")) == []


# ---- groups -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["/help", "/help@cppcc_demo_bot", "/start ABCD2345", "/credits@CPPCC_Demo_Bot"])
async def test_group_commands_for_us_get_private_chat_reply(chat: Dialogue, fake: FakeBotApi, text: str) -> None:
    replies = await chat.send(MEMBER, text, chat_type="supergroup", chat_id=GROUP)
    assert replies.texts == [texts.PRIVATE_ONLY]
    assert fake.bot_calls(chat_id=MEMBER) == []  # nothing in private either


@pytest.mark.parametrize("text", ["大家好，明天的会几点开始？", "/help@some_other_bot", "ABCD2345"])
async def test_group_chatter_gets_nothing(chat: Dialogue, fake: FakeBotApi, text: str) -> None:
    assert await chat.send(MEMBER, text, chat_type="group", chat_id=GROUP) == []
    assert await chat.send(STRANGER, text, chat_type="group", chat_id=GROUP) == []
    assert fake.bot_calls("sendMessage") == []


async def test_group_media_gets_nothing(chat: Dialogue, fake: FakeBotApi) -> None:
    assert await chat.process(fake.user_sends_sticker(MEMBER, chat_type="group", chat_id=GROUP)) == []
    assert fake.bot_calls("sendMessage") == []


# ---- the error handler --------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


async def _boom(update: Update, context: BotContext) -> None:
    """Changes the member's record, then fails: the change must be rolled back."""
    member = await context.member(update)
    assert member is not None
    member.sector = "已被改写"
    await context.session.flush()
    raise Boom("database said no")


BOOM = Feature(name="boom", register=lambda app: app.add_handler(CommandHandler("boom", _boom)))


async def test_handler_error_tells_user_alerts_staff_and_rolls_back(
    app_factory, fake: FakeBotApi, services: Services, member: Member
) -> None:
    chat = Dialogue(fake, await app_factory(with_features(BOOM)))
    replies = await chat.send(MEMBER, "/boom", expect_error=True)
    assert replies.texts == [texts.ERROR]
    assert isinstance(chat.errors[-1], Boom)
    [alert] = fake.bot_calls("sendMessage", chat_id=services.staff_chat_id)
    assert alert.text is not None and "Boom" in alert.text and str(MEMBER) in alert.text
    async with services.db.session() as session:
        stored = await members_repo.get(session, member_id=member.id)
        assert stored is not None and stored.sector == member.sector  # rolled back
    # The failed update is still marked as handled: a redelivery does not fail again.
    assert await chat.process(replies.update) == []
    # And the bot keeps working.
    assert (await chat.send(MEMBER, "/cancel")).texts == [texts.NOTHING_TO_CANCEL]


async def test_handler_error_without_staff_chat_still_answers_user(
    app_factory, fake: FakeBotApi, services: Services
) -> None:
    services.staff_chat_id = None
    chat = Dialogue(fake, await app_factory(with_features(BOOM)))
    assert (await chat.send(MEMBER, "/boom", expect_error=True)).texts == [texts.ERROR]
    assert [c.chat_id for c in fake.bot_calls("sendMessage")] == [MEMBER]


async def test_blocked_user_does_not_break_the_bot(chat: Dialogue, fake: FakeBotApi) -> None:
    fake.blocked.add(MEMBER)
    replies = await chat.send(MEMBER, "/cancel", expect_error=True)  # the reply fails with 403
    assert replies == []
    assert fake.bot_calls("sendMessage", chat_id=MEMBER, include_failed=True)[-1].status == 403
    fake.blocked.clear()
    # Blocking marked the member inactive (no staff alert); writing again shows they unblocked the bot.
    assert (await chat.send(MEMBER, "/cancel")).texts == [texts.NOTHING_TO_CANCEL]
