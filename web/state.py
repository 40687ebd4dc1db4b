"""What the console app is given by the composition root (``bot``): database, knowledge base, settings."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from store.broadcasts.approval import ApprovalConfig
from store.credits.rules import CreditRules, default_rules
from store.db import Database
from store.learning.pushes import LearningPushConfig
from store.preferences import PrefsDefaults
from store.proposals.config import ProposalsConfig
from store.types import Clock, utcnow


@dataclass(frozen=True)
class ConsoleConfig:
    """Plain settings of the console (mapped from ``bot.settings.Settings`` by ``bot``)."""

    data_dir: Path
    public_url: str = "http://127.0.0.1:8080"  # scheme://host[:port] the staff's browsers reach
    secret: str | None = None  # CONSOLE_SECRET; None: a random secret kept in the database
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    upload_max_bytes: int = 20 * 1024 * 1024
    bot_username: str | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    proposals: ProposalsConfig = field(default_factory=ProposalsConfig)
    credits: CreditRules = field(default_factory=default_rules)  # CREDIT_RULES_FILE, as the bot reads it
    learning_push: LearningPushConfig = field(default_factory=LearningPushConfig)
    prefs_defaults: PrefsDefaults = field(default_factory=PrefsDefaults)
    bad_link_limit: int = 10  # bad sign-in links per client address ...
    bad_link_window: float = 600.0  # ... per this many seconds
    topics: tuple[str, ...] = ()  # the /settings topics (BROADCAST_TOPICS): learning materials are tagged with them
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)  # the two-person rule for broadcasts
    broadcast_media_dir: Path | None = None  # None: DATA_DIR/broadcast-media

    @property
    def upload_dir(self) -> Path:
        """Uploaded documents: inside the data dir, never under a served path."""
        return self.data_dir / "console-uploads"

    @property
    def media_dir(self) -> Path:
        """Photos and documents of broadcasts, read by the bot's sender (never served)."""
        return self.broadcast_media_dir or self.data_dir / "broadcast-media"

    @property
    def import_dir(self) -> Path:
        return self.data_dir / "console-imports"


class RateLimiter:
    """At most ``limit`` failures per key in a sliding window (in memory, per process)."""

    def __init__(self, limit: int, window: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.monotonic = limit, window, monotonic
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.monotonic()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
            failures = self._failures.setdefault(key, deque())
        return failures

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self.limit

    def fail(self, key: str) -> None:
        self._recent(key).append(self.monotonic())


@dataclass
class Console:
    """Services of the console: one per app."""

    db: Database
    config: ConsoleConfig
    knowledge: Any = None  # knowledge.service.KnowledgeBase, or None
    clock: Clock = utcnow
    monotonic: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.bad_link_limit, self.config.bad_link_window, self.monotonic)
