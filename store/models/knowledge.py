"""Question log (for /gaps and feedback) and staff-curated FAQ pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class QuestionLog(Base):
    """One question a member asked, what the bot answered from, and the member's feedback."""

    __tablename__ = "question_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(Text)
    question_key: Mapped[str] = mapped_column(String(200), index=True)
    answered: Mapped[bool] = mapped_column(Boolean)
    answer: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faq_entries.id", ondelete="SET NULL"))
    feedback: Mapped[str | None] = mapped_column(String(16))
    passed_to_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    # How it was answered: faq | answer | uncertain | refused | unavailable (None: logged before 0009).
    mode: Mapped[str | None] = mapped_column(String(16))
    # A staff member dealt with this gap (an FAQ entry, a document, or nothing to do).
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The knowledge base's decision: "answer", "candidates" (``sources`` then holds the articles offered)
    # or "refusal"; None for rows logged before it was recorded.
    kb_mode: Mapped[str | None] = mapped_column(String(16), index=True)
    opened_candidate: Mapped[int | None] = mapped_column(Integer)  # 1-based rank of the last one opened


class FaqEntry(Base):
    """A question/answer pair curated by staff, matched before retrieval."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
