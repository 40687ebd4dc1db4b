"""The fake Bot API itself, driven by a real ``telegram.Bot`` in-process and over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, RetryAfter

from tests.fakes.botapi import FakeBotApi
from tests.fakes.process import E2E_TOKEN


@pytest.fixture(params=["in-process", "http"])
async def wired(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeBotApi, Bot]]:
    """The same fake reached by a real Bot through both transports."""
    if request.param == "in-process":
        fake = FakeBotApi()
        bot = Bot(E2E_TOKEN, request=fake.request(), get_updates_request=fake.request())
    else:
        fake = FakeBotApi(token=E2E_TOKEN)
        base = await fake.start_http()
        bot = Bot(E2E_TOKEN, base_url=base, base_file_url=base.removesuffix("/bot") + "/file/bot")
    try:
        async with bot:
            yield fake, bot
    finally:
        await fake.stop_http()


async def test_messages_buttons_and_taps(wired: tuple[FakeBotApi, Bot]) -> None:
    fake, bot = wired
    assert bot.username == "cppcc_demo_bot"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok:1"),
                                      InlineKeyboardButton("取消", callback_data="no:1")]])
    sent = await bot.send_message(1001, "记录这次学习吗？", reply_markup=keyboard)
    assert fake.transcript(1001) == ["记录这次学习吗？"]
    assert fake.bot_calls("sendMessage", chat_id=1001)[0].buttons == [["确认", "取消"]]
    tap = fake.user_taps(1001, "确认")
    assert tap["callback_query"]["data"] == "ok:1"
    assert tap["callback_query"]["message"]["message_id"] == sent.message_id
    assert await bot.answer_callback_query(tap["callback_query"]["id"], "已记录")
    with pytest.raises(BadRequest):  # a query is answered once
        await bot.answer_callback_query(tap["callback_query"]["id"])
    await bot.edit_message_text("已记录。", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(AssertionError, match="确认"):  # the edit removed the keyboard
        fake.user_taps(1001, "确认")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("已记录。", chat_id=1001, message_id=sent.message_id)
    assert await bot.delete_message(1001, sent.message_id)


@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")  # PTB's own RetryAfter internals
async def test_errors_on_demand(wired: tuple[FakeBotApi, Bot]) -> None:
    fake, bot = wired
    fake.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as slow_down:
        await bot.send_message(1001, "hi")
    assert "3 seconds" in slow_down.value.message
    fake.blocked.add(1002)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(1002, "hi")
    assert (await bot.send_message(1001, "hi")).text == "hi"
    assert [c.status for c in fake.bot_calls("sendMessage", include_failed=True)] == [429, 403, 200]
    with pytest.raises(Exception, match=r"(?i)not found"):
        await bot.do_api_request("noSuchMethod")


async def test_files_both_ways(wired: tuple[FakeBotApi, Bot]) -> None:
    fake, bot = wired
    update = fake.user_sends_photo(1001, b"\xff\xd8user-photo", caption="现场")
    file = await bot.get_file(update["message"]["photo"][-1]["file_id"])
    assert bytes(await file.download_as_bytearray()) == b"\xff\xd8user-photo"
    sent = await bot.send_photo(1001, b"\x89PNGchart", caption="统计图")  # a multipart upload
    uploaded = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await uploaded.download_as_bytearray()) == b"\x89PNGchart"
    doc = await bot.send_document(STAFF := -100123, b"a,b\n1,2\n", filename="report.csv")
    assert doc.document is not None and doc.document.file_name == "report.csv" and STAFF in fake.api.messages
    album = await bot.send_media_group(1001, [InputMediaPhoto(b"one", caption="相册"), InputMediaPhoto(b"two")])
    assert len(album) == 2 and fake.transcript(1001)[-1] == "相册"


async def test_long_poll_wakes_up_on_a_new_update(wired: tuple[FakeBotApi, Bot]) -> None:
    fake, bot = wired
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await fake.wait_for_call("getUpdates", since=0)
    sent = fake.user_sends(1001, "/help")
    [update] = await asyncio.wait_for(poll, 5)  # answered at once, not after the 20 s timeout
    assert update.update_id == sent["update_id"] and update.message is not None
    assert update.message.text == "/help"
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [sent["update_id"]]  # not confirmed yet
    assert await bot.get_updates(offset=sent["update_id"] + 1, timeout=0) == ()  # confirmed
    newer = fake.user_sends(1001, "下一条")
    assert newer["update_id"] > sent["update_id"]
    assert newer["message"]["message_id"] > sent["message"]["message_id"]
