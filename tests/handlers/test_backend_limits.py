"""Inputs that only PostgreSQL would refuse (bounded VARCHAR columns): the bot must answer, not crash.

SQLite ignores ``String(n)`` lengths; PostgreSQL raises. These dialogues run on both backends
(the ``services`` fixture is parametrised), so an unbounded input reaching a bounded column shows up here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from handlers import texts
from handlers.context import Services
from store.credits import events as events_repo
from tests.fakes.dialogue import Dialogue

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
STAFF = 9001


@pytest.fixture
async def staff(services: Services, roster: Callable[..., Awaitable[list[object]]]) -> None:
    services.clock = lambda: NOW
    await roster({"name": "李干事", "telegram_id": STAFF, "role": "staff"})


async def test_overlong_event_place_is_refused_politely(chat: Dialogue, staff: None, services: Services) -> None:
    place = "政协大楼" * 60  # 240 characters: more than the column holds
    replies = await chat.send(STAFF, f"/event 学习会 | 会议 | +1h | +2h | 地点={place} 29.56,106.55 200")
    assert texts.EVENT_BAD.format(problem=texts.EVENT_PROBLEMS["place"]) in replies.text
    async with services.db.session() as session:
        assert await events_repo.recent_events(session) == []


async def test_event_place_at_the_limit_is_kept(chat: Dialogue, staff: None, services: Services) -> None:
    place = "会" * 100
    replies = await chat.send(STAFF, f"/event 学习会 | 会议 | +1h | +2h | 地点={place} 29.56,106.55 200")
    assert "已创建活动" in replies.text, replies.text
    async with services.db.session() as session:
        [event] = await events_repo.recent_events(session)
    assert event.place == place
