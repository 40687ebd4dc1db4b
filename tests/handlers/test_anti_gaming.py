"""Points that cannot be gamed (issue #16): the hostile sequences, played through the real handlers.

Each test is what a member out for unearned credits would try: guessing or forwarding event codes,
correcting one entry twice, guessing invite codes from several accounts and across restarts.
New names (texts, functions) are looked up inside the tests, so each test fails on its own on code
that lacks the protection.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from handlers import texts
from handlers.context import BotApplication, Services
from store.credits import events as events_repo
from store.credits import reports
from store.credits.rules import default_rules
from store.models import CreditDispute, CreditEvent, Member
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Thursday; set, never the wall clock
MEMBER, OTHER, THIRD, STAFF = 1001, 1002, 1003, 9001
NEWCOMER = 5001


class Clock:
    """A frozen clock (token windows are checked to the second); the ``services`` fixture installs it."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """Overrides tests/conftest.py's running ``clock``: ``services`` installs this one instead."""
    return Clock()


@pytest.fixture
async def people(clock: Clock, roster: Callable[..., Awaitable[list[Member]]]) -> list[Member]:
    return await roster(
        {"name": "张明", "telegram_id": MEMBER, "sector": "经济界"},
        {"name": "王芳", "telegram_id": OTHER, "sector": "教育界"},
        {"name": "刘洋", "telegram_id": THIRD, "sector": "教育界"},
        {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
        {"name": "陈静", "phone": "13800000009"},  # unbound: has an invite code
        {"name": "赵强", "phone": "13800000010"},  # unbound: has an invite code
    )


async def _totals(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        rows = await reports.report_rows(session, rules=default_rules(), period=reports.year_period(2026))
    return {r.member.name: r.total for r in rows}


async def _create_event(chat: Dialogue, spec: str) -> str:
    replies = await chat.send(STAFF, f"/event {spec}")
    assert "已创建活动" in replies.text, replies.text
    return replies.text


async def _event(services: Services, code: str) -> CreditEvent:
    async with services.db.session() as session:
        event = await events_repo.get_by_code(session, code=code)
    assert event is not None
    return event


async def _token(services: Services, code: str, at: datetime) -> str:
    """What the QR code projected at ``at`` carries (the deep-link payload)."""
    from handlers.events import token_secret

    event = await _event(services, code)
    return events_repo.checkin_token(await token_secret(services), event_id=event.id, code=event.code, at=at)


# ---- 1. event check-in proves presence --------------------------------------------------------------


async def test_forty_wrong_codes_then_the_right_one_does_not_check_in(
    chat: Dialogue, people: list[Member], services: Services, fake: FakeBotApi,
    app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    await _create_event(chat, "政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01")
    guesses = [await chat.send(MEMBER, f"EVT-Q{n:02d}X") for n in range(40)]
    assert sum("没有找到活动代码" in g.text for g in guesses) == 5
    assert all(texts.EVENT_CODE_LOCKED in g.text for g in guesses[5:])
    right = await chat.send(MEMBER, "EVT-HY01")
    assert "签到成功" not in right.text and texts.EVENT_CODE_LOCKED in right.text
    assert (await _totals(services))["张明"] == 0
    # The limit is in the database: a restarted bot still refuses the typed code ...
    restarted = Dialogue(fake, await app_factory())
    assert texts.EVENT_CODE_LOCKED in (await restarted.send(MEMBER, "HY01")).text
    assert (await _totals(services))["张明"] == 0
    # ... while the member who is really there scans the projected QR code, and others type the code.
    scanned = await restarted.send(MEMBER, f"/start {await _token(services, 'HY01', NOW)}")
    assert "签到成功" in scanned.text
    assert "签到成功" in (await restarted.send(OTHER, "HY01")).text
    assert await _totals(services) == {"张明": 5, "王芳": 5, "刘洋": 0, "陈静": 0, "赵强": 0}


async def test_typed_attempts_are_limited_per_event(chat: Dialogue, people: list[Member], clock: Clock) -> None:
    await _create_event(chat, "明日读书会 | 读书 | 明天 10:00 | 明天 12:00 | 代码=DS02")
    early = [await chat.send(MEMBER, "DS02") for _ in range(3)]
    assert all("签到将于" in r.text for r in early)
    clock.advance(days=1)  # the event is open now, but this member used up the typed tries for it
    refused = await chat.send(MEMBER, "DS02")
    assert "签到成功" not in refused.text and texts.EVENT_CODE_LOCKED in refused.text
    assert "签到成功" in (await chat.send(OTHER, "DS02")).text


async def test_forwarded_qr_code_expires_and_forged_one_is_refused(
    chat: Dialogue, people: list[Member], services: Services, clock: Clock
) -> None:
    created = await _create_event(chat, "政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01")
    assert "?start=EVT-HY01\n" not in created + "\n"  # no link that works forever
    token = await _token(services, "HY01", NOW)
    assert len(token) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    scanned = await chat.send(MEMBER, f"/start {token}")
    assert "签到成功" in scanned.text
    clock.advance(seconds=90)  # a screenshot forwarded to a colleague who is not there
    forwarded = await chat.send(OTHER, f"/start {token}")
    assert "签到成功" not in forwarded.text and texts.EVENT_QR_EXPIRED in forwarded.text
    fresh = await _token(services, "HY01", clock.now)
    forged = fresh[:-1] + ("A" if fresh[-1] != "A" else "B")
    assert texts.EVENT_QR_INVALID in (await chat.send(THIRD, f"/start {forged}")).text
    assert "签到成功" in (await chat.send(THIRD, f"/start {fresh}")).text
    assert (await _totals(services))["王芳"] == 0 and (await _totals(services))["刘洋"] == 5


async def test_staff_see_check_ins_by_typed_code(chat: Dialogue, people: list[Member], services: Services) -> None:
    await _create_event(chat, "政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01")
    await chat.send(MEMBER, "HY01")
    assert "已为 王芳 补签" in (await chat.send(STAFF, "/event HY01 补签 王芳 手机没电")).text
    listing = await chat.send(STAFF, "/event HY01")
    assert "签到 2 人" in listing.text
    assert texts.EVENT_TYPED_NOTE.format(count=1) in listing.text
    line = next(t for t in listing.text.splitlines() if "张明" in t)
    assert texts.EVENT_TYPED_FLAG in line
    assert texts.EVENT_TYPED_FLAG not in next(t for t in listing.text.splitlines() if "王芳" in t)


async def test_event_can_require_a_location_inside_its_radius(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    await _create_event(
        chat, "调研视察 | 调研 | 现在 | +3h | 地点=政协大楼 29.5630,106.5516 200 | 定位=必需 | 代码=DY03")
    asked = await chat.send(MEMBER, "DY03")
    assert texts.EVENT_LOCATION_REQUIRED in asked.text and "签到成功" not in asked.text
    assert (await _totals(services))["张明"] == 0
    far = await chat.send_location(MEMBER, 29.5720, 106.5516)  # about 1 km away
    assert "签到成功" not in far.text and "200 米" in far.text
    assert (await _totals(services))["张明"] == 0
    near = await chat.send_location(MEMBER, 29.5631, 106.5517)
    assert "签到成功" in near.text
    assert (await _totals(services))["张明"] > 0
    listing = await chat.send(STAFF, "/event DY03")
    assert "签到 1 人" in listing.text and "约" in listing.text


async def test_qr_page_renews_every_30_seconds_until_the_window_closes(
    chat: Dialogue, people: list[Member], services: Services, clock: Clock, fake: FakeBotApi,
    bot_app: BotApplication, app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    from handlers.events import QR_JOB, refresh_qr_pages

    await _create_event(chat, "短会 | 会议 | 现在 | +30分钟 | 代码=HY01")
    (page,) = fake.bot_calls("sendPhoto", chat_id=STAFF)
    first_png = page.files["photo"].content
    assert bot_app.job_queue is not None and bot_app.job_queue.get_jobs_by_name(QR_JOB)
    clock.advance(seconds=30)
    since = fake.mark()
    assert await refresh_qr_pages(bot_app, clock.now) == 1
    (edit,) = [c for c in fake.replies_since(since) if c.method == "editMessageMedia"]
    assert edit.chat_id == STAFF and edit.params["message_id"] == page.result["message_id"]
    (upload,) = edit.files.values()
    assert upload.content != first_png  # a new token in the picture
    # A restarted bot keeps renewing the same page (the page is in the database).
    restarted = await app_factory()
    clock.advance(seconds=30)
    assert await refresh_qr_pages(restarted, clock.now) == 1
    # After the check-in window the page says so once and is not renewed again.
    clock.advance(hours=2)
    since = fake.mark()
    assert await refresh_qr_pages(restarted, clock.now) == 0
    closing = fake.replies_since(since)
    assert closing and all(c.chat_id == STAFF for c in closing)
    since = fake.mark()
    assert await refresh_qr_pages(restarted, clock.now) == 0
    assert fake.replies_since(since) == []


# ---- 2. the ledger cannot be corrected twice ------------------------------------------------------


async def test_one_entry_cannot_be_corrected_twice(
    chat: Dialogue, people: list[Member], services: Services, fake: FakeBotApi
) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert (await _totals(services))["张明"] == 2
    # The member disputes the +2 entry, staff press 更正.
    await chat.send(MEMBER, "/credits")
    await chat.tap(MEMBER, texts.BTN_CREDITS_DISPUTE)
    await chat.tap(MEMBER, texts.DISPUTE_BUTTON.format(id=1))
    await chat.send(MEMBER, "实际没有学习")
    found = fake.api.find_button(STAFF, texts.BTN_DISPUTE_CORRECT)
    assert found is not None
    first_notice, first_data = found
    await chat.process(fake.api.user_presses(STAFF, first_data, message=first_notice))
    assert (await _totals(services))["张明"] == 0
    # The member disputes the same entry again, and staff press 更正 again.
    again = await chat.press(MEMBER, "cr:d:1")
    await chat.send(MEMBER, "我再申诉一次")
    notice = fake.api.find_button(STAFF, texts.BTN_DISPUTE_CORRECT)
    second_notice, second_data = notice if notice is not None else (first_notice, "crs:correct:2")
    await chat.process(fake.api.user_presses(STAFF, second_data, message=second_notice))
    replayed = await chat.process(fake.api.user_presses(STAFF, first_data, message=first_notice))
    assert (await _totals(services))["张明"] == 0
    async with services.db.session() as session:
        statuses = list(await session.scalars(select(CreditDispute.status).order_by(CreditDispute.id)))
    assert statuses == ["corrected"]
    assert texts.DISPUTE_ALREADY_CORRECTED in again.text
    assert texts.DISPUTE_GONE in replayed.text
    # A forged press on the reversal (an adjustment entry, hidden from the list) opens nothing.
    forged = await chat.press(MEMBER, "cr:d:2")
    assert texts.DISPUTE_NOT_ALLOWED in forged.text
    async with services.db.session() as session:
        assert len(list(await session.scalars(select(CreditDispute.id)))) == 1


async def test_entry_is_disputed_at_most_once_while_open(
    chat: Dialogue, people: list[Member], services: Services, fake: FakeBotApi
) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    await chat.press(MEMBER, "cr:d:1")
    await chat.send(MEMBER, "实际学习了 60 分钟")
    staff_notices = len(fake.bot_calls("sendMessage", chat_id=STAFF))
    again = await chat.press(MEMBER, "cr:d:1")
    await chat.send(MEMBER, "再提一次")
    assert len(fake.bot_calls("sendMessage", chat_id=STAFF)) == staff_notices
    async with services.db.session() as session:
        statuses = list(await session.scalars(select(CreditDispute.status)))
    assert statuses == ["open"]
    assert texts.DISPUTE_ALREADY_OPEN in again.text


# ---- 3. invite codes ----------------------------------------------------------------------------


async def test_invite_attempts_survive_a_restart(
    chat: Dialogue, people: list[Member], fake: FakeBotApi, services: Services,
    app_factory: Callable[..., Awaitable[BotApplication]],
) -> None:
    for n in range(5):
        assert (await chat.send(NEWCOMER, f"/start ZZZZ222{n}")).texts == [texts.CODE_UNKNOWN]
    restarted = Dialogue(fake, await app_factory())
    replies = await restarted.send(NEWCOMER, f"/start {people[4].invite_code}")
    assert replies.texts == [texts.CODE_TOO_MANY]
    async with services.db.session() as session:
        assert (await session.get(Member, people[4].id)).telegram_id is None  # type: ignore[union-attr]  # the row exists


async def test_used_inactive_and_unknown_codes_get_the_same_reply(
    chat: Dialogue, people: list[Member], services: Services
) -> None:
    assert (await chat.send(5101, f"/start {people[4].invite_code}")).texts == [
        texts.BOUND_WELCOME.format(name="陈静")]
    async with services.db.session() as session:
        await session.execute(update(Member).where(Member.id == people[5].id).values(active=False))
        await session.commit()
    used = await chat.send(5102, f"/start {people[4].invite_code}")
    inactive = await chat.send(5103, f"/start {people[5].invite_code}")
    unknown = await chat.send(5104, "/start ZZZZ2222")
    assert used.texts == inactive.texts == unknown.texts == [texts.CODE_UNKNOWN]


async def test_invite_attempts_are_limited_per_code(chat: Dialogue, people: list[Member]) -> None:
    code = people[4].invite_code
    assert (await chat.send(5200, f"/start {code}")).texts == [texts.BOUND_WELCOME.format(name="陈静")]
    # Five more accounts try the code that is taken; each is a fresh account with fresh tries.
    for account in range(5201, 5206):
        assert (await chat.send(account, f"/start {code}")).texts == [texts.CODE_UNKNOWN]
    assert (await chat.send(5206, f"/start {code}")).texts == [texts.CODE_TOO_MANY]
    # Another code is not affected.
    assert (await chat.send(5206, f"/start {people[5].invite_code}")).texts == [
        texts.BOUND_WELCOME.format(name="赵强")]


async def test_staff_can_open_another_qr_page_for_an_event(
    chat: Dialogue, people: list[Member], clock: Clock, fake: FakeBotApi, bot_app: BotApplication
) -> None:
    from handlers.events import refresh_qr_pages

    await _create_event(chat, "政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01")
    again = await chat.send(STAFF, "/event HY01 二维码")
    assert [r.method for r in again] == ["sendPhoto"] and "EVT-HY01" in again.text
    assert texts.STAFF_ONLY in (await chat.send(MEMBER, "/event HY01 二维码")).text
    clock.advance(seconds=30)
    assert await refresh_qr_pages(bot_app, clock.now) == 2


async def test_qr_page_of_a_later_event_is_renewed_only_once_check_in_opens(
    chat: Dialogue, people: list[Member], clock: Clock, bot_app: BotApplication
) -> None:
    from handlers.events import QR_JOB, refresh_qr_pages

    await _create_event(chat, "明日读书会 | 读书 | 明天 10:00 | 明天 12:00 | 代码=DS02")
    clock.advance(hours=12)
    assert await refresh_qr_pages(bot_app, clock.now) == 0
    assert bot_app.job_queue is not None and bot_app.job_queue.get_jobs_by_name(QR_JOB)  # still waiting
    clock.advance(hours=12)  # tomorrow 10:00: check-in is open
    assert await refresh_qr_pages(bot_app, clock.now) == 1
