"""撤回 in Telegram: the author withdraws a queued notice from its progress card or a notice awaiting review
from the submitted message, after a confirmation; nothing goes out, a reviewer's later 批准 changes nothing;
colleagues and members are refused, and typed ``/broadcast 撤回 ID`` does the same as the button."""

from __future__ import annotations

from datetime import timedelta

from handlers import texts
from handlers.broadcast import run_due, wait_idle
from handlers.context import BotApplication, Services
from store import audit
from store.broadcasts import outbox
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_broadcast_approval import (
    M1,
    M2,
    NOON,
    NOTICE,
    REV1,
    STAFF,
    _compose,
    _delivered,
    _latest,
    _people,
)
from tests.support.clock import TestClock

COLLEAGUE = 2002


async def _status(services: Services, bid: int) -> outbox.Status:
    async with services.db.session() as s:
        st = await outbox.status(s, broadcast_id=bid)
    assert st is not None
    return st


async def _compose_for_later(chat: Dialogue, user: int) -> str:
    await chat.send(user, "/broadcast")
    await chat.send(user, NOTICE)
    await chat.tap(user, texts.BTN_BC_SKIP)
    await chat.tap(user, texts.BTN_BC_AUDIENCE_DONE)
    await chat.tap(user, texts.BTN_BC_LATER)
    await chat.send(user, "今天 15:30")
    return (await chat.tap(user, texts.BTN_CONFIRM)).text


async def test_the_author_withdraws_a_scheduled_notice_from_its_progress_card(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await roster(
        {"name": "李干事", "role": "staff", "telegram_id": STAFF, "sector": "机关"},
        {"name": "张明", "telegram_id": M1, "sector": "经济界"},
        {"name": "王芳", "telegram_id": M2, "sector": "经济界"},
    )
    confirmed = await _compose_for_later(chat, STAFF)  # no reviewer: scheduled at once
    bid = await _latest(services)
    assert texts.BROADCAST_SCHEDULED.format(id=bid, when="2026-11-26 15:30", count=3) in confirmed
    card = fake.bot_calls("sendMessage", chat_id=STAFF)[-1]
    assert card.buttons == [[texts.BTN_BC_REFRESH, texts.BTN_BC_WITHDRAW]]
    asked = await chat.tap(STAFF, texts.BTN_BC_WITHDRAW)
    assert texts.BROADCAST_WITHDRAW_ASK.format(id=bid, state="定时待发") in asked.text
    assert asked.buttons == [texts.BTN_BC_WITHDRAW_YES, texts.BTN_BC_WITHDRAW_NO]
    kept = await chat.tap(STAFF, texts.BTN_BC_WITHDRAW_NO)  # changed their mind: back to the progress card
    assert f"通知 #{bid} 定时待发" in kept.text and (await _status(services, bid)).state == "scheduled"
    await chat.tap(STAFF, texts.BTN_BC_WITHDRAW)
    done = await chat.tap(STAFF, texts.BTN_BC_WITHDRAW_YES)
    assert texts.BROADCAST_WITHDRAWN.format(id=bid, detail=texts.BROADCAST_WITHDRAWN_NONE) in done.text
    assert done.buttons == [texts.BTN_BC_REFRESH]  # nothing left to withdraw
    clock.set(NOON + timedelta(hours=4))  # past the time it was due
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert _delivered(fake, M1) == [] and _delivered(fake, M2) == []
    st = await _status(services, bid)
    assert (st.state, st.sent, st.failed) == ("cancelled", 0, 3)
    async with services.db.session() as s:
        [entry] = await audit.entries(s, action="broadcast.withdraw")
    assert entry.actor == "李干事"
    again = await chat.send(STAFF, f"/broadcast 撤回 {bid}")
    assert texts.BROADCAST_WITHDRAW_TOO_LATE.format(id=bid, state="已撤回") in again.text


async def test_a_notice_awaiting_review_is_withdrawn_and_a_late_approval_sends_nothing(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    await roster({"name": "周干事", "role": "staff", "telegram_id": COLLEAGUE, "sector": "机关"})
    submitted = await _compose(chat, STAFF)
    bid = await _latest(services)
    assert texts.BROADCAST_SUBMITTED.format(id=bid, audience="界别：经济界", count=2) in submitted
    [card] = [c for c in fake.bot_calls("editMessageText", chat_id=STAFF) if c.text == submitted]
    assert card.buttons == [[texts.BTN_BC_WITHDRAW]]
    await wait_idle(bot_app)
    await run_due(bot_app)  # the reviewers are asked
    # neither a colleague nor a member may withdraw it; the command needs an existing id
    assert texts.BROADCAST_WITHDRAW_NOT_ALLOWED in (await chat.send(COLLEAGUE, f"/broadcast 撤回 {bid}")).text
    assert texts.BROADCAST_WITHDRAW_NOT_ALLOWED in (await chat.press(COLLEAGUE, f"bc:wdy:{bid}")).text
    assert texts.STAFF_ONLY in (await chat.press(M1, f"bc:wdy:{bid}")).text
    assert texts.BROADCAST_WITHDRAW_USAGE in (await chat.send(STAFF, "/broadcast 撤回")).text
    assert texts.BROADCAST_NOT_FOUND.format(id=999) in (await chat.send(STAFF, "/broadcast 撤回 999")).text
    assert (await _status(services, bid)).state == "awaiting"

    asked = await chat.send(STAFF, f"/broadcast 撤回 {bid}")  # typed, the same card as the button
    assert texts.BROADCAST_WITHDRAW_ASK.format(id=bid, state="待审核") in asked.text
    done = await chat.tap(STAFF, texts.BTN_BC_WITHDRAW_YES)
    assert texts.BROADCAST_WITHDRAWN.format(id=bid, detail=texts.BROADCAST_WITHDRAWN_NONE) in done.text
    late = await chat.tap(REV1, texts.BTN_BC_APPROVE)
    assert texts.BROADCAST_REVIEW_ALREADY.format(id=bid) in late.text
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert _delivered(fake, M1) == [] and _delivered(fake, M2) == []
    assert (await _status(services, bid)).state == "cancelled"
