"""Quiz questions (每日一题 and short quizzes; generated from the knowledge base or added by staff) and answers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class QuizQuestion(Base):
    """One question with its options, the article it cites and quotes, and its review state (把关).

    Members only ever see ``approved`` questions; generated ones start as ``draft``.
    """

    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The generator's stable key (document, article, kind, term): generating again adds only new questions.
    key: Mapped[str | None] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # cloze | choice
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[int] = mapped_column(Integer)  # index into options
    source: Mapped[str] = mapped_column(String(255), default="")  # the document's source (file name)
    title: Mapped[str] = mapped_column(String(255), default="")  # the document's title
    article: Mapped[str] = mapped_column(String(64), default="")  # 第二十八条, 总纲
    quote: Mapped[str] = mapped_column(Text, default="")  # the article's text
    explanation: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(64), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)  # draft | approved | rejected
    origin: Mapped[str] = mapped_column(String(16), default="generated")  # generated | staff
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QuizAnswer(Base):
    """A member's one answer to one question (the database keeps it to one, whatever is tapped twice)."""

    __tablename__ = "quiz_answers"
    __table_args__ = (UniqueConstraint("member_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    via: Mapped[str] = mapped_column(String(8))  # daily | quiz
    day: Mapped[date] = mapped_column(Date, index=True)  # the local day it was answered on
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
