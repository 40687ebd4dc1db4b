"""Micro-proposals (微建议): items, their events, supporters (附议), photos, drafts and two outboxes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.models.core import Member
from store.models.outbox import OutboxColumns
from store.types import UTCDateTime, utcnow


class Proposal(Base):
    """One micro-proposal with its tracking number (WJY-2026-0001) and current state."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    unit: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[date | None] = mapped_column(Date)
    reply: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id", ondelete="SET NULL"), index=True)
    embedding: Mapped[list[float] | None] = mapped_column(JSON)
    embedder_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")
    events: Mapped[list[ProposalEvent]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", lazy="selectin", order_by="ProposalEvent.id"
    )
    photos: Mapped[list[ProposalPhoto]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProposalPhoto.position"
    )
    supporters: Mapped[list[ProposalSupporter]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProposalSupporter.id"
    )


class ProposalCounter(Base):
    """The last tracking number handed out per year (allocated inside the submitting transaction)."""

    __tablename__ = "proposal_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ProposalEvent(Base):
    """One transition: who did what, when, with which note; ``status`` is the status after it."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    proposal: Mapped[Proposal] = relationship(back_populates="events")


class ProposalSupporter(Base):
    """A member who seconded (附议) an item instead of filing a duplicate."""

    __tablename__ = "proposal_supporters"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProposalPhoto(Base):
    """A photo (随手拍): the Telegram file reference, and ``local_path`` (relative to the photo folder of the
    data dir) once the bot downloaded it. Downloads are claimed under a lease (``fetch_after``) and retried
    with back-off; after ``fetch_attempts`` reaches the limit the console shows "图片暂不可用"."""

    __tablename__ = "proposal_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(64))
    local_path: Mapped[str | None] = mapped_column(String(512))
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fetch_after: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProposalDraft(Base):
    """Conversation state that survives a restart: a member's draft, or a staff prompt (``kind='review'``)."""

    __tablename__ = "proposal_drafts"
    __table_args__ = (UniqueConstraint("member_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="proposal")
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProposalNotification(OutboxColumns, Base):
    """Durable outbox: one message to one member about one event, sent once by the running bot."""

    __tablename__ = "proposal_notifications"
    __table_args__ = (UniqueConstraint("event_id", "member_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("proposal_events.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default="author")  # author | supporter | merged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[ProposalEvent] = relationship(lazy="joined")


class ProposalWebhookEvent(Base):
    """Durable outbox of signed JSON events for the back office (PROPOSALS_WEBHOOK_URL)."""

    __tablename__ = "proposal_webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the Idempotency-Key header
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))
