"""The controlled clock of the tests: never the wall clock, the date or the machine's time zone.

``TestClock`` starts at a fixed instant and runs at real speed (so timestamps keep their order and
leases expire as they would), and a test moves it with ``set`` or ``advance``. The ``services``
fixture installs one, starting at ``DEFAULT_START``: a Wednesday morning in mid-November, Shanghai
time, outside the default quiet hours (22:00–08:00) and away from month and year ends. A test that
relies on another hour, weekday or date sets it explicitly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_START = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


class TestClock:
    """A callable clock (``clock()`` → aware UTC) that tests set and advance."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self.set(start)

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("TestClock needs an aware datetime")
        self._start, self._t0 = when.astimezone(UTC), time.monotonic()

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self.set(self() + (delta or timedelta(**kwargs)))
        return self()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)
