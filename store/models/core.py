"""Members, processed updates and the staff audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base
from store.types import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a person may do: members use the bot, staff run it, reviewers (把关人) also sign off, admins also
    manage staff and roles."""

    MEMBER = "member"
    STAFF = "staff"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES


STAFF_ROLES = frozenset({Role.STAFF, Role.REVIEWER, Role.ADMIN})


class Member(Base):
    """A committee member or a staff person from the roster."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    sector: Mapped[str] = mapped_column(String(64), default="")
    district: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the member blocked the bot (403): inactive until they write to the bot again.
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # Loaded only where needed (``selectinload(Member.groups)``): the member is read on every update,
    # and an eager load here cost a second SELECT each time (issue #7).
    groups: Mapped[list[MemberGroup]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="raise", order_by="MemberGroup.name"
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.active and self.role_enum.is_staff

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]


class MemberGroup(Base):
    """A member's membership of a group (专委会, 联络组, 委员工作室…), used for segments."""

    __tablename__ = "member_groups"
    __table_args__ = (UniqueConstraint("member_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)

    member: Mapped[Member] = relationship(back_populates="groups")


class ProcessedUpdate(Base):
    """An ``update_id`` whose effects are committed, so a redelivered update is handled once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLog(Base):
    """One staff action (or system action on a member's record), kept for accountability."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class InviteAttempt(Base):
    """A failed attempt to bind with an invite code, kept (not in memory) to limit guessing per account and code."""

    __tablename__ = "invite_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    code: Mapped[str] = mapped_column(String(32), index=True)  # normalised as typed
    outcome: Mapped[str] = mapped_column(String(16))  # unknown_code | code_used | inactive (for staff only)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AppSecret(Base):
    """A random secret generated once and shared by every process (e.g. the key signing event QR codes)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
