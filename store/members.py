"""Member repository: roster import, invite codes and Telegram binding."""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from store.models import InviteAttempt, Member, MemberGroup, Role
from store.models.core import STAFF_ROLES
from store.roster import RosterRow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
# Failed binding attempts, counted in the database (a restart forgets nothing): per Telegram account, and
# per code (so many accounts cannot keep trying one code either).
MAX_FAILED_BINDS_PER_ACCOUNT = 5
FAILED_BINDS_ACCOUNT_WINDOW = timedelta(minutes=10)
MAX_FAILED_BINDS_PER_CODE = 5
FAILED_BINDS_CODE_WINDOW = timedelta(hours=24)


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return text.strip().upper().replace(" ", "").replace("-", "")


def looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


@dataclass
class ImportReport:
    created: list[Member] = field(default_factory=list)
    updated: list[Member] = field(default_factory=list)

    @property
    def awaiting_binding(self) -> list[Member]:
        return [m for m in self.created + self.updated if m.telegram_id is None and m.invite_code]


# Built once (its cache key is memoized on the object): this lookup runs for most updates.
_BY_TELEGRAM_ID = select(Member).where(Member.telegram_id == bindparam("telegram_id"))


async def get_by_telegram_id(session: AsyncSession, *, telegram_id: int) -> Member | None:
    return await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


async def get(session: AsyncSession, *, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def list_members(session: AsyncSession, *, active_only: bool = False) -> list[Member]:
    """Members with their groups loaded."""
    stmt = select(Member).options(selectinload(Member.groups)).order_by(Member.id)
    if active_only:
        stmt = stmt.where(Member.active.is_(True))
    return list(await session.scalars(stmt))


async def staff_telegram_ids(session: AsyncSession) -> list[int]:
    stmt = select(Member.telegram_id).where(
        Member.role.in_(sorted(r.value for r in STAFF_ROLES)),
        Member.active.is_(True),
        Member.telegram_id.is_not(None),
    )
    return [t for t in await session.scalars(stmt) if t is not None]


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Member)) or 0)


async def _find_existing(session: AsyncSession, row: RosterRow) -> Member | None:
    """The member a roster row updates, with its groups loaded."""
    with_groups = select(Member).options(selectinload(Member.groups))
    if row.telegram_id is not None:
        found = await session.scalar(with_groups.where(Member.telegram_id == row.telegram_id))
        if found:
            return found
    phone_clause = Member.phone.is_(None) if row.phone is None else Member.phone == row.phone
    return await session.scalar(with_groups.where(Member.name == row.name, phone_clause))


async def _unique_code(session: AsyncSession) -> str:
    while True:
        code = new_invite_code()
        taken = await session.scalar(select(Member.id).where(Member.invite_code == code))
        if taken is None:
            return code


async def import_roster(session: AsyncSession, *, rows: list[RosterRow], now: datetime) -> ImportReport:
    """Create or update members from validated rows; the caller's transaction makes it all-or-nothing."""
    report = ImportReport()
    for row in rows:
        member = await _find_existing(session, row)
        if member is None:
            member = Member(name=row.name, phone=row.phone, created_at=now, active=True)
            session.add(member)
            report.created.append(member)
        else:
            report.updated.append(member)
        member.name = row.name
        member.sector = row.sector
        member.district = row.district
        member.role = row.role.value
        member.phone = row.phone
        member.updated_at = now
        if row.telegram_id is not None and member.telegram_id != row.telegram_id:
            member.telegram_id = row.telegram_id
            member.bound_at = now
        wanted = set(row.groups)
        member.groups = [g for g in member.groups if g.name in wanted] + [
            MemberGroup(name=name) for name in row.groups if name not in {g.name for g in member.groups}
        ]
        if member.telegram_id is None and not member.invite_code:
            member.invite_code = await _unique_code(session)
        await session.flush()
    return report


class BindOutcome(enum.Enum):
    BOUND = "bound"
    ALREADY_BOUND = "already_bound"  # this Telegram account is already bound (to this or another member)
    CODE_USED = "code_used"  # the code's member is bound to another account
    UNKNOWN_CODE = "unknown_code"
    INACTIVE = "inactive"
    TOO_MANY = "too_many"  # too many failed attempts from this account or on this code: not even looked up


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    member: Member | None = None


