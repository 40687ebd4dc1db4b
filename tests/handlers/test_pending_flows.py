"""One mechanism for multi-step input (issue #12): every flow continues in a new Application on the same
database (a restart, or a second process), and a typed label of a button on the card waiting for the
member acts as that button, in every flow, never reaching the knowledge base."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from handlers import texts
from handlers.context import BotApplication, Services
from handlers.pending import match_label, normalise
from store.broadcasts import outbox
from store.credits import reports
from store.credits.rules import default_rules
from store.proposals import repository as proposals_repo
from store.proposals.config import DEFAULT_CATEGORIES, ProposalsConfig
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue, Replies
from tests.support.clock import TestClock

MEMBER, OTHER, STAFF = 1001, 1002, 9001
CHECKIN = "今天学习了《政协章程》45分钟"
SUGGESTION = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"
VENUE = "政协大楼 29.5630,106.5516 200"
AT_VENUE, FAR_AWAY = (29.5631, 106.5516), (29.5720, 106.5516)
AppFactory = Callable[..., Awaitable[BotApplication]]
# What the catch-all Q&A says without a knowledge base (the tests' services have none): a typed label
# that reached it would get one of these.
QA_REPLIES = (texts.KB_UNAVAILABLE, texts.NOT_UNDERSTOOD)


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[object]]]) -> None:
    await roster(
        {"name": "张明", "telegram_id": MEMBER, "sector": "经济界"},
        {"name": "王芳", "telegram_id": OTHER, "sector": "教育界"},
        {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
    )


async def restarted(app_factory: AppFactory, fake: FakeBotApi) -> Dialogue:
    """A new Application on the same database: nothing of the first one's memory."""
    return Dialogue(fake, await app_factory())


def not_qa(replies: Replies) -> None:
    assert replies.texts, "the bot said nothing"
    for qa in QA_REPLIES:
        assert qa not in replies.text


async def total(services: Services, name: str = "张明") -> int:
    async with services.db.session() as session:
        rows = await reports.report_rows(session, rules=default_rules(), period=reports.year_period(2026))
    return next(r.total for r in rows if r.member.name == name)


async def proposals(services: Services) -> list[dict]:
    async with services.db.session() as session:
        return await proposals_repo.export_all(session, now=services.clock(), tz=services.tz,
                                               config=ProposalsConfig())


# ---- the shared helper ---------------------------------------------------------------------------


def test_labels_are_compared_loosely_but_never_by_part() -> None:
    buttons = [(texts.BTN_CONFIRM, "x:ok"), (texts.BTN_CANCEL, "x:no"), ("附议 1", "x:sup:7")]
    for typed in ("确认", " 确认 ", "确认。", "确认！", "「确认」", "确\u3000认", "确认\n"):
        assert match_label(typed, buttons) == "x:ok", typed
    assert match_label("附议１", buttons) == "x:sup:7"  # full-width digit
    for typed in ("确认一下我的积分", "不确认", "", "。", "取消" * 20):
        assert match_label(typed, buttons) in (None,), typed
    assert normalise("回执：需要") == normalise("回执:需要")


# ---- study check-ins ------------------------------------------------------------------------------


async def test_typed_confirm_under_a_checkin_card_records_it(chat: Dialogue, people: None, services: Services
                                                             ) -> None:
    card = await chat.send(MEMBER, CHECKIN)
    assert card.buttons == [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL]
    done = await chat.send(MEMBER, "确认。")
    not_qa(done)
    assert "获得 2 分" in done.text and "今年累计 2 分" in done.text
    assert await total(services) == 2
    again = await chat.send(MEMBER, "确认")  # the card is gone: said so, not asked of the knowledge base
    assert again.texts == [texts.LABEL_NOTHING_WAITING]
    assert await total(services) == 2


async def test_typed_cancel_and_edit_on_a_checkin_card(chat: Dialogue, people: None, services: Services) -> None:
    await chat.send(MEMBER, CHECKIN)
    cancelled = await chat.send(MEMBER, " 取消 ")
    assert cancelled.texts == [texts.CHECKIN_CANCELLED]
    assert (await chat.send(MEMBER, "取消")).texts == [texts.NOTHING_TO_CANCEL]
    await chat.send(MEMBER, CHECKIN)
    which = await chat.send(MEMBER, "修改")
    assert texts.CHECKIN_EDIT_WHICH in which.text and texts.BTN_EDIT_MINUTES in which.buttons
    ask = await chat.send(MEMBER, texts.BTN_EDIT_MINUTES)
    assert texts.CHECKIN_ASK_FIELD["minutes"] in ask.text
    fixed = await chat.send(MEMBER, "1小时")
    assert "60 分钟" in fixed.text and "预计积分：3 分" in fixed.text
    assert "获得 3 分" in (await chat.send(MEMBER, "确认")).text
    assert await total(services) == 3


