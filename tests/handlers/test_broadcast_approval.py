"""The two-person rule in Telegram: a /broadcast confirmed by staff waits for a reviewer, reviewers get it with
批准 / 退回, 退回 takes the reason typed next, the first decision wins, the author is told; console uploads
go out by upload once, then by file_id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.broadcast import run_due, wait_idle
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, Services
from store import audit
from store.broadcasts import approval, outbox
from store.broadcasts.approval import ApprovalConfig
from store.models import Member
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.support.clock import TestClock

TZ = ZoneInfo("Asia/Shanghai")
STAFF, REV1, REV2, M1, M2 = 2001, 3001, 3002, 1001, 1002
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=TZ).astimezone(UTC)
NOTICE = "各位委员：本周五下午三点召开联组会议，请准时参加。"


async def _people(roster: Callable[..., Awaitable[list[Member]]]) -> list[Member]:
    return await roster(
        {"name": "李干事", "role": "staff", "telegram_id": STAFF, "sector": "机关"},
        {"name": "钱把关", "role": "reviewer", "telegram_id": REV1, "sector": "机关"},
        {"name": "孙把关", "role": "reviewer", "telegram_id": REV2, "sector": "机关"},
        {"name": "张明", "telegram_id": M1, "sector": "经济界"},
        {"name": "王芳", "telegram_id": M2, "sector": "经济界"},
    )


async def _compose(chat: Dialogue, user: int) -> str:
    await chat.send(user, "/broadcast")
    await chat.send(user, NOTICE)
    await chat.tap(user, texts.BTN_BC_SKIP)
    await chat.tap(user, texts.BTN_BC_KINDS["sector"])
    await chat.tap(user, "经济界（2）")
    await chat.tap(user, texts.BTN_BC_BACK)
    await chat.tap(user, texts.BTN_BC_AUDIENCE_DONE)
    await chat.tap(user, texts.BTN_BC_NOW)
    return (await chat.tap(user, texts.BTN_CONFIRM)).text


async def _latest(services: Services) -> int:
    async with services.db.session() as s:
        bid = await outbox.latest_id(s)
    assert bid is not None
    return bid


def _delivered(fake: FakeBotApi, user: int) -> list[str]:
    return [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=user) if NOTICE in (c.text or "")
            and "待审核" not in (c.text or "")]


async def test_confirmed_broadcast_waits_for_a_reviewer_who_approves(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    confirmed = await _compose(chat, STAFF)
    bid = await _latest(services)
    assert texts.BROADCAST_SUBMITTED.format(id=bid, audience="界别：经济界", count=2) in confirmed
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert _delivered(fake, M1) == [] and _delivered(fake, M2) == []  # nothing goes out before approval
    for reviewer in (REV1, REV2):
        request = fake.bot_calls("sendMessage", chat_id=reviewer)
        assert len(request) == 1 and f"待审核通知 #{bid}" in (request[0].text or "")
        assert "李干事" in (request[0].text or "") and NOTICE in (request[0].text or "")
        assert request[0].buttons == [[texts.BTN_BC_APPROVE, texts.BTN_BC_RETURN]]
    assert not [c for c in fake.bot_calls("sendMessage", chat_id=STAFF) if "待审核通知" in (c.text or "")]

    # the author (staff, not a reviewer) cannot approve; a member is not even staff
    refused = await chat.press(STAFF, f"bcr:ok:{bid}")
    assert texts.BROADCAST_REVIEW_NOT_REVIEWER in refused.text
    assert texts.STAFF_ONLY in (await chat.press(M1, f"bcr:ok:{bid}")).text
    assert texts.STALE_BUTTON in (await chat.press(REV1, "bcr:ok:99x")).text

    approved = await chat.tap(REV1, texts.BTN_BC_APPROVE)
    assert texts.BROADCAST_APPROVED_BY_YOU.format(id=bid, count=2) in approved.text
    late = await chat.tap(REV2, texts.BTN_BC_APPROVE)  # the other reviewer, on their own copy: already handled
    assert texts.BROADCAST_REVIEW_ALREADY.format(id=bid) in late.text
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert len(_delivered(fake, M1)) == 1 and len(_delivered(fake, M2)) == 1
    told = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=STAFF)]
    assert texts.BROADCAST_AUTHOR_APPROVED.format(id=bid, reviewer="钱把关", count=2) in told
    async with services.db.session() as s:
        entries = await audit.entries(s, action="broadcast.approve", limit=5)
    assert [e.actor for e in entries] == ["钱把关"]


async def test_return_asks_for_the_reason_and_tells_the_author(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    await _compose(chat, STAFF)
    bid = await _latest(services)
    await wait_idle(bot_app)
    await run_due(bot_app)
    asked = await chat.tap(REV1, texts.BTN_BC_RETURN)
    assert texts.BROADCAST_ASK_RETURN_REASON.format(id=bid) in asked.text
    cancelled = await chat.send(REV1, "/cancel")
    assert texts.BROADCAST_RETURN_CANCELLED.format(id=bid) in cancelled.text
    await chat.tap(REV1, texts.BTN_BC_RETURN)
    returned = await chat.send(REV1, "会议时间写错了，应为周四。")
    assert texts.BROADCAST_RETURNED_BY_YOU.format(id=bid) in returned.text
    # the other reviewer asks to return it too, then types a reason: already handled, nothing recorded
    assert texts.BROADCAST_REVIEW_ALREADY.format(id=bid) in (await chat.tap(REV2, texts.BTN_BC_RETURN)).text
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert _delivered(fake, M1) == []
    told = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=STAFF)]
    reason = "会议时间写错了，应为周四。"
    assert texts.BROADCAST_AUTHOR_RETURNED.format(id=bid, reviewer="钱把关", reason=reason) in told
    async with services.db.session() as s:
        b = await outbox.get(s, broadcast_id=bid)
        entries = await audit.entries(s, action="broadcast.return", limit=5)
    assert b is not None and b.state == "returned"
    assert [(e.actor, e.note) for e in entries] == [("钱把关", "会议时间写错了，应为周四。")]
    # the reviewer's next message is an ordinary one again (no prompt left)
    assert texts.BROADCAST_RETURNED_BY_YOU.format(id=bid) not in (await chat.send(REV1, "/help")).text


async def test_reason_typed_after_another_reviewer_approved_is_refused(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    await _compose(chat, STAFF)
    bid = await _latest(services)
    await wait_idle(bot_app)
    await run_due(bot_app)
    await chat.tap(REV1, texts.BTN_BC_RETURN)
    await chat.tap(REV2, texts.BTN_BC_APPROVE)
    late = await chat.send(REV1, "不同意")
    assert texts.BROADCAST_REVIEW_ALREADY.format(id=bid) in late.text
    async with services.db.session() as s:
        b = await outbox.get(s, broadcast_id=bid)
        assert b is not None and b.state in ("queued", "sending", "done") and b.review_note is None
        assert await approval.prompt_of(s, member_id=(await _reviewer(s, REV1)).id) is None


async def _reviewer(session, telegram_id: int) -> Member:
    from store import members

    found = await members.get_by_telegram_id(session, telegram_id=telegram_id)
    assert found is not None
    return found


async def test_a_reviewers_own_broadcast_goes_to_the_other_reviewer_only(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    await _compose(chat, REV1)
    bid = await _latest(services)
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert not [c for c in fake.bot_calls("sendMessage", chat_id=REV1) if "待审核通知" in (c.text or "")]
    assert texts.BROADCAST_REVIEW_OWN in (await chat.press(REV1, f"bcr:ok:{bid}")).text
    assert texts.BROADCAST_REVIEW_OWN in (await chat.press(REV1, f"bcr:no:{bid}")).text
    await chat.tap(REV2, texts.BTN_BC_APPROVE)
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert len(_delivered(fake, M1)) == 1


async def test_without_a_reviewer_or_when_off_it_sends_at_once(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
) -> None:
    clock.set(NOON)
    await _people(roster)
    services.configs.replace(ApprovalConfig(mode="off"))
    confirmed = await _compose(chat, STAFF)
    assert "共 2 人" in confirmed
    await wait_idle(bot_app)
    await run_due(bot_app)
    assert len(_delivered(fake, M1)) == 1


async def test_console_upload_is_sent_by_upload_once_then_by_file_id(
    chat: Dialogue, roster, services: Services, fake: FakeBotApi, bot_app: BotApplication, clock: TestClock,
    tmp_path: Path,
) -> None:
    clock.set(NOON)
    people = await _people(roster)
    media_dir = tmp_path / "broadcast-media"
    media_dir.mkdir()
    (media_dir / "abc.png").write_bytes(b"\x89PNG\r\n\x1a\nfake-png")
    config = services.config(BroadcastConfig)
    services.configs.replace(BroadcastConfig(sender=config.sender, defaults=config.defaults, media_dir=media_dir))
    async with services.db.session() as s:
        b = await outbox.create(s, new=outbox.NewBroadcast(
            text=NOTICE, audience=[{"sector": ["经济界"]}], media_kind="photo", media_file="abc.png",
            created_by=people[0].id, created_via="console"), now=NOON, tz=TZ, defaults=config.defaults,
            awaiting=True)
        review = await approval.approve(s, broadcast_id=b.id, reviewer=people[1], now=NOON, tz=TZ,
                                        defaults=config.defaults)
        assert review.recipients == 2
    await run_due(bot_app)
    photos = fake.bot_calls("sendPhoto")
    assert [c.chat_id for c in photos] == [M1, M2] or [c.chat_id for c in photos] == [M2, M1]
    assert len(photos[0].files) == 1 and photos[1].files == {}  # uploaded once, then the file_id
    async with services.db.session() as s:
        stored = await outbox.get(s, broadcast_id=b.id)
    assert stored is not None and stored.media_ref and photos[1].params["photo"] == stored.media_ref
    assert all(NOTICE in (c.text or "") for c in photos)
