"""A ``LocalBotApi`` with injected faults for broadcast tests and the benchmark.

* ``throttle_every=N``: every N-th ``sendMessage`` is answered 429 with ``retry_after``;
* ``blocked`` (inherited): chats answering 403;
* ``network_errors``: chat ids whose next send raises a transport error (in-process transport only);
* ``hold_after=N``: after N successful sends, further sends are *performed* (the member gets the
  message) but their answers are held until ``release()`` — the "in flight" window of a crash test.
Timestamps of successful sends are kept for rate figures.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from bot.localapi import JSONDict, LocalBotApi, Upload, error_for

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


class FaultyBotApi(LocalBotApi):
    def __init__(self, *, throttle_every: int | None = None, retry_after: int = 1,
                 hold_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.throttle_every, self.retry_after, self.hold_after = throttle_every, retry_after, hold_after
        self.send_attempts = 0
        self.throttled_at: list[float] = []
        self.sent_at: list[float] = []
        self.delivered: Counter[int] = Counter()  # chat id -> successful sendMessage count
        self.held = 0
        self._release = asyncio.Event()

    def release(self) -> None:
        self._release.set()

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        is_send = method in SEND_METHODS
        if is_send:
            self.send_attempts += 1
            if self.throttle_every and self.send_attempts % self.throttle_every == 0:
                self.throttled_at.append(time.monotonic())
                return 429, error_for(429, self.retry_after).body()
        status, body = await super().call(method, params, files)
        if is_send and status == 200:
            self.sent_at.append(time.monotonic())
            chat = int(str((params or {}).get("chat_id")))
            self.delivered[chat] += 1
            if self.hold_after is not None and len(self.sent_at) > self.hold_after:
                self.held += 1
                self._notify()
                await self._release.wait()
        return status, body

    def rate_outside_pauses(self, gap: float = 0.5) -> tuple[float, float, float]:
        """(sustained rate, active seconds, paused seconds): gaps longer than ``gap`` count as pauses."""
        times = sorted(self.sent_at)
        if len(times) < 2:
            return 0.0, 0.0, 0.0
        span = times[-1] - times[0]
        paused = sum(b - a for a, b in itertools.pairwise(times) if b - a > gap)
        active = span - paused
        return ((len(times) - 1) / active if active > 0 else 0.0), active, paused


Hold = Callable[[str, Mapping[str, Any]], bool]


class CrashPointBotApi(LocalBotApi):
    """A ``LocalBotApi`` that freezes a bot process at a chosen point, for kill -9 tests.

    * ``hold_next(predicate)``: the next call matching ``predicate(method, params)`` is *performed* (the
      user sees it) but its answer is held until ``release()``: the process is stuck right after it;
    * ``keep_unconfirmed(update_id)``: a ``getUpdates`` that would confirm that update (``offset`` above
      it) is parked and, on ``release()``, answered without being applied, as if the request never reached
      Telegram (the process was killed with it in flight). Telegram then redelivers the update to the
      next process. Without this, PTB's next long poll confirms an update as soon as it is fetched.
    ``held`` and ``parked`` count what is being held, for ``wait_until``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.held: list[tuple[str, dict[str, Any]]] = []
        self.parked = 0
        self._hold: Hold | None = None
        self._unconfirmed: int | None = None
        self._release = asyncio.Event()

    def hold_next(self, predicate: Hold) -> None:
        self._hold = predicate

    def keep_unconfirmed(self, update_id: int) -> None:
        self._unconfirmed = update_id

    def release(self) -> None:
        """Answer everything held (the process that asked is gone) and disarm."""
        self._hold, self._unconfirmed = None, None
        self.held, self.parked = [], 0
        self._release.set()
        self._release = asyncio.Event()

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   files: Mapping[str, Upload] | None = None) -> tuple[int, JSONDict]:
        gate = self._release
        if (method.lower() == "getupdates" and self._unconfirmed is not None
                and int((params or {}).get("offset") or 0) > self._unconfirmed):
            self.parked += 1
            self._notify()
            await gate.wait()
            return 200, {"ok": True, "result": []}  # never applied: the update stays queued
        status, body = await super().call(method, params, files)
        if self._hold is not None and self._hold(method, params or {}):
            self._hold = None
            self.held.append((method, dict(params or {})))
            self._notify()
            await gate.wait()
        return status, body
