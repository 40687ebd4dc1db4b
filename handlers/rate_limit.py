"""One budget for Telegram's limits, shared by replies and broadcasts (issue #12, item 5).

Every Bot API call of the bot goes through one ``SharedRateLimiter`` (PTB's ``BaseRateLimiter`` seam):

* overall: at most ``Limits.overall`` calls in any one-second window; bulk calls are also spread in tenths
  of a second (no burst of a second's worth, so free slots come every tenth for replies), while replies may
  use any free slot of the second (they catch up after a stall); only calls addressed to a chat
  (``chat_id``) count, as in PTB;
* per chat: about ``Limits.chat`` per second in a private chat (a short burst of ``chat_burst`` allowed),
  at most ``group_per_minute`` in any minute in a group (negative or ``@name`` chat ids);
* priority: replies (any call by default) go before bulk sends (calls made inside ``bulk_sends()``, as the
  broadcast sender does), so a running broadcast never delays a member's reply by more than a slot;
* a 429 ``RetryAfter`` on any call pauses *all* calls for ``retry_after`` seconds; the call is then retried
  (``max_retries`` times, then the error is raised with the pause still in force).

Time comes from a ``TimeSource``: the wall clock in production, ``VirtualTime`` (waits end at once, the
clock jumps) in the handler tests and the in-memory demo, ``ManualTime`` (moved by the test) to assert order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Any, Protocol

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)


class Priority(IntEnum):
    REPLY = 0  # calls made while handling an update (and anything not marked)
    BULK = 1  # broadcast sends


_priority: ContextVar[Priority] = ContextVar("telegram_call_priority", default=Priority.REPLY)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Calls made inside (and in tasks created inside) wait behind every reply."""
    token = _priority.set(Priority.BULK)
    try:
        yield
    finally:
        _priority.reset(token)


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds (an int today, a timedelta in a later PTB major version)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry = exc.retry_after
    return retry.total_seconds() if isinstance(retry, timedelta) else float(retry)


@dataclass(frozen=True)
class Limits:
    overall: float = 30.0  # calls per second to chats, all chats together
    chat: float = 1.0  # per second in one private chat, on average
    chat_burst: int = 3  # calls a private chat may get at once
    group_per_minute: int = 20  # in any minute, in one group
    max_retries: int = 3  # 429 answers before the error is raised


# ---- time ----------------------------------------------------------------------------------------


class Timer(Protocol):
    def cancel(self) -> None: ...


