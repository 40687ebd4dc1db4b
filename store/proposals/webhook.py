"""Outbound webhook: signed JSON events from the outbox, delivered with exponential back-off.

Headers: ``Idempotency-Key`` (the same on every retry of one event), ``X-Cppcc-Event``,
``X-Cppcc-Timestamp`` and ``X-Cppcc-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``.

Every bot process runs the delivery job; an event is leased (its ``next_attempt_at`` moved ``LEASE``
ahead by a conditional UPDATE, committed) before it is posted, so two processes never post it at once.
A process that dies mid-post leaves the lease to expire: the event is posted again, with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.db import affected_rows
from store.models import ProposalWebhookEvent

log = logging.getLogger(__name__)

BASE_DELAY = timedelta(seconds=10)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=2)  # longer than one post may take (the client's timeout)


def body_of(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failures: 10 s, 20 s, 40 s … capped at one hour."""
    return min(BASE_DELAY * (1 << min(max(attempts - 1, 0), 16)), MAX_DELAY)


async def due(session: AsyncSession, *, now: datetime, limit: int = 20) -> list[ProposalWebhookEvent]:
    stmt = (
        select(ProposalWebhookEvent)
        .where(
            ProposalWebhookEvent.delivered_at.is_(None),
            ProposalWebhookEvent.attempts < MAX_ATTEMPTS,
            ProposalWebhookEvent.next_attempt_at <= now,
        )
        .order_by(ProposalWebhookEvent.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    client: httpx.AsyncClient,
    url: str,
    secret: str | None,
    now: datetime,
) -> int:
    """Post every due event once; a 2xx marks it delivered, anything else schedules a retry. Returns #delivered."""
    async with sessionmaker() as session:
        events = []
        for e in await due(session, now=now):
            leased = await session.execute(
                update(ProposalWebhookEvent)
                .where(ProposalWebhookEvent.id == e.id, ProposalWebhookEvent.delivered_at.is_(None),
                       ProposalWebhookEvent.next_attempt_at <= now)
                .values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if affected_rows(leased) == 1:  # 0: another process leased it first
                events.append((e.id, e.key, e.kind, e.payload))
        await session.commit()
    delivered = 0
    for event_id, key, kind, payload in events:
        body = body_of(payload)
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, "X-Cppcc-Event": kind,
                   "X-Cppcc-Timestamp": timestamp}
        if secret:
            headers["X-Cppcc-Signature"] = sign(secret, timestamp, body)
        error: str | None = None
        try:
            response = await client.post(url, content=body, headers=headers)
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        async with sessionmaker() as session:
            row = await session.get(ProposalWebhookEvent, event_id)
            if row is None:
                continue
            row.attempts += 1
            if error is None:
                row.delivered_at = now
                delivered += 1
            else:
                row.last_error = error
                row.next_attempt_at = now + backoff(row.attempts)
                log.warning("proposal webhook %s failed (%s); retry at %s", key, error, row.next_attempt_at)
            await session.commit()
    return delivered
