"""The shared rate limiter on a controlled clock: budgets, replies first, 429 pauses everyone, retries."""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from telegram.error import RetryAfter

from handlers.rate_limit import Limits, ManualTime, Priority, SharedRateLimiter, VirtualTime, bulk_sends


class Recorder:
    """A fake Bot API call: records (time, chat, kind) when the limiter lets a call through."""

    def __init__(self, limiter: SharedRateLimiter) -> None:
        self.limiter = limiter
        self.calls: list[tuple[float, Any, str]] = []
        self.fail: dict[str, list[int]] = {}  # kind -> retry_after answers to give first
        self.changed = asyncio.Event()
        limiter.on_change = self.changed.set

    async def call(self, chat: Any, kind: str = "reply", endpoint: str = "sendMessage") -> bool:
        async def callback(*args: Any, **kwargs: Any) -> bool:
            self.calls.append((self.limiter.time.monotonic(), chat, kind))
            if self.fail.get(kind):
                raise RetryAfter(self.fail[kind].pop(0))
            return True

        data = {} if chat is None else {"chat_id": chat}
        result = await self.limiter.process_request(callback, (), {}, endpoint, data, None)
        assert result is True
        return True

    def kinds(self) -> list[str]:
        return [kind for _, _, kind in self.calls]

    def times(self, kind: str | None = None) -> list[float]:
        return [t for t, _, k in self.calls if kind is None or k == kind]


async def settle() -> None:
    """Let every task that can run, run (no time passes on the controlled clocks)."""
    for _ in range(50):
        await asyncio.sleep(0)


def max_in_window(times: list[float], period: float) -> int:
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + period - 1e-9) - i for i, t in enumerate(ordered)), default=0)


def bulk_task(coro_factory: Callable[[], Any]) -> asyncio.Task[Any]:
    with bulk_sends():
        return asyncio.create_task(coro_factory())


async def test_the_overall_budget_holds_in_every_one_second_window() -> None:
    limiter = SharedRateLimiter(Limits(overall=30), time_source=VirtualTime())
    rec = Recorder(limiter)
    with bulk_sends():
        bulk = [asyncio.create_task(rec.call(1000 + i, kind="bulk")) for i in range(200)]
    await asyncio.gather(*bulk, *(rec.call(100 + i) for i in range(100)))
    times = rec.times()
    assert len(times) == 300
    assert max_in_window(times, 1.0) == 30  # the whole budget is used, never more
    assert times[-1] - times[0] == pytest.approx(299 / 30, abs=1.0)
    assert max_in_window(rec.times("bulk"), 0.1) == 3  # bulk sends spread in tenths: no burst of a second's worth
    replies = rec.times("reply")
    assert replies.count(replies[0]) == 27  # replies take the rest of the second's budget at once


async def test_a_private_chat_gets_a_short_burst_then_one_a_second_and_a_group_twenty_a_minute() -> None:
    limiter = SharedRateLimiter(Limits(overall=30, chat=1.0, chat_burst=3, group_per_minute=20),
                                time_source=VirtualTime())
    rec = Recorder(limiter)
    await asyncio.gather(*(rec.call(7) for _ in range(8)), *(rec.call(-100, kind="group") for _ in range(25)))
    private = [t - rec.times("reply")[0] for t in rec.times("reply")]
    assert max(private[:3]) < 0.2  # the burst (within the overall tenths)
    assert [round(b - a, 6) for a, b in itertools.pairwise(private[2:])] == [1.0] * 5
    group = rec.times("group")
    assert max_in_window(group, 60.0) == 20 and group[20] - group[0] >= 60.0 - 1e-6


async def test_replies_go_before_every_queued_bulk_call() -> None:
    time = ManualTime()
    limiter = SharedRateLimiter(Limits(overall=30), time_source=time)
    rec = Recorder(limiter)

    async def broadcast() -> None:
        for n in range(5):  # 12 workers sending 5 notices each, like the broadcast sender
            await asyncio.gather(*(rec.call(1000 + 12 * n + w, kind="bulk") for w in range(12)))

    task = bulk_task(broadcast)
    await settle()
    assert rec.kinds() == ["bulk"] * 3 and limiter.queued(Priority.BULK) == 9  # the first tenth's slots
    for _ in range(9):
        time.advance(0.1)
        await settle()
    assert rec.kinds() == ["bulk"] * 30  # the second's budget is spent
    replies = asyncio.gather(rec.call(1), rec.call(2))
    await settle()
    assert limiter.queued(Priority.REPLY) == 2 and limiter.queued(Priority.BULK) > 2
    time.advance(0.1)
    await settle()
    assert rec.kinds()[30:33] == ["reply", "reply", "bulk"]  # ahead of the bulk calls that queued first
    await replies
    while not task.done():
        time.advance(0.1)
        await settle()
    assert rec.kinds().count("bulk") == 60


