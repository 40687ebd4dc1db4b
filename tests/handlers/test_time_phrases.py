"""/event and /broadcast read times with one parser: a phrase that works in one works in the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers import texts
from handlers.context import Services
from tests.fakes.dialogue import Dialogue
from tests.support.clock import TestClock

TZ = ZoneInfo("Asia/Shanghai")
STAFF, MEMBER = 9001, 1001
# Wednesday 2026-11-25, 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)

PHRASES = [
    ("明天 9点", "明天 11点", "2026-11-26 09:00"),
    ("周五 下午3点", "周五 下午5点", "2026-11-27 15:00"),
    ("12月5日 14:30", "12月5日 16:30", "2026-12-05 14:30"),
]


@pytest.fixture
async def people(services: Services, clock: TestClock, roster: Callable[..., Awaitable[list[object]]]) -> None:
    clock.set(NOW)
    await roster({"name": "李干事", "telegram_id": STAFF, "role": "staff"}, {"name": "张明", "telegram_id": MEMBER})


@pytest.mark.parametrize(("start", "end", "shown"), PHRASES)
async def test_event_accepts_the_phrase(chat: Dialogue, people: None, start: str, end: str, shown: str) -> None:
    created = await chat.send(STAFF, f"/event 政协章程学习会 | 会议 | {start} | {end} | 代码=HY01")
    assert "已创建活动" in created.text and shown[5:] in created.text  # "11-26 09:00"


@pytest.mark.parametrize(("start", "end", "shown"), PHRASES)
async def test_broadcast_schedule_accepts_the_phrase(
    chat: Dialogue, people: None, start: str, end: str, shown: str
) -> None:
    await chat.send(STAFF, "/broadcast")
    await chat.send(STAFF, "本周学习安排。")
    await chat.tap(STAFF, texts.BTN_BC_SKIP)
    await chat.tap(STAFF, texts.BTN_BC_ALL)
    await chat.tap(STAFF, texts.BTN_BC_AUDIENCE_DONE)
    await chat.tap(STAFF, texts.BTN_BC_LATER)
    preview = await chat.send(STAFF, start)
    assert shown in preview.text


async def test_a_past_or_unknown_time_is_refused_with_examples_that_work(chat: Dialogue, people: None) -> None:
    await chat.send(STAFF, "/broadcast")
    await chat.send(STAFF, "本周学习安排。")
    await chat.tap(STAFF, texts.BTN_BC_SKIP)
    await chat.tap(STAFF, texts.BTN_BC_ALL)
    await chat.tap(STAFF, texts.BTN_BC_AUDIENCE_DONE)
    await chat.tap(STAFF, texts.BTN_BC_LATER)
    for typed in ("9点", "下个月吧"):  # 09:00 today is over; the second is no time at all
        assert (await chat.send(STAFF, typed)).text == texts.BROADCAST_BAD_TIME
    bad = await chat.send(STAFF, "/event 学习会 | 会议 | 下个月吧 | 明天 11点")
    assert "开始时间看不懂：下个月吧" in bad.text and "“明天 9点”" in bad.text


def test_now_is_the_controlled_clock(services: Services, clock: TestClock) -> None:
    clock.set(NOW)
    assert abs((services.clock() - NOW.astimezone(UTC)).total_seconds()) < 5
