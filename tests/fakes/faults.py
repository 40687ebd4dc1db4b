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
from collections.abc import Mapping
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
