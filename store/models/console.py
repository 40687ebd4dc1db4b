"""The staff console: one-time sign-in links, browser sessions, shared counters and uploaded documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class ConsoleLink(Base):
    """A signed, single-use sign-in link for one staff member (only a hash of its nonce is kept)."""

    __tablename__ = "console_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    created_via: Mapped[str] = mapped_column(String(16), default="telegram")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsoleSession(Base):
    """A signed-in browser: the cookie carries a random token, the table only its hash."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppState(Base):
    """Revision counters every process shares (FAQ…)."""

    __tablename__ = "app_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KbDocument(Base):
    """A document uploaded through the console: where its file is kept, who uploaded it and when."""

    __tablename__ = "kb_documents"

    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    stored_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
