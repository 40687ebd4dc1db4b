"""The sender against the in-process Bot API emulator: limits, 429 pauses, 403, network errors, crashes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select
from telegram import Bot
from telegram.error import NetworkError
from telegram.ext import ExtBot

from bot.localapi import LocalRequest
from handlers import texts
from handlers.broadcast_sender import BroadcastSender, SenderConfig, recover_dead_senders
from handlers.rate_limit import Limits, SharedRateLimiter, VirtualTime
from store import preferences
from store.broadcasts import outbox
from store.broadcasts.text import MESSAGE_LIMIT
from store.db import Database
from store.models import BroadcastDelivery, Member
from store.types import utcnow
from tests.fakes.faults import FaultyBotApi

TZ = ZoneInfo("Asia/Shanghai")
FIRST_ID = 50_000


class FakeTime:
    """Injected monotonic clock and sleep: waits are recorded and advance the clock, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FlakyRequest(LocalRequest):
    """Raises a transport error for chosen chats, a given number of times each."""

    def __init__(self, api: FaultyBotApi, failures: dict[int, int]) -> None:
        super().__init__(api)
        self.failures = failures

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        chat = (request_data.parameters or {}).get("chat_id") if request_data is not None else None
        if chat is not None and self.failures.get(int(chat), 0) > 0:
            self.failures[int(chat)] -= 1
            raise NetworkError("connection reset by peer")
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    await database.upgrade()
    yield database
    await database.dispose()


async def _roster(db: Database, n: int) -> list[int]:
    now = utcnow()
    rows = [{"name": f"委员{i}", "sector": "经济界", "district": "城关区", "role": "member",
             "telegram_id": FIRST_ID + i, "active": True, "created_at": now, "updated_at": now} for i in range(n)]
    async with db.session() as s:
        await s.execute(insert(Member), rows)
    return [FIRST_ID + i for i in range(n)]


async def _broadcast(db: Database, **kwargs: Any) -> int:
    kwargs.setdefault("text", "委员您好，本周五下午召开常委会。")
    async with db.session() as s:
        b = await outbox.create(s, new=outbox.NewBroadcast(audience=[{}], urgent=True, **kwargs), now=utcnow(),
                                tz=TZ, defaults=preferences.PrefsDefaults())
        return b.id


async def _bot(request: LocalRequest, limits: Limits | None = None) -> ExtBot[int]:
    """A bot with the shared limiter on a virtual clock (the sender relies on it for the rate)."""
    limiter = SharedRateLimiter(limits or Limits(overall=5000.0), time_source=VirtualTime())
    bot = ExtBot("123456:TEST", request=request, get_updates_request=request, rate_limiter=limiter)
    await bot.initialize()
    return bot


async def _status(db: Database, bid: int) -> outbox.Status:
    async with db.session() as s:
        st = await outbox.status(s, broadcast_id=bid)
    assert st is not None
    return st


def _sender(db: Database, bot: Bot, clock: FakeTime, **config: Any) -> BroadcastSender:
    return BroadcastSender(db, bot, config=SenderConfig(**config), sleep=clock.sleep, monotonic=clock.monotonic)


async def test_throttling_pauses_everyone_and_blocked_members_are_marked(db: Database) -> None:
    ids = await _roster(db, 40)
    bid = await _broadcast(db)
    api = FaultyBotApi(throttle_every=10, retry_after=3)
    api.blocked.update(ids[5:8])
    bot = await _bot(LocalRequest(api))
    report = await _sender(db, bot, FakeTime(), concurrency=4).run_until_done(broadcast_id=bid)
    expected = [i for i in ids if i not in api.blocked]
    assert all(api.delivered[i] == 1 for i in expected)
    assert sum(api.delivered.values()) == len(expected)
    assert report.throttled == len(api.throttled_at) >= 4
    assert report.paused_seconds >= 3.0 * report.throttled - 1e-9  # the limiter paused everyone each time
    st = await _status(db, bid)
    assert (st.sent, st.blocked, st.failed, st.pending, st.state) == (37, 3, 0, 0, "done")
    async with db.session() as s:
        inactive = set(await s.scalars(select(Member.telegram_id).where(Member.active.is_(False))))
    assert inactive == set(ids[5:8])


