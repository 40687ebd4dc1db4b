"""/broadcast dialogue, receipts, the JobQueue sender, scheduled sends across a restart, quiet hours, /settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.broadcast import run_due, wait_idle
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, Services
from store import preferences
from store.broadcasts import outbox
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

TZ = ZoneInfo("Asia/Shanghai")
STAFF, M1, M2, M3 = 2001, 1001, 1002, 1003
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=TZ).astimezone(UTC)


async def _people(roster: Callable[..., Awaitable[list]]) -> None:
    await roster(
        {"name": "李干事", "role": "staff", "telegram_id": STAFF, "sector": "机关"},
        {"name": "张明", "telegram_id": M1, "sector": "经济界", "district": "城关区"},
        {"name": "王芳", "telegram_id": M2, "sector": "经济界", "district": "七里河区"},
        {"name": "赵强", "telegram_id": M3, "sector": "教育界", "district": "城关区"},
    )


def _defaults(services: Services) -> preferences.PrefsDefaults:
    return services.config(BroadcastConfig).defaults


async def _status(services: Services, bid: int) -> outbox.Status:
    async with services.db.session() as s:
        st = await outbox.status(s, broadcast_id=bid)
    assert st is not None
    return st


async def test_non_staff_cannot_broadcast_by_command_or_button(chat: Dialogue, roster, services: Services) -> None:
    await _people(roster)
    replies = await chat.send(M1, "/broadcast")
    assert texts.STAFF_ONLY in replies.text
    for data in ("bc:ok", "bc:all", "bc:st:1", "bc:test"):
        assert texts.STAFF_ONLY in (await chat.press(M1, data)).text
    async with services.db.session() as s:
        assert await outbox.latest_id(s) is None


async def test_compose_preview_test_confirm_send_and_receipt(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication,
) -> None:
    await _people(roster)
    assert texts.BROADCAST_ASK_TEXT in (await chat.send(STAFF, "/broadcast")).text
    notice = "各位委员：本周五下午三点召开经济界联组会议，请准时参加。"
    replies = await chat.send(STAFF, notice)
    assert replies.buttons == [texts.BTN_BC_SKIP]
    replies = await chat.tap(STAFF, texts.BTN_BC_SKIP)
    assert "全体委员（4 人）" in replies.text
    replies = await chat.tap(STAFF, texts.BTN_BC_KINDS["sector"])
    assert "经济界（2）" in replies.buttons
    replies = await chat.tap(STAFF, "经济界（2）")
    assert "✓ 经济界（2）" in replies.buttons
    replies = await chat.tap(STAFF, texts.BTN_BC_BACK)
    assert "界别：经济界（2 人）" in replies.text
    await chat.tap(STAFF, texts.BTN_BC_AUDIENCE_DONE)
    replies = await chat.tap(STAFF, texts.BTN_BC_NOW)
    assert "（2 人）" in replies.text and notice in replies.text
    replies = await chat.tap(STAFF, texts.BTN_BC_RECEIPT.format(state=texts.BROADCAST_NO))
    assert texts.BTN_BC_RECEIPT.format(state=texts.BROADCAST_YES) in replies.buttons
    since = fake.mark()
    await chat.tap(STAFF, texts.BTN_BC_TEST)
    test_copy = [c for c in fake.replies_since(since, chat_id=STAFF) if c.method == "sendMessage"]
    assert len(test_copy) == 1 and notice in (test_copy[0].text or "")
    assert fake.bot_calls("sendMessage", chat_id=M1) == []  # the test went to the staff member only
    replies = await chat.tap(STAFF, texts.BTN_CONFIRM)
    assert "共 2 人" in replies.text

    await wait_idle(bot_app)  # confirming starts a pass at once
    await run_due(bot_app)
    for member in (M1, M2):
        sent = fake.bot_calls("sendMessage", chat_id=member)
        assert len(sent) == 1 and notice in (sent[0].text or "") and sent[0].buttons == [[texts.BTN_RECEIVED]]
    assert fake.bot_calls("sendMessage", chat_id=M3) == []
    progress = fake.bot_calls("editMessageText", chat_id=STAFF)
    assert progress and "已送达 2" in (progress[-1].text or "") and "已完成" in (progress[-1].text or "")

    replies = await chat.tap(M1, texts.BTN_RECEIVED)
    assert texts.BROADCAST_ACK_THANKS in replies.text
    data = fake.api.find_button(M2, texts.BTN_RECEIVED)
    assert data is not None
    await chat.send(M3, "/help")  # so M3's chat has a bot message to carry the forged button
    own = max(i for i, m in fake.api.messages[M3].items() if m["from"].get("is_bot"))
    forged = fake.api.user_presses(M3, data[1], message=fake.api.messages[M3][own])
    assert texts.BROADCAST_ACK_NOT_YOURS in (await chat.process(forged)).text  # someone else's receipt
    async with services.db.session() as s:
        bid = await outbox.latest_id(s)
    assert bid is not None
    st = await _status(services, bid)
    assert (st.sent, st.acknowledged) == (2, 1)
    replies = await chat.send(STAFF, f"/broadcast status {bid}")
    assert "已回执 1" in replies.text


async def test_scheduled_broadcast_is_sent_after_a_restart(
    roster, services: Services, fake: FakeBotApi, app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    await _people(roster)
    first = await app_factory()
    chat = Dialogue(fake, first)
    services.clock = lambda: NOON
    await chat.send(STAFF, "/broadcast")
    await chat.send(STAFF, "明天上午九点集中学习。")
    await chat.tap(STAFF, texts.BTN_BC_SKIP)
    await chat.tap(STAFF, texts.BTN_BC_ALL)
    await chat.tap(STAFF, texts.BTN_BC_AUDIENCE_DONE)
    await chat.tap(STAFF, texts.BTN_BC_LATER)
    replies = await chat.send(STAFF, "2026-11-27 09:00")
    assert "2026-11-27 09:00" in replies.text
    replies = await chat.tap(STAFF, texts.BTN_CONFIRM)
    assert "2026-11-27 09:00" in replies.text
    await wait_idle(first)
    await run_due(first)
    assert all(fake.bot_calls("sendMessage", chat_id=m) == [] for m in (M1, M2, M3))

    # The restart: the first Application stops (its job queue too, so its sender tick cannot hold the
    # sender lock while the new one runs), and a new one starts on the same database.
    await first.stop()
    await wait_idle(first)
    restarted = await app_factory()
    services.clock = lambda: datetime(2026, 11, 27, 8, 59, tzinfo=TZ).astimezone(UTC)
    await run_due(restarted)
    assert all(fake.bot_calls("sendMessage", chat_id=m) == [] for m in (M1, M2, M3))
    services.clock = lambda: datetime(2026, 11, 27, 9, 0, tzinfo=TZ).astimezone(UTC)
    await run_due(restarted)
    assert all(len(fake.bot_calls("sendMessage", chat_id=m)) == 1 for m in (M1, M2, M3))


async def test_quiet_hours_hold_back_non_urgent_notices(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication,
) -> None:
    await _people(roster)
    night = datetime(2026, 11, 26, 23, 0, tzinfo=TZ).astimezone(UTC)
    services.clock = lambda: night
    async with services.db.session() as s:
        await preferences.set_quiet_hours(s, member_id=(await _member_id(s, M3)), window=None, now=night)
        normal = await outbox.create(s, new=outbox.NewBroadcast(text="学习材料已更新。", audience=[{}]), now=night,
                                     tz=services.tz, defaults=_defaults(services))
        urgent = await outbox.create(s, new=outbox.NewBroadcast(text="明早会议改期。", audience=[{}], urgent=True),
                                     now=night, tz=services.tz, defaults=_defaults(services))
    await run_due(bot_app)
    assert (await _status(services, urgent.id)).sent == 4
    normal_status = await _status(services, normal.id)  # only M3 (quiet hours off) got the normal one
    assert (normal_status.sent, normal_status.pending, normal_status.deferred) == (1, 3, 3)
    assert [len(fake.bot_calls("sendMessage", chat_id=m)) for m in (M1, M2, M3)] == [1, 1, 2]
    services.clock = lambda: datetime(2026, 11, 27, 8, 0, tzinfo=TZ).astimezone(UTC)
    await run_due(bot_app)
    assert (await _status(services, normal.id)).sent == 4


async def _member_id(session, telegram_id: int) -> int:
    from store import members

    member = await members.get_by_telegram_id(session, telegram_id=telegram_id)
    assert member is not None
    return member.id


async def test_settings_topics_and_quiet_hours_target_learning_pushes(
    chat: Dialogue, roster, services: Services,
) -> None:
    await _people(roster)
    replies = await chat.send(M1, "/settings")
    assert "22:00-08:00" in replies.text
    topic = "经济发展"
    replies = await chat.tap(M1, topic)
    assert f"✓ {topic}" in replies.buttons
    replies = await chat.tap(M1, texts.BTN_SETTINGS_QUIET_OFF)
    assert texts.SETTINGS_QUIET_OFF in replies.text
    async with services.db.session() as s:
        from store.broadcasts import audience

        targets = await audience.resolve(s, spec=[{"topic": [topic]}])
        prefs = await preferences.get(s, member_id=targets[0].member_id, defaults=_defaults(services))
    assert [t.chat_id for t in targets] == [M1] and prefs.quiet_enabled is False
    assert texts.UNBOUND in (await chat.send(9999, "/settings")).text


async def test_cancel_discards_the_draft(chat: Dialogue, roster) -> None:
    await _people(roster)
    await chat.send(STAFF, "/broadcast")
    assert texts.BROADCAST_DRAFT_CANCELLED in (await chat.send(STAFF, "/cancel")).text
    assert texts.STALE_BUTTON in (await chat.press(STAFF, "bc:ok")).text


def test_settings_card_shows_an_empty_default_window_as_off() -> None:
    from datetime import time

    from handlers.member_settings import _card

    none_by_default = preferences.Prefs(quiet_start=time(0), quiet_end=time(0))  # QUIET_HOURS_DEFAULT=00:00-00:00
    text, markup = _card(none_by_default, ("经济发展",), [])
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert f"免打扰：{texts.SETTINGS_QUIET_OFF}" in text and "00:00-00:00" not in text
    assert f"✓ {texts.BTN_SETTINGS_QUIET_OFF}" in labels
    text, markup = _card(preferences.Prefs(), ("经济发展",), [])
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert "免打扰：22:00-08:00" in text and "✓ 22:00-08:00" in labels and texts.BTN_SETTINGS_QUIET_OFF in labels
