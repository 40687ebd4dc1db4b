"""Issue #7 hardening: a neutral /help for staff, a blocked user is not a bug, forged ids are stale buttons."""

from __future__ import annotations

import pytest

from handlers import texts
from handlers.context import Services
from store import members as members_repo
from store.models import Member
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

MEMBER, OTHER, STAFF = 1001, 1002, 9001


@pytest.fixture(autouse=True)
async def people(roster) -> list[Member]:
    return await roster({"name": "张明", "telegram_id": MEMBER}, {"name": "王芳", "telegram_id": OTHER},
                        {"name": "李干事", "role": "staff", "telegram_id": STAFF})


async def is_active(services: Services, telegram_id: int) -> bool:
    async with services.db.session() as session:
        member = await members_repo.get_by_telegram_id(session, telegram_id=telegram_id)
        assert member is not None
        return member.active


# ---- /help heads ---------------------------------------------------------------------------------


async def test_staff_help_opens_with_a_neutral_greeting(chat: Dialogue) -> None:
    staff_help = (await chat.send(STAFF, "/help")).text
    assert staff_help.startswith(texts.HELP_STAFF_INTRO)
    assert "委员您好" not in staff_help and texts.HELP_STAFF_HEAD in staff_help
    member_help = (await chat.send(MEMBER, "/help")).text
    assert member_help.startswith(texts.HELP_MEMBER_HEAD) and not member_help.startswith(texts.HELP_STAFF_INTRO)


# ---- the user blocked the bot ------------------------------------------------------------------


async def test_blocked_user_is_marked_inactive_without_a_staff_alert(chat: Dialogue, fake: FakeBotApi,
                                                                     services: Services) -> None:
    fake.blocked.add(MEMBER)
    await chat.send(MEMBER, "/help", expect_error=True)
    assert fake.bot_calls(chat_id=STAFF_CHAT_ID, include_failed=True) == []  # not a bug: no alert
    # One attempt to reply; no second attempt to tell a user who cannot hear us.
    assert len(fake.bot_calls("sendMessage", chat_id=MEMBER, include_failed=True)) == 1
    assert not await is_active(services, MEMBER)
    assert await is_active(services, OTHER)
    # Back again: writing to the bot proves they unblocked it, so they are active again at once.
    fake.blocked.discard(MEMBER)
    replies = await chat.send(MEMBER, "/help")
    assert texts.HELP_MEMBER_HEAD in replies.text
    assert await is_active(services, MEMBER)


async def test_member_deactivated_by_staff_stays_inactive(chat: Dialogue, services: Services) -> None:
    async with services.db.session() as session:
        member = await members_repo.get_by_telegram_id(session, telegram_id=MEMBER)
        assert member is not None
        member.active = False  # the office's decision, not a block
    assert (await chat.send(MEMBER, "/help")).texts == [texts.HELP_UNBOUND]
    assert not await is_active(services, MEMBER)


async def test_forbidden_about_another_chat_does_not_deactivate_the_sender(chat: Dialogue, fake: FakeBotApi,
                                                                           services: Services) -> None:
    fake.api.fail_next("sendMessage", 403, description="Forbidden: bot was kicked from the supergroup chat")
    await chat.send(MEMBER, "/help", expect_error=True)
    assert await is_active(services, MEMBER)
    assert fake.bot_calls(chat_id=STAFF_CHAT_ID, include_failed=True) == []


async def test_other_errors_still_alert_the_staff_chat(chat: Dialogue, fake: FakeBotApi, services: Services) -> None:
    fake.fail_next("sendMessage", 400)
    await chat.send(MEMBER, "/help", expect_error=True)
    alerts = fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)
    assert len(alerts) == 1 and alerts[0].text is not None and alerts[0].text.startswith("⚠️")
    assert await is_active(services, MEMBER)


# ---- forged ids found by the fuzzer (tests/fuzz) --------------------------------------------------

FORGED = ["ck:ok:" + "9" * 30, "ck:ok:²", "bc:ack:" + "9" * 30, "cr:d:" + "9" * 30, "cr:d:²", "pref:t:²",
          "pref:q:²", "qa:fb:" + "9" * 30 + ":u", "qa:src:2147483648"]
STAFF_FORGED = ["bc:st:²", "bc:st:" + "9" * 30, "crs:uphold:²", "crs:correct:" + "9" * 30]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_ids_get_a_stale_button_alert(chat: Dialogue, data: str) -> None:
    replies = await chat.press(MEMBER, data)
    assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.STALE_BUTTON)]


@pytest.mark.parametrize("data", STAFF_FORGED)
async def test_forged_ids_on_staff_buttons_get_a_stale_button_alert(chat: Dialogue, data: str) -> None:
    replies = await chat.press(STAFF, data)
    assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.STALE_BUTTON)]


@pytest.mark.parametrize("arg", ["9" * 30, "²"])
async def test_broadcast_status_with_a_malformed_id_lists_recent(chat: Dialogue, arg: str) -> None:
    assert (await chat.send(STAFF, f"/broadcast status {arg}")).texts == [texts.BROADCAST_LIST_EMPTY]


async def test_unknown_action_on_a_real_checkin_draft_is_answered_once(chat: Dialogue, fake: FakeBotApi) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》40分钟")
    draft_button = fake.api.find_button(MEMBER, texts.BTN_CONFIRM)
    assert draft_button is not None
    draft_id = draft_button[1].split(":")[2]
    for data in (f"ck:zz:{draft_id}", f"ck:f:{draft_id}:zz"):
        replies = await chat.press(MEMBER, data)
        assert [(r.method, r.text) for r in replies] == [("answerCallbackQuery", texts.STALE_BUTTON)]
    assert (await chat.tap(MEMBER, texts.BTN_CONFIRM)).texts  # the draft is intact


async def test_event_points_with_a_non_ascii_digit_is_a_clear_error(chat: Dialogue) -> None:
    replies = await chat.send(STAFF, "/event 学习会 | 会议 | 明天 9:00 | 明天 11:00 | 积分=²")
    assert len(replies.texts) == 1 and replies.texts[0].startswith(texts.EVENT_BAD.split("{")[0])


# ---- a press redelivered after a crash ------------------------------------------------------------


async def test_refused_second_answer_to_a_press_does_not_undo_its_work(chat: Dialogue, fake: FakeBotApi) -> None:
    card = await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    assert texts.BTN_CONFIRM in card.buttons
    # As after a crash: the press was answered before, so Telegram refuses to answer it again.
    fake.api.fail_next("answerCallbackQuery", 400,
                       description="Bad Request: query is too old and response timeout expired or query ID is invalid")
    done = await chat.tap(MEMBER, texts.BTN_CONFIRM)  # would raise here if the error handler ran
    assert any("已记录打卡" in t for t in done.texts)
    assert fake.bot_calls(chat_id=STAFF_CHAT_ID, include_failed=True) == []


async def test_other_bad_requests_on_answers_still_count_as_errors(chat: Dialogue, fake: FakeBotApi) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    fake.api.fail_next("answerCallbackQuery", 400, description="Bad Request: message text is empty")
    await chat.process(fake.user_taps(MEMBER, texts.BTN_CONFIRM), expect_error=True)