async def test_network_errors_back_off_then_succeed_or_fail(db: Database) -> None:
    ids = await _roster(db, 5)
    bid = await _broadcast(db)
    api = FaultyBotApi()
    request = FlakyRequest(api, {ids[1]: 2, ids[2]: 99})
    clock = FakeTime()
    report = await _sender(db, await _bot(request), clock, concurrency=2, max_attempts=4,
                           backoff_base=1.0).run_until_done(broadcast_id=bid)
    assert api.delivered[ids[1]] == 1 and api.delivered[ids[2]] == 0
    assert report.retried == 2 + 3
    assert sorted(clock.sleeps) == [1.0, 1.0, 2.0, 2.0, 4.0]
    st = await _status(db, bid)
    assert (st.sent, st.failed) == (4, 1)
    async with db.session() as s:
        statuses = await s.execute(select(BroadcastDelivery.last_error).where(BroadcastDelivery.state == "failed"))
        assert (next(e for (e,) in statuses) or "").startswith("network")


async def test_long_text_with_receipt_button_on_the_last_part(db: Database) -> None:
    ids = await _roster(db, 2)
    long_text = "\n\n".join(f"学习材料第{i}部分。" + "内容。" * 700 for i in range(3))
    bid = await _broadcast(db, text=long_text, receipt=True)
    api = FaultyBotApi()
    await _sender(db, await _bot(LocalRequest(api)), FakeTime()).run_until_done(broadcast_id=bid)
    calls = [c for c in api.calls if c.method == "sendMessage" and c.chat_id == ids[0]]
    assert len(calls) == 3 and all(len(c.text or "") <= MESSAGE_LIMIT for c in calls)
    assert [c.buttons for c in calls] == [[], [], [[texts.BTN_RECEIVED]]]
    markup = calls[-1].params["reply_markup"]
    data = (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"][0][0]["callback_data"]
    async with db.session() as s:
        delivery = await s.scalar(select(BroadcastDelivery).where(
            BroadcastDelivery.broadcast_id == bid, BroadcastDelivery.chat_id == ids[0]))
    assert delivery is not None and data == f"bc:ack:{delivery.id}"
    assert delivery.telegram_message_id == calls[-1].result["message_id"]


async def test_photo_caption_then_rest_as_text(db: Database) -> None:
    ids = await _roster(db, 1)
    bid = await _broadcast(db, text="图片说明。" * 300, media_kind="photo", media_ref="FILE000001PHO")
    api = FaultyBotApi()
    await _sender(db, await _bot(LocalRequest(api)), FakeTime()).run_until_done(broadcast_id=bid)
    sent = [c for c in api.calls if c.chat_id == ids[0] and c.method.startswith("send")]
    assert [c.method for c in sent] == ["sendPhoto", "sendMessage"]
    assert len(sent[0].params["caption"]) <= 1024


async def test_crash_in_flight_resends_at_most_the_concurrency(db: Database) -> None:
    ids = await _roster(db, 20)
    bid = await _broadcast(db)
    api = FaultyBotApi(hold_after=5)  # after 5 answers, sends go through but answers never come back
    bot = await _bot(LocalRequest(api))
    crashed = _sender(db, bot, FakeTime(), concurrency=3)
    task = asyncio.create_task(crashed.run_pass(broadcast_id=bid))
    assert await api.wait_until(lambda: api.held == 3, timeout=10)
    task.cancel()  # the process dies: nothing after the send is recorded
    with pytest.raises(asyncio.CancelledError):
        await task
    st = await _status(db, bid)
    assert st.sending == 3
    recovered = await recover_dead_senders(db, now=utcnow(), stale_after=600, broadcast_id=bid, force=True)
    assert recovered == 3
    api.hold_after = None
    api.release()
    await _sender(db, bot, FakeTime(), concurrency=3).run_until_done(broadcast_id=bid)
    st = await _status(db, bid)
    assert (st.sent, st.pending, st.uncertain) == (20, 0, 3)
    assert all(api.delivered[i] >= 1 for i in ids)
    assert sum(api.delivered[i] - 1 for i in ids) == 3  # exactly the in-flight ones, twice


class FailNthSend(LocalRequest):
    """Raises a transport error on the ``n``-th ``sendMessage`` to one chat (before it reaches the API)."""

    def __init__(self, api: FaultyBotApi, chat_id: int, n: int) -> None:
        super().__init__(api)
        self.chat_id, self.n, self.seen = chat_id, n, 0

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        chat = (request_data.parameters or {}).get("chat_id") if request_data is not None else None
        if url.endswith("/sendMessage") and chat is not None and int(chat) == self.chat_id:
            self.seen += 1
            if self.seen == self.n:
                raise NetworkError("connection reset by peer")
        return await super().do_request(url, method, request_data, *args, **kwargs)


def _three_parts() -> str:
    return "\n\n".join(f"学习材料第{i}部分。" + "内容。" * 700 for i in range(3))


async def test_network_error_on_part_two_resumes_from_part_two(db: Database) -> None:
    ids = await _roster(db, 1)
    bid = await _broadcast(db, text=_three_parts(), receipt=True)
    api = FaultyBotApi()
    clock = FakeTime()
    report = await _sender(db, await _bot(FailNthSend(api, ids[0], 2)), clock).run_until_done(broadcast_id=bid)
    texts_sent = [c.text or "" for c in api.calls if c.method == "sendMessage" and c.chat_id == ids[0]]
    assert len(texts_sent) == 3 and api.delivered[ids[0]] == 3  # not four: part 1 is not sent again
    assert [f"学习材料第{i}部分" in t[:20] for i, t in enumerate(texts_sent)] == [True] * 3  # in order
    assert report.retried == 1 and clock.sleeps == [1.0]
    st = await _status(db, bid)
    assert (st.sent, st.failed, st.pending) == (1, 0, 0)


async def test_crash_after_part_one_resumes_from_the_first_unsent_part(db: Database) -> None:
    await _roster(db, 1)
    bid = await _broadcast(db, text=_three_parts())
    api = FaultyBotApi(hold_after=1)  # part 1 is answered; part 2 reaches the member, its answer never comes
    bot = await _bot(LocalRequest(api))
    task = asyncio.create_task(_sender(db, bot, FakeTime(), concurrency=1).run_pass(broadcast_id=bid))
    assert await api.wait_until(lambda: api.held == 1, timeout=10)
    task.cancel()  # the process dies with part 2 in flight
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.session() as s:
        row = await s.scalar(select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == bid))
    assert row is not None and (row.state, row.parts_sent) == ("sending", 1)
    assert await recover_dead_senders(db, now=utcnow(), stale_after=600, broadcast_id=bid, force=True) == 1
    api.hold_after = None
    api.release()
    before = len([c for c in api.calls if c.method == "sendMessage"])
    await _sender(db, bot, FakeTime(), concurrency=1).run_until_done(broadcast_id=bid)
    resumed = [c.text or "" for c in api.calls if c.method == "sendMessage"][before:]
    assert [t[:8] for t in resumed] == ["学习材料第1部分", "学习材料第2部分"]  # part 1 is not sent again
    st = await _status(db, bid)
    assert (st.sent, st.pending, st.uncertain) == (1, 0, 1)


async def test_the_sender_refuses_a_bot_without_the_shared_limiter(db: Database) -> None:
    plain = Bot("123456:TEST", request=LocalRequest(FaultyBotApi()))
    with pytest.raises(TypeError, match="shared rate limiter"):
        BroadcastSender(db, plain)
