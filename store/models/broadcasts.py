"""Staff broadcasts: the broadcast, its durable per-recipient outbox, staff drafts and member preferences."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class Broadcast(Base):
    """One notice from staff to an audience; deliveries are created when it is queued."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    media_kind: Mapped[str | None] = mapped_column(String(16))  # photo | document
    media_ref: Mapped[str | None] = mapped_column(String(256))  # a Telegram file_id
    audience: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    audience_label: Mapped[str] = mapped_column(String(200), default="")
    topic: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt: Mapped[bool] = mapped_column(Boolean, default=False)
    remind_after_minutes: Mapped[int | None] = mapped_column(Integer)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_via: Mapped[str] = mapped_column(String(16), default="telegram")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # An uploaded photo or document (a file name under the data dir, from the console): the sender uploads
    # it the first time and keeps the file_id Telegram returns in ``media_ref``.
    media_file: Mapped[str | None] = mapped_column(String(256))
    # The two-person rule (store/broadcasts/approval.py): who approved or returned it, when, and why.
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewers_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    author_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastDelivery(Base):
    """One recipient of one broadcast: the outbox row the sender claims, sends and marks."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "member_id"),
        Index("ix_broadcast_deliveries_state_not_before", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Parts of a multi-part notice already delivered (photo/document first): a retry resumes after them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)  # held back by quiet hours
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class BroadcastDraft(Base):
    """A staff member's /broadcast dialogue in progress (kept in the database, so it survives restarts)."""

    __tablename__ = "broadcast_drafts"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BroadcastReturnPrompt(Base):
    """A reviewer pressed 退回 and owes the reason as their next message (one at a time per reviewer)."""

    __tablename__ = "broadcast_return_prompts"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemberPreference(Base):
    """A member's notification preferences: topics of interest and quiet hours (null = the default)."""

    __tablename__ = "member_preferences"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    quiet_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_start: Mapped[time | None] = mapped_column(Time())
    quiet_end: Mapped[time | None] = mapped_column(Time())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
