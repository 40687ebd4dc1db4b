"""A double tap of 确认 landing on two workers at the same instant (several webhook workers, one database):
two Applications on the same database each read the draft before either consumes it; one records (one
check-in with its points, one proposal, one broadcast), the other answers that the button is stale."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.localapi import JSONDict
from handlers import texts
from handlers.context import BotApplication, Services
from store.broadcasts import drafts as broadcast_drafts
from store.broadcasts import outbox
from store.credits import checkins as checkins_repo
from store.credits import events as events_repo
from store.credits import ledger
from store.proposals import repository as proposals_repo
from store.proposals.config import DEFAULT_CATEGORIES
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_pending_flows import (  # noqa: F401  # the members fixture
    CHECKIN,
    MEMBER,
    STAFF,
    SUGGESTION,
    _event,
    _open_dispute,
    people,
    proposals,
    total,
)

AppFactory = Callable[..., Awaitable[BotApplication]]


class BothRead:
    """Holds each reader of a draft until both updates have read it: the two workers' reads interleave."""

    def __init__(self) -> None:
        self.readers = 0
        self.both = asyncio.Event()

    def wrap(self, read: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            found = await read(*args, **kwargs)
            self.readers += 1
            if self.readers >= 2:
                self.both.set()
            await asyncio.wait_for(self.both.wait(), timeout=10)
            return found

        return wrapped


async def _at_once(fake: FakeBotApi, app_factory: AppFactory, user: int, updates: list[JSONDict],
                   monkeypatch: pytest.MonkeyPatch, module: Any, reader: str) -> list[str]:
    """Two updates handled at once by two Applications, each reading the draft before either consumes it."""
    one, two = Dialogue(fake, await app_factory()), Dialogue(fake, await app_factory())
    monkeypatch.setattr(module, reader, BothRead().wrap(getattr(module, reader)))
    since = fake.mark()
    await asyncio.gather(one.process(updates[0]), two.process(updates[1]))
    monkeypatch.undo()
    return [c.text for c in fake.replies_since(since, chat_id=user) if c.text]


async def _double_tap(fake: FakeBotApi, app_factory: AppFactory, user: int, label: str,
                      monkeypatch: pytest.MonkeyPatch, module: Any, reader: str) -> list[str]:
    """Tap ``label`` twice on the same card, the two presses handled at once by two Applications."""
    taps = [fake.user_taps(user, label), fake.user_taps(user, label)]  # the same card, twice
    return await _at_once(fake, app_factory, user, taps, monkeypatch, module, reader)


async def test_checkin_confirmed_twice_at_once_is_recorded_once(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None,  # noqa: F811
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await chat.send(MEMBER, CHECKIN)
    said = await _double_tap(fake, app_factory, MEMBER, texts.BTN_CONFIRM, monkeypatch, checkins_repo, "get_draft")
    assert [t for t in said if "获得 2 分" in t] != [] and len([t for t in said if "已记录打卡" in t]) == 1
    assert said.count(texts.STALE_BUTTON) == 1
    assert await total(services) == 2  # one check-in's points, not two


async def test_proposal_confirmed_twice_at_once_is_submitted_once(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None,  # noqa: F811
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await chat.send(MEMBER, SUGGESTION)
    await chat.tap(MEMBER, texts.BTN_PROPOSAL_RECORD)
    card = await chat.tap(MEMBER, DEFAULT_CATEGORIES[1])
    assert texts.BTN_CONFIRM in card.buttons
    said = await _double_tap(fake, app_factory, MEMBER, texts.BTN_CONFIRM, monkeypatch, proposals_repo,
                             "get_draft_by_id")
    assert len([t for t in said if "已提交，编号 WJY-2026-0001" in t]) == 1
    assert said.count(texts.PROPOSAL_DRAFT_GONE) == 1
    assert len(await proposals(services)) == 1


async def test_broadcast_confirmed_twice_at_once_is_created_once(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None,  # noqa: F811
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await chat.send(STAFF, "/broadcast")
    await chat.send(STAFF, "明天上午九点集中学习。")
    await chat.tap(STAFF, texts.BTN_BC_SKIP)
    await chat.tap(STAFF, texts.BTN_BC_ALL)
    await chat.tap(STAFF, texts.BTN_BC_AUDIENCE_DONE)
    preview = await chat.tap(STAFF, texts.BTN_BC_NOW)
    assert texts.BTN_CONFIRM in preview.buttons
    said = await _double_tap(fake, app_factory, STAFF, texts.BTN_CONFIRM, monkeypatch, broadcast_drafts, "get")
    assert said.count(texts.STALE_BUTTON) == 1
    assert len([t for t in said if t.startswith("已加入发送队列")]) == 1
    async with services.db.session() as session:
        assert len(await outbox.recent(session)) == 1  # one broadcast, not two


async def test_dispute_reason_sent_twice_at_once_is_submitted_once(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _open_dispute(chat)
    reason = "实际学习了 60 分钟"
    sent = [fake.user_sends(MEMBER, reason), fake.user_sends(MEMBER, reason)]
    said = await _at_once(fake, app_factory, MEMBER, sent, monkeypatch, ledger, "drafting_dispute")
    assert len([t for t in said if t.startswith("申诉已提交")]) == 1
    assert said.count(texts.STALE_BUTTON) == 1
    assert len([c for c in fake.bot_calls("sendMessage", chat_id=STAFF) if reason in (c.text or "")]) == 1


async def test_event_code_scanned_twice_at_once_checks_in_once(
    chat: Dialogue, app_factory: AppFactory, fake: FakeBotApi, people: None,  # noqa: F811
    services: Services, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _event(chat, "XD01", required=False)
    scans = [fake.user_sends(MEMBER, "/start EVT-XD01"), fake.user_sends(MEMBER, "/start EVT-XD01")]
    said = await _at_once(fake, app_factory, MEMBER, scans, monkeypatch, events_repo, "_attendance")
    assert len([t for t in said if "签到成功" in t]) == 1  # the other is told it was recorded already
    assert len([t for t in said if "不重复计分" in t]) == 1
    async with services.db.session() as session:
        event = await events_repo.get_by_code(session, code="XD01")
        assert event is not None
        assert len(await events_repo.attendance_list(session, event_id=event.id)) == 1