async def test_checkin_continues_after_a_restart(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None, services: Services
) -> None:
    prompt = await chat.send(MEMBER, "/checkin")
    assert "今天学习了《政协章程》40分钟" in prompt.text
    second = await restarted(app_factory, fake)
    card = await second.send(MEMBER, "40分钟")  # a bare duration answers the prompt the first app asked
    assert "40 分钟" in card.text and card.buttons[0] == texts.BTN_CONFIRM
    await second.send(MEMBER, texts.BTN_EDIT)
    third = await restarted(app_factory, fake)
    assert texts.CHECKIN_ASK_FIELD["minutes"] in (await third.send(MEMBER, texts.BTN_EDIT_MINUTES)).text
    fourth = await restarted(app_factory, fake)
    assert "60 分钟" in (await fourth.send(MEMBER, "1小时")).text
    fifth = await restarted(app_factory, fake)
    assert "获得 3 分" in (await fifth.send(MEMBER, "确认")).text
    assert await total(services) == 3


async def test_the_newest_card_is_the_one_a_typed_label_means(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    offer = await chat.send(MEMBER, SUGGESTION)
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    card = await chat.tap(MEMBER, DEFAULT_CATEGORIES[0])
    assert card.buttons == [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL] and offer.texts
    clock.advance(minutes=1)
    await chat.send(MEMBER, CHECKIN)  # a check-in card, newer than the proposal's
    assert "获得 2 分" in (await chat.send(MEMBER, "确认")).text
    assert await proposals(services) == []  # the proposal card still waits
    clock.advance(minutes=1)
    submitted = await chat.send(MEMBER, "确认")
    assert "已提交，编号 WJY-2026-0001" in submitted.text


# ---- credit disputes ------------------------------------------------------------------------------


async def _open_dispute(chat: Dialogue) -> Replies:
    await chat.send(MEMBER, CHECKIN)
    await chat.send(MEMBER, "确认")
    await chat.send(MEMBER, "/credits")
    await chat.tap(MEMBER, texts.BTN_CREDITS_DISPUTE)
    asked = await chat.tap(MEMBER, texts.DISPUTE_BUTTON.format(id=1))
    assert texts.DISPUTE_ASK_REASON in asked.text and asked.buttons == [texts.BTN_CANCEL]
    return asked


async def test_dispute_reason_is_taken_after_a_restart(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None
) -> None:
    await _open_dispute(chat)
    second = await restarted(app_factory, fake)
    submitted = await second.send(MEMBER, "实际学习了 60 分钟")
    assert "申诉已提交" in submitted.text
    assert "实际学习了 60 分钟" in (fake.bot_calls("sendMessage", chat_id=STAFF)[-1].text or "")


async def test_dispute_cancelled_by_typed_label_or_button(chat: Dialogue, people: None, fake: FakeBotApi) -> None:
    await _open_dispute(chat)
    cancelled = await chat.send(MEMBER, "取消。")
    assert cancelled.texts == [texts.CANCELLED]
    assert fake.bot_calls("sendMessage", chat_id=STAFF) == []
    await chat.tap(MEMBER, texts.BTN_CREDITS_DISPUTE)
    await chat.tap(MEMBER, texts.DISPUTE_BUTTON.format(id=1))
    tapped = await chat.tap(MEMBER, texts.BTN_CANCEL)
    assert texts.CANCELLED in tapped.text
    question = await chat.send(MEMBER, "实际学习了 60 分钟")  # nothing waits: not taken as a reason
    assert "申诉已提交" not in question.text


# ---- event locations ------------------------------------------------------------------------------


async def _event(chat: Dialogue, code: str, *, required: bool) -> None:
    spec = f"现场会 | 会议 | 现在 | +3h | 地点={VENUE} | 代码={code}" + (" | 定位=必需" if required else "")
    created = await chat.send(STAFF, f"/event {spec}")
    assert f"EVT-{code}" in created.text


async def test_required_location_after_a_restart(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None, services: Services
) -> None:
    await _event(chat, "XC01", required=True)
    asked = await chat.send(MEMBER, "XC01")
    assert texts.EVENT_LOCATION_REQUIRED in asked.text
    second = await restarted(app_factory, fake)
    far = await second.send_location(MEMBER, *FAR_AWAY)
    assert "超出 200 米" in far.text
    third = await restarted(app_factory, fake)  # the check-in still waits for a location from the venue
    done = await third.send_location(MEMBER, *AT_VENUE)
    assert "签到成功" in done.text
    assert await total(services) > 0


async def test_optional_location_after_a_restart_and_declined_by_typing(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None
) -> None:
    await _event(chat, "XC02", required=False)
    asked = await chat.send(MEMBER, "/start EVT-XC02")
    assert "签到成功" in asked.text and texts.EVENT_ASK_LOCATION in asked.text
    markup = fake.bot_calls("sendMessage", chat_id=MEMBER)[-1].params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    keyboard = [[b["text"] for b in row] for row in markup["keyboard"]]
    assert keyboard == [[texts.BTN_SEND_LOCATION, texts.BTN_LOCATION_SKIP]]
    second = await restarted(app_factory, fake)
    shared = await second.send_location(MEMBER, *AT_VENUE)
    assert "已记录位置" in shared.text
    await _event(chat, "XC03", required=False)
    await second.send(OTHER, "XC03")
    typed = await second.send(OTHER, "发送位置")  # typing the location button's label cannot carry one
    assert typed.texts == [texts.EVENT_LOCATION_USE_BUTTON]
    declined = await second.send(OTHER, "不用了")
    assert declined.texts == [texts.EVENT_LOCATION_SKIPPED]
    third = await restarted(app_factory, fake)
    late = await third.send_location(OTHER, *AT_VENUE)  # nothing waits for it any more
    assert "已记录位置" not in late.text


async def test_required_location_declined_by_typing(chat: Dialogue, people: None, services: Services) -> None:
    await _event(chat, "XC04", required=True)
    await chat.send(MEMBER, "XC04")
    declined = await chat.send(MEMBER, "不用了。")
    not_qa(declined)
    assert declined.texts == [texts.EVENT_LOCATION_SKIPPED]
    late = await chat.send_location(MEMBER, *AT_VENUE)
    assert "签到成功" not in late.text
    assert await total(services) == 0


# ---- broadcasts -----------------------------------------------------------------------------------


async def test_broadcast_by_typed_labels_across_restarts(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None, services: Services
) -> None:
    assert texts.BROADCAST_ASK_TEXT in (await chat.send(STAFF, "/broadcast")).text
    notice = "各位委员：本周五下午三点召开联组会议，请准时参加。"
    assert (await chat.send(STAFF, notice)).buttons == [texts.BTN_BC_SKIP]
    second = await restarted(app_factory, fake)
    audience = await second.send(STAFF, "跳过")
    assert "全体委员（3 人）" in audience.text
    third = await restarted(app_factory, fake)
    values = await third.send(STAFF, texts.BTN_BC_KINDS["sector"])
    assert "经济界（2）" in values.buttons
    picked = await third.send(STAFF, "经济界")
    assert "✓ 经济界（2）" in picked.buttons
    unpicked = await third.send(STAFF, "✓ 经济界（2）")
    assert "经济界（2）" in unpicked.buttons
    await third.send(STAFF, texts.BTN_BC_BACK)
    assert texts.BROADCAST_ASK_SCHEDULE in (await third.send(STAFF, texts.BTN_BC_AUDIENCE_DONE)).text
    preview = await third.send(STAFF, f" {texts.BTN_BC_NOW} ")
    assert notice in preview.text and texts.BTN_CONFIRM in preview.buttons
    receipt_on = await third.send(STAFF, texts.BTN_BC_RECEIPT.format(state=texts.BROADCAST_NO))
    assert texts.BTN_BC_RECEIPT.format(state=texts.BROADCAST_YES) in receipt_on.buttons
    fourth = await restarted(app_factory, fake)
    queued = await fourth.send(STAFF, "确认")
    not_qa(queued)
    assert "已加入发送队列" in queued.text and "共 3 人" in queued.text
    async with services.db.session() as session:
        bid = await outbox.latest_id(session)
        assert bid is not None
        broadcast = await outbox.get(session, broadcast_id=bid)
    assert broadcast is not None and broadcast.receipt and broadcast.text == notice


async def test_broadcast_cancelled_by_typed_label(chat: Dialogue, people: None, services: Services) -> None:
    await chat.send(STAFF, "/broadcast")
    await chat.send(STAFF, "通知：明天上午九点开会。")
    await chat.send(STAFF, texts.BTN_BC_SKIP)
    cancelled = await chat.send(STAFF, "取消")
    assert cancelled.texts == [texts.BROADCAST_DRAFT_CANCELLED]
    async with services.db.session() as session:
        assert await outbox.latest_id(session) is None


# ---- proposals ------------------------------------------------------------------------------------


async def test_proposal_by_typed_labels_across_restarts(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None, services: Services
) -> None:
    offer = await chat.send(MEMBER, SUGGESTION)
    assert offer.buttons == [texts.BTN_PROPOSAL_RECORD, texts.BTN_PROPOSAL_NOT_NOW]
    second = await restarted(app_factory, fake)
    ask = await second.send(MEMBER, texts.BTN_PROPOSAL_RECORD)
    assert texts.PROPOSAL_ASK_CATEGORY in ask.text
    third = await restarted(app_factory, fake)
    card = await third.send(MEMBER, f"{DEFAULT_CATEGORIES[1]}。")
    assert f"类别：{DEFAULT_CATEGORIES[1]}" in card.text
    fourth = await restarted(app_factory, fake)
    submitted = await fourth.send(MEMBER, "确认")
    not_qa(submitted)
    assert "已提交，编号 WJY-2026-0001" in submitted.text
    assert [p["category"] for p in await proposals(services)] == [DEFAULT_CATEGORIES[1]]


async def test_proposal_offer_declined_and_card_cancelled_by_typing(
    chat: Dialogue, people: None, services: Services
) -> None:
    await chat.send(MEMBER, SUGGESTION)
    assert (await chat.send(MEMBER, "不用了")).texts == [texts.PROPOSAL_OFFER_DECLINED]
    await chat.send(MEMBER, SUGGESTION)
    await chat.send(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await chat.send(MEMBER, DEFAULT_CATEGORIES[0])
    assert texts.PROPOSAL_ASK_FIELD in (await chat.send(MEMBER, "修改")).text
    assert (await chat.send(MEMBER, "取消！")).texts == [texts.PROPOSAL_DRAFT_CANCELLED]
    assert await proposals(services) == []


async def test_confirm_typed_under_the_offer_means_yes_and_under_categories_gets_a_hint(
    chat: Dialogue, people: None, services: Services
) -> None:
    await chat.send(MEMBER, SUGGESTION)
    ask = await chat.send(MEMBER, "确认")  # "记录为微建议吗？" — 确认 means 记录为建议
    not_qa(ask)
    assert texts.PROPOSAL_ASK_CATEGORY in ask.text
    hint = await chat.send(MEMBER, "确认")  # the category card has no 确认: it says what it has
    not_qa(hint)
    assert hint.texts == [texts.LABEL_NOT_ON_CARD]
    card = await chat.send(MEMBER, DEFAULT_CATEGORIES[0])  # still waiting: the draft goes on
    assert f"类别：{DEFAULT_CATEGORIES[0]}" in card.text
    assert await proposals(services) == []


async def test_staff_prompt_continues_after_a_restart(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None, services: Services,
    clock: TestClock,
) -> None:
    await chat.send(MEMBER, SUGGESTION)
    await chat.send(MEMBER, texts.BTN_PROPOSAL_RECORD)
    await chat.send(MEMBER, DEFAULT_CATEGORIES[0])
    await chat.send(MEMBER, texts.BTN_CONFIRM)
    (item,) = await proposals(services)
    async with services.db.session() as session:
        proposal = await proposals_repo.get(session, proposal_id=1)
        assert proposal is not None
    await chat.press(STAFF, f"wjy:a:{proposal.id}:rej")
    clock.advance(timedelta(seconds=5))
    second = await restarted(app_factory, fake)
    rejected = await second.send(STAFF, "与已有规划重复，暂不采纳")
    not_qa(rejected)
    (after,) = await proposals(services)
    assert item["status"] == "submitted" and after["status"] == "rejected"


async def test_cancel_typed_under_a_question_without_buttons(chat: Dialogue, people: None, services: Services
                                                             ) -> None:
    assert (await chat.send(MEMBER, "/propose")).texts == [texts.PROPOSAL_ASK_CONTENT]
    assert (await chat.send(MEMBER, "取消")).texts == [texts.PROPOSAL_DRAFT_CANCELLED]
    assert texts.BROADCAST_ASK_TEXT in (await chat.send(STAFF, "/broadcast")).text
    assert (await chat.send(STAFF, "取消。")).texts == [texts.BROADCAST_DRAFT_CANCELLED]
    assert (await chat.send(STAFF, "取消")).texts == [texts.NOTHING_TO_CANCEL]
    async with services.db.session() as session:
        assert await outbox.latest_id(session) is None
