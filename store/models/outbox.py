"""The columns every message outbox shares (``store.outbox`` claims, marks and defers its rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.types import UTCDateTime


class OutboxColumns:
    """Mixin: a row to send once, leased to one sender at a time (``claimed_until``), retried after a failure
    with a growing pause (``attempts``), given up (``failed``) or sent (``sent_at``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