class TimeSource(Protocol):
    def monotonic(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class RealTime:
    """The event loop's clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(delay, callback)


class _Scheduled:
    def __init__(self, at: float, callback: Callable[[], None]) -> None:
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTime:
    """A clock that moves only when the test calls ``advance``; timers due by then fire in order."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[tuple[float, int, _Scheduled]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _Scheduled(self.now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.at, next(self._seq), timer))
        return timer

    def pending(self) -> bool:
        """Whether a timer waits (cancelled ones are dropped)."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return bool(self._timers)

    def step(self) -> None:
        """Move to the next timer and fire it (and any due at the same instant)."""
        if self.pending():
            self.advance(max(0.0, self._timers[0][0] - self.now))

    def advance(self, seconds: float) -> None:
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            at, _, timer = heapq.heappop(self._timers)
            self.now = max(self.now, at)
            if not timer.cancelled:
                timer.callback()
        self.now = until


class VirtualTime(ManualTime):
    """A clock that jumps to each timer as soon as the loop is free: waits keep their order, take no time."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = super().call_later(delay, callback)
        asyncio.get_running_loop().call_soon(self._fire_due)
        return timer

    def _fire_due(self) -> None:
        self.step()


# ---- windows -------------------------------------------------------------------------------------


class _Window:
    """At most ``count`` grants in any ``period`` seconds (the times of the last ``count`` grants)."""

    __slots__ = ("count", "period", "times")

    def __init__(self, count: int, period: float) -> None:
        self.count, self.period = count, period
        self.times: deque[float] = deque(maxlen=count)

    def wait(self, now: float) -> float:
        if len(self.times) < self.count:
            return 0.0
        return max(0.0, self.times[0] + self.period - now)

    def take(self, now: float) -> None:
        self.times.append(now)


@dataclass
class LimiterStats:
    granted: Counter[Priority] = field(default_factory=Counter)
    throttled: Counter[Priority] = field(default_factory=Counter)  # 429 answers, by the priority of the call
    paused_seconds: float = 0.0  # all sending paused by RetryAfter


ChatKey = int | str


@dataclass(eq=False)
class _Waiter:
    key: ChatKey | None
    future: asyncio.Future[None]


def chat_key(data: JSONDict) -> ChatKey | None:
    """The chat a call is addressed to (None: not a message to a chat, e.g. answerCallbackQuery)."""
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return int(chat_id)
    return str(chat_id)


class SharedRateLimiter(BaseRateLimiter[int]):
    """The bot's one rate limiter (see the module docstring); ``rate_limit_args``: max retries."""

    def __init__(self, limits: Limits | None = None, *, time_source: TimeSource | None = None) -> None:
        self.limits = limits or Limits()
        self.time: TimeSource = time_source or RealTime()
        self.stats = LimiterStats()
        per_second = max(1, math.floor(self.limits.overall))
        self._second = _Window(per_second, 1.0)
        self._tenth = _Window(max(1, math.ceil(per_second / 10)), 0.1)
        self._interval = 1.0 / self.limits.chat
        self._tolerance = (max(1, self.limits.chat_burst) - 1) * self._interval
        self._chat_tat: dict[ChatKey, float] = {}  # private chats: theoretical arrival time (GCRA)
        self._groups: dict[ChatKey, _Window] = {}
        self._queues: tuple[deque[_Waiter], deque[_Waiter]] = (deque(), deque())
        self._paused_until = 0.0
        self._timer: Timer | None = None
        self._timer_at = math.inf
        self._scheduled = False
        self.on_change: Callable[[], None] | None = None  # tests: called when a call queues or is granted

    # ---- BaseRateLimiter ---------------------------------------------------------------------

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        """Let every waiting call go (the process is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf
        for queue in self._queues:
            while queue:
                waiter = queue.popleft()
                if not waiter.future.done():
                    waiter.future.set_result(None)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        retries = self.limits.max_retries if rate_limit_args is None else rate_limit_args
        priority = _priority.get()
        key = chat_key(data)
        attempt = 0
        while True:
            await self._acquire(priority, key)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._pause(retry_seconds(exc), priority, endpoint)
                if attempt >= retries:
                    raise
                attempt += 1

    # ---- state, for tests and reports ----------------------------------------------------------

    def queued(self, priority: Priority) -> int:
        return sum(1 for w in self._queues[priority] if not w.future.done())

    @property
    def paused_until(self) -> float:
        return self._paused_until

    # ---- granting ----------------------------------------------------------------------------

    async def _acquire(self, priority: Priority, key: ChatKey | None) -> None:
        now = self.time.monotonic()
        ahead = self._queues[Priority.REPLY] if priority is Priority.REPLY else (self._queues[0] or self._queues[1])
        if not ahead and self._wait(key, now, priority) <= 0:
            self._grant(key, now, priority)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[priority].append(_Waiter(key, future))
        self._changed()
        if self._timer_at > now + self._wait(key, now, priority):  # else the armed timer comes first and sees it
            self._dispatch_soon()
        await future  # a cancelled waiter stays queued, done: the dispatcher drops it

    def _wait(self, key: ChatKey | None, now: float, priority: Priority) -> float:
        """Seconds before a call to ``key`` may go (0: now)."""
        pause = self._paused_until - now
        if key is None:
            return max(0.0, pause)
        wait = max(pause, self._second.wait(now), self._chat_wait(key, now))
        return max(wait, self._tenth.wait(now)) if priority is Priority.BULK else wait

    def _chat_wait(self, key: ChatKey, now: float) -> float:
        if isinstance(key, str) or key < 0:
            group = self._groups.get(key)
            return group.wait(now) if group is not None else 0.0
        tat = self._chat_tat.get(key)
        return 0.0 if tat is None else max(0.0, tat - self._tolerance - now)

    def _grant(self, key: ChatKey | None, now: float, priority: Priority) -> None:
        self.stats.granted[priority] += 1
        if key is None:
            return
        self._second.take(now)
        self._tenth.take(now)
        if isinstance(key, str) or key < 0:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Window(max(1, self.limits.group_per_minute), 60.0)
            group.take(now)
        else:
            self._chat_tat[key] = max(self._chat_tat.get(key, now), now) + self._interval
            if len(self._chat_tat) > 4096:
                self._chat_tat = {k: t for k, t in self._chat_tat.items() if t > now}

    def _dispatch_soon(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        """Grant every queued call that may go now, replies first; arm a timer for the next one."""
        self._scheduled = False
        now = self.time.monotonic()
        soonest = math.inf
        granted = False
        for priority, queue in zip(Priority, self._queues, strict=True):
            kept: deque[_Waiter] = deque()
            for waiter in queue:
                if waiter.future.done():
                    continue
                wait = self._wait(waiter.key, now, priority)
                if wait > 0:
                    soonest = min(soonest, wait)
                    kept.append(waiter)
                    continue
                self._grant(waiter.key, now, priority)
                waiter.future.set_result(None)
                granted = True
            queue.clear()
            queue.extend(kept)
        if granted:
            self._changed()
        if soonest < math.inf and now + soonest != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = now + soonest
            self._timer = self.time.call_later(soonest, self._on_timer)
        elif soonest == math.inf and self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._dispatch()

    def _pause(self, seconds: float, priority: Priority, endpoint: str) -> None:
        now = self.time.monotonic()
        self.stats.throttled[priority] += 1
        until = now + seconds
        if until > self._paused_until:
            self.stats.paused_seconds += until - max(self._paused_until, now)
            self._paused_until = until
        log.info("Telegram answered %s with 429: pausing every call for %.1fs", endpoint, seconds)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
