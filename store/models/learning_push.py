"""Learning pushes (学习推送): the weekly plan of materials sent to each member, and topics they stopped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow

PUSH_STATUSES = ("planned", "sending", "sent", "skipped", "failed")


class LearningPush(Base):
    """One material planned for (then sent to) one member; never two rows for the same member and material.

    ``status``: ``planned`` (waits for ``planned_at``) → ``sending`` (claimed by a sender, ``claimed_at``)
    → ``sent`` (``sent_at``) or ``failed``; ``skipped`` when the plan is replaced or the material, the
    member or the topic is no longer pushable. ``week_start`` is the local Monday 00:00 (UTC) of its week.
    """

    __tablename__ = "learning_pushes"
    __table_args__ = (
        UniqueConstraint("member_id", "material_id"),
        Index("ix_learning_pushes_status_planned_at", "status", "planned_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("learning_materials.id", ondelete="CASCADE"), index=True)
    week_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(16))  # required | wrong | topic | new
    topic: Mapped[str | None] = mapped_column(String(64))  # what 不再推送此主题 stops
    status: Mapped[str] = mapped_column(String(16), default="planned")
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LearningPushBlock(Base):
    """A topic a member asked not to be pushed again (不再推送此主题)."""

    __tablename__ = "learning_push_blocks"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