async def bind(session: AsyncSession, *, code: str, telegram_id: int, now: datetime) -> BindResult:
    """Bind a Telegram account to the member holding ``code``; a code binds one account, once.

    Failures (unknown, used, inactive) are recorded; after too many from this account or on this code the
    code is not even looked up (TOO_MANY). Callers must answer all failures alike, so a reply never tells a
    guesser that a code exists."""
    existing = await get_by_telegram_id(session, telegram_id=telegram_id)
    if existing is not None:
        return BindResult(BindOutcome.ALREADY_BOUND, existing)
    normalised = normalise_code(code)[:32]
    if await bind_locked(session, code=normalised, telegram_id=telegram_id, now=now):
        return BindResult(BindOutcome.TOO_MANY)
    member = await session.scalar(select(Member).where(Member.invite_code == normalised))
    outcome = (BindOutcome.UNKNOWN_CODE if member is None else BindOutcome.INACTIVE if not member.active
               else BindOutcome.CODE_USED if member.telegram_id is not None else None)
    if outcome is not None:
        session.add(InviteAttempt(telegram_id=telegram_id, code=normalised, outcome=outcome.value, at=now))
        await session.flush()
        return BindResult(outcome, member)
    assert member is not None
    member.telegram_id = telegram_id
    member.bound_at = now
    member.updated_at = now
    await session.flush()
    return BindResult(BindOutcome.BOUND, member)


async def bind_locked(session: AsyncSession, *, code: str, telegram_id: int, now: datetime) -> bool:
    """Too many failed attempts lately from this account, or on this (normalised) code?"""
    by_account = await session.scalar(select(func.count(InviteAttempt.id)).where(
        InviteAttempt.telegram_id == telegram_id, InviteAttempt.at >= now - FAILED_BINDS_ACCOUNT_WINDOW))
    if (by_account or 0) >= MAX_FAILED_BINDS_PER_ACCOUNT:
        return True
    by_code = await session.scalar(select(func.count(InviteAttempt.id)).where(
        InviteAttempt.code == code, InviteAttempt.at >= now - FAILED_BINDS_CODE_WINDOW))
    return (by_code or 0) >= MAX_FAILED_BINDS_PER_CODE


async def find_by_segment(session: AsyncSession, *, kind: str, value: str) -> list[Member]:
    """Active, bound members in a segment: ``all``, ``sector``, ``district`` or ``group``."""
    stmt = select(Member).where(Member.active.is_(True), Member.telegram_id.is_not(None))
    if kind == "sector":
        stmt = stmt.where(Member.sector == value)
    elif kind == "district":
        stmt = stmt.where(Member.district == value)
    elif kind == "group":
        stmt = stmt.where(Member.groups.any(MemberGroup.name == value))
    elif kind != "all":
        raise ValueError(f"unknown segment kind {kind!r}")
    return list(await session.scalars(stmt.order_by(Member.id)))


async def search(session: AsyncSession, *, text: str, limit: int = 20) -> list[Member]:
    pattern = f"%{text}%"
    stmt = select(Member).where(or_(Member.name.like(pattern), Member.phone.like(pattern))).limit(limit)
    return list(await session.scalars(stmt))


async def deactivate_by_telegram_id(session: AsyncSession, *, telegram_id: int, now: datetime) -> bool:
    """The member bound to ``telegram_id`` blocked the bot: inactive until they write again; False if none."""
    member = await get_by_telegram_id(session, telegram_id=telegram_id)
    if member is None or not member.active:
        return False
    member.active = False
    member.blocked_at = now
    member.updated_at = now
    await session.flush()
    return True


def reactivate_if_unblocked(member: Member, *, now: datetime) -> bool:
    """A member made inactive only because they blocked the bot is active again once they write to it.

    Members deactivated by staff (no ``blocked_at``) stay inactive.
    """
    if member.active or member.blocked_at is None:
        return False
    member.active = True
    member.blocked_at = None
    member.updated_at = now
    return True


async def set_active(session: AsyncSession, *, member_id: int, active: bool, now: datetime) -> Member | None:
    """Staff deactivate or reactivate a member (a deactivated member is turned away by the bot)."""
    member = await session.get(Member, member_id)
    if member is None:
        return None
    member.active = active
    member.blocked_at = None
    member.updated_at = now
    await session.flush()
    return member


async def set_role(session: AsyncSession, *, member_id: int, role: Role, now: datetime) -> Member | None:
    member = await session.get(Member, member_id)
    if member is None:
        return None
    member.role = role.value
    member.updated_at = now
    await session.flush()
    return member


async def new_invite(session: AsyncSession, *, member_id: int, now: datetime) -> Member | None:
    """A fresh invite code for a member who is not bound yet (the old code stops working)."""
    member = await session.get(Member, member_id)
    if member is None or member.telegram_id is not None:
        return None
    member.invite_code = await _unique_code(session)
    member.updated_at = now
    await session.flush()
    return member
