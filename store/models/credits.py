"""Credits (履职积分): offline events and their check-ins, study check-ins, drafts, the ledger, disputes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class CreditEvent(Base):
    """An offline event members check in to (会议, 培训, 读书活动, 调研视察)."""

    __tablename__ = "credit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    points: Mapped[int] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    # Check-in counts only with a shared location inside the radius (定位=必需).
    require_location: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def has_place(self) -> bool:
        return self.latitude is not None and self.longitude is not None and self.radius_m is not None


class EventAttendance(Base):
    """One member's check-in at one event (once per member and event)."""

    __tablename__ = "credit_event_checkins"
    __table_args__ = (UniqueConstraint("event_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("credit_events.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(16))  # code (typed) | link (rotating QR) | manual
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    out_of_radius: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)


class StudyCheckin(Base):
    """A member's online study check-in (自主学习) or reflection (学习心得)."""

    __tablename__ = "credit_checkins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the rule id: study | note
    title: Mapped[str | None] = mapped_column(String(200))
    minutes: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    study_date: Mapped[date] = mapped_column(Date)
    backfill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # What backs it (0015): ``self_report`` (the member's own sentence, 自报) or ``reading`` (a material of the
    # learning library read in Telegram, ``material_id``; no foreign key so SQLite adds the column in place).
    evidence: Mapped[str] = mapped_column(String(16), default="self_report", server_default="self_report")
    material_id: Mapped[int | None] = mapped_column(Integer)


class CheckinDraft(Base):
    """A check-in shown to the member and not yet confirmed (survives restarts)."""

    __tablename__ = "credit_checkin_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(200))
    minutes: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    study_date: Mapped[date | None] = mapped_column(Date)
    awaiting: Mapped[str | None] = mapped_column(String(16))  # text | title | minutes | date | edit
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the member was last shown it (the card or a question): the newest waiting card is the one in
    # front of them (store.pending).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CreditEntry(Base):
    """One line of the points ledger; every line names its evidence, and evidence counts once."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        UniqueConstraint("member_id", "rule_id", "source_type", "source_id"),
        # An entry is reversed (corrected) at most once, even when two staff press at the same moment.
        Index("uq_credit_entries_reverses_id", "reverses_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(32), index=True)
    source_type: Mapped[str] = mapped_column(String(16))  # checkin | event | proposal | quiz | adjustment
    source_id: Mapped[str] = mapped_column(String(64))
    activity_date: Mapped[date] = mapped_column(Date, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_points: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    capped_reason: Mapped[str | None] = mapped_column(String(32))  # daily | weekly | annual
    rules_version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # A correction is a reversal naming the entry it reverses (unique index above). No foreign key: adding
    # one would make SQLite rebuild the ledger table, and the rebuild's DROP would cascade to the disputes.
    reverses_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


OPEN_DISPUTE = text("status = 'open'")


class CreditDispute(Base):
    """A member's objection (申诉) to one ledger entry, resolved by staff."""

    __tablename__ = "credit_disputes"
    # At most one open dispute per entry (a partial unique index: SQLite and PostgreSQL).
    __table_args__ = (
        Index("uq_credit_disputes_open_entry", "entry_id", unique=True,
              sqlite_where=OPEN_DISPUTE, postgresql_where=OPEN_DISPUTE),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("credit_entries.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # drafting | open | upheld | corrected | duplicate (0007)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(Text)


class ReminderPreference(Base):
    """Per-member credit reminder settings (opt-out) and when the last nudge went out."""

    __tablename__ = "credit_reminder_prefs"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventCheckinAttempt(Base):
    """One attempt to check in to an event (typed code, QR link or location), kept to limit guessing."""

    __tablename__ = "credit_event_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    # The event the attempt named, when it named one (a wrong code names none).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("credit_events.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # code | link
    outcome: Mapped[str] = mapped_column(String(16))  # see store.credits.events.AttemptOutcome
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class EventQrPage(Base):
    """A staff message showing an event's rotating QR code, renewed in place while check-in is open."""

    __tablename__ = "credit_event_qr_pages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("credit_events.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
