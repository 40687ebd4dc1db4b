"""Console sign-in: signed single-use links (10 minutes), browser sessions with idle expiry, CSRF tokens.

A link is ``/console/login?t=ID.NONCE.SIGNATURE``: the signature (HMAC-SHA256 with the console secret)
lets garbage be refused without a database read; the nonce's hash in ``console_links`` makes it single
use (consumed by one conditional UPDATE, so two browsers racing with one link get one session).
Session cookies carry a random token; the table keeps only its SHA-256.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import secrets as secrets_repo
from store.models import ConsoleLink, ConsoleSession, Member

LINK_TTL = timedelta(minutes=10)
SECRET_NAME = "console_secret"
MAX_TOKEN = 200


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def may_use_console(member: Member | None) -> bool:
    """Active staff, reviewers and admins; members, unbound people and deactivated staff may not."""
    return member is not None and member.is_staff


async def console_secret(session: AsyncSession, *, configured: str | None, now: datetime) -> bytes:
    """CONSOLE_SECRET if set, else a random secret kept in the database (so every process agrees)."""
    if configured:
        return configured.encode()
    value, _created = await secrets_repo.get_or_create(session, name=SECRET_NAME, now=now)
    return value.encode()


def _signature(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _split(secret: bytes, token: str) -> tuple[int, str] | None:
    """The link id and nonce of a well-formed, correctly signed token; None otherwise."""
    if not token or len(token) > MAX_TOKEN or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 10:
        return None
    link_id, nonce, signature = parts
    if not hmac.compare_digest(_signature(secret, f"{link_id}.{nonce}"), signature):
        return None
    return int(link_id), nonce


async def create_link(
    session: AsyncSession, *, member: Member, secret: bytes, now: datetime, via: str = "telegram"
) -> str:
    """A fresh sign-in token for ``member`` (the caller checked ``may_use_console``)."""
    nonce = secrets.token_urlsafe(24)
    link = ConsoleLink(nonce_hash=_sha(nonce), member_id=member.id, created_via=via, created_at=now,
                       expires_at=now + LINK_TTL)
    session.add(link)
    await session.flush()
    payload = f"{link.id}.{nonce}"
    return f"{payload}.{_signature(secret, payload)}"


class LinkOutcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"  # malformed, forged or unknown
    EXPIRED = "expired"
    USED = "used"
    FORBIDDEN = "forbidden"  # the member is no longer active staff


@dataclass(frozen=True)
class LinkCheck:
    outcome: LinkOutcome
    link: ConsoleLink | None = None
    member: Member | None = None


async def check_link(session: AsyncSession, *, token: str, secret: bytes, now: datetime) -> LinkCheck:
    """What a link is worth now, without using it up."""
    parsed = _split(secret, token)
    if parsed is None:
        return LinkCheck(LinkOutcome.INVALID)
    link_id, nonce = parsed
    link = await session.get(ConsoleLink, link_id)
    if link is None or not hmac.compare_digest(link.nonce_hash, _sha(nonce)):
        return LinkCheck(LinkOutcome.INVALID)
    if link.used_at is not None:
        return LinkCheck(LinkOutcome.USED, link)
    if now >= link.expires_at:
        return LinkCheck(LinkOutcome.EXPIRED, link)
    member = await session.get(Member, link.member_id)
    if not may_use_console(member):
        return LinkCheck(LinkOutcome.FORBIDDEN, link, member)
    return LinkCheck(LinkOutcome.OK, link, member)


@dataclass(frozen=True)
class NewSession:
    token: str  # for the cookie; never stored
    csrf_token: str
    member: Member


async def consume_link(
    session: AsyncSession, *, token: str, secret: bytes, now: datetime
) -> tuple[LinkCheck, NewSession | None]:
    """Use the link up and open a session for its member; a second use (even a racing one) gets USED."""
    check = await check_link(session, token=token, secret=secret, now=now)
    if check.outcome is not LinkOutcome.OK or check.link is None or check.member is None:
        return check, None
    result = await session.execute(
        update(ConsoleLink)
        .where(ConsoleLink.id == check.link.id, ConsoleLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return LinkCheck(LinkOutcome.USED, check.link), None
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_sha(cookie), member_id=check.member.id, csrf_token=csrf,
                               created_at=now, last_seen_at=now))
    await session.flush()
    return check, NewSession(cookie, csrf, check.member)


@dataclass(frozen=True)
class ActiveSession:
    id: int
    member: Member
    csrf_token: str


async def session_for(
    session: AsyncSession, *, token: str | None, now: datetime, idle: timedelta, max_age: timedelta
) -> ActiveSession | None:
    """The signed-in staff member of a session cookie, touching its idle timer; None when it is no good.

    A session ends after ``idle`` without a request, after ``max_age`` in any case, when signed out, and
    as soon as its member is deactivated or loses the staff role.
    """
    if not token or len(token) > MAX_TOKEN:
        return None
    row = await session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _sha(token)))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at >= idle or now - row.created_at >= max_age:
        row.ended_at = now
        await session.flush()
        return None
    member = await session.get(Member, row.member_id)
    if not may_use_console(member) or member is None:
        row.ended_at = now
        await session.flush()
        return None
    row.last_seen_at = now
    await session.flush()
    return ActiveSession(row.id, member, row.csrf_token)


async def end_session(session: AsyncSession, *, token: str | None, now: datetime) -> None:
    if not token:
        return
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == _sha(token), ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )


LOGIN_PATH = "/console/login"


def login_url(base_url: str, token: str) -> str:
    """The sign-in link staff open: ``{CONSOLE_URL}/console/login?t=TOKEN``."""
    return f"{base_url.rstrip('/')}{LOGIN_PATH}?t={token}"


async def issue_link(
    session: AsyncSession, *, member: Member, configured_secret: str | None, base_url: str, now: datetime, via: str
) -> str | None:
    """A sign-in URL for ``member`` (None if they may not use the console); the caller commits."""
    if not may_use_console(member):
        return None
    secret = await console_secret(session, configured=configured_secret, now=now)
    token = await create_link(session, member=member, secret=secret, now=now, via=via)
    return login_url(base_url, token)
