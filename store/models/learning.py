"""Learning library (学习资料库): materials staff add, and each member's reading of each material."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow

MATERIAL_KINDS = ("kb", "file", "text", "link")


class LearningMaterial(Base):
    """One learning material: a knowledge-base document, an uploaded file, a text or a link.

    ``body`` is the text read in Telegram (a copy taken when the material is created, also for ``kb`` and
    ``file``); it is split into pages on read (``store.learning.pages``). ``source_label`` is what every
    page cites (《…》).
    """

    __tablename__ = "learning_materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # kb | file | text | link
    source_label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    kb_source: Mapped[str | None] = mapped_column(String(255))  # the knowledge base's ``source`` of a kb material
    file_name: Mapped[str | None] = mapped_column(String(255))
    link_url: Mapped[str | None] = mapped_column(String(1000))
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)  # names from the /settings topics
    estimated_minutes: Mapped[int] = mapped_column(Integer)
    # Required reading (必学) between these dates (inclusive), with the period's label (本季度必学).
    required_from: Mapped[date | None] = mapped_column(Date)
    required_until: Mapped[date | None] = mapped_column(Date)
    required_label: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class MaterialReading(Base):
    """One member's reading of one material (one row per member and material).

    ``finished_at`` is set once, by a conditional UPDATE (学完打卡), together with ``checkin_id`` (the
    study check-in carrying the material as evidence).
    """

    __tablename__ = "learning_readings"
    __table_args__ = (UniqueConstraint("member_id", "material_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("learning_materials.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_page: Mapped[int] = mapped_column(Integer, default=1)  # 1-based
    last_read_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_seconds: Mapped[int | None] = mapped_column(Integer)  # opened_at → finished_at
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("credit_checkins.id", ondelete="SET NULL"))