async def test_a_429_on_a_reply_pauses_the_broadcast_and_the_reply_is_retried_first() -> None:
    time = ManualTime()
    limiter = SharedRateLimiter(Limits(overall=30), time_source=time)
    rec = Recorder(limiter)
    rec.fail["reply"] = [5]

    async def broadcast() -> None:
        await asyncio.gather(*(rec.call(1000 + i, kind="bulk") for i in range(40)))

    reply = asyncio.create_task(rec.call(1))
    await settle()
    task = bulk_task(broadcast)
    await settle()
    assert rec.kinds() == ["reply"] and limiter.paused_until == pytest.approx(time.now + 5)
    for _ in range(49):  # 4.9 s: nothing goes out
        time.advance(0.1)
        await settle()
    assert rec.kinds() == ["reply"]
    time.advance(0.1)
    await settle()
    assert rec.kinds()[:4] == ["reply", "reply", "bulk", "bulk"]  # the retried reply first, then the rest
    assert len(rec.kinds()) == 4  # three sends in that tenth, the reply's included
    assert rec.times()[1] - rec.times()[0] == pytest.approx(5.0)
    await reply
    while not task.done():
        time.advance(0.1)
        await settle()
    assert limiter.stats.throttled == {Priority.REPLY: 1} and limiter.stats.paused_seconds == pytest.approx(5.0)


async def test_a_429_on_a_broadcast_send_pauses_the_replies_too() -> None:
    time = ManualTime()
    limiter = SharedRateLimiter(Limits(overall=30), time_source=time)
    rec = Recorder(limiter)
    rec.fail["bulk"] = [3]
    bulk = bulk_task(lambda: rec.call(1000, kind="bulk"))
    await settle()
    assert rec.kinds() == ["bulk"]
    reply = asyncio.create_task(rec.call(1))
    unlimited = asyncio.create_task(rec.call(None, kind="plain", endpoint="answerCallbackQuery"))
    await settle()
    assert rec.kinds() == ["bulk"] and limiter.queued(Priority.REPLY) == 2
    time.advance(2.9)
    await settle()
    assert rec.kinds() == ["bulk"]
    time.advance(0.1)
    await settle()
    assert rec.kinds()[1:3] == ["reply", "plain"] and rec.kinds()[3] == "bulk"
    await asyncio.gather(bulk, reply, unlimited)
    assert limiter.stats.throttled == {Priority.BULK: 1}


async def test_retries_are_bounded_and_the_last_429_is_raised() -> None:
    limiter = SharedRateLimiter(Limits(overall=30, max_retries=2), time_source=VirtualTime())
    rec = Recorder(limiter)
    rec.fail["reply"] = [1, 1, 1, 1]
    with pytest.raises(RetryAfter):
        await rec.call(1)
    assert rec.kinds() == ["reply"] * 3
    assert limiter.stats.throttled[Priority.REPLY] == 3


async def test_calls_not_to_a_chat_do_not_spend_the_budget() -> None:
    limiter = SharedRateLimiter(Limits(overall=30), time_source=ManualTime())
    rec = Recorder(limiter)
    await asyncio.gather(*(rec.call(None, kind="plain", endpoint="answerCallbackQuery") for _ in range(50)))
    await asyncio.gather(*(rec.call(10 + i) for i in range(3)))
    assert len(rec.calls) == 53  # all at once, on a clock that never moved


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    time = ManualTime()
    limiter = SharedRateLimiter(Limits(overall=1), time_source=time)
    rec = Recorder(limiter)
    await rec.call(1)
    gone = asyncio.create_task(rec.call(2))
    kept = asyncio.create_task(rec.call(3))
    await settle()
    gone.cancel()
    await settle()
    time.advance(1.0)
    await settle()
    assert kept.done() and [c for _, c, _ in rec.calls] == [1, 3]
