"""A plain outbox of Telegram messages to members, for processes that have no bot (the console)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.models.outbox import OutboxColumns
from store.types import UTCDateTime, utcnow


class MemberNotice(OutboxColumns, Base):
    """One finished message to one member, queued in the transaction of what it reports, sent once by the bot."""

    __tablename__ = "member_notices"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # what queued it (credits.dispute, credits.adjust), for logs
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
