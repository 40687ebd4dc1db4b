"""The durable broadcast outbox: create, claim, record, recover, acknowledge, report (no Telegram here).

Exactly-once-except-in-flight: a sender claims rows (``pending → sending``, committed) before calling
the Bot API and records the outcome afterwards. If the process dies in between, the rows it held stay
``sending``; ``recover`` puts them back to ``pending`` marked ``uncertain`` — only those can be sent twice.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import preferences
from store.broadcasts import audience as audience_mod
from store.broadcasts.states import BroadcastState, DeliveryState, Outcome
from store.db import affected_rows
from store.models import Broadcast, BroadcastDelivery, Member
from store.models.base import table_of

LIVE_STATES = (BroadcastState.SCHEDULED.value, BroadcastState.QUEUED.value, BroadcastState.SENDING.value)
_T = table_of(BroadcastDelivery)


@dataclass(frozen=True)
class NewBroadcast:
    """What staff composed (from Telegram or the CLI)."""

    text: str
    audience: audience_mod.Spec
    media_kind: str | None = None
    media_ref: str | None = None
    topic: str | None = None
    urgent: bool = False
    receipt: bool = False
    scheduled_at: datetime | None = None
    remind_after_minutes: int | None = None
    created_by: int | None = None
    created_via: str = "telegram"
    media_file: str | None = None  # an uploaded file (console), sent by upload once, then by its file_id


async def create(
    session: AsyncSession,
    *,
    new: NewBroadcast,
    now: datetime,
    tz: ZoneInfo,
    defaults: preferences.PrefsDefaults,
    recipients: Sequence[audience_mod.Recipient] | None = None,
    parent_id: int | None = None,
    awaiting: bool = False,
) -> Broadcast:
    """Store the broadcast and one pending delivery per recipient, in the caller's transaction.

    Each delivery's ``not_before`` is the scheduled time, pushed past the member's quiet hours for a
    non-urgent notice (deferred, never dropped). ``awaiting``: the two-person rule applies, so the
    broadcast waits for a reviewer (``store.broadcasts.approval.approve`` adds the deliveries then).
    """
    spec = audience_mod.validate(new.audience)
    broadcast = Broadcast(
        text=new.text, media_kind=new.media_kind, media_ref=new.media_ref, media_file=new.media_file, audience=spec,
        audience_label=audience_mod.describe(spec), topic=new.topic, urgent=new.urgent, receipt=new.receipt,
        remind_after_minutes=new.remind_after_minutes, parent_id=parent_id, scheduled_at=new.scheduled_at,
        state=BroadcastState.AWAITING.value if awaiting else BroadcastState.QUEUED.value,
        created_by=new.created_by, created_via=new.created_via, created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    if not awaiting:
        await add_deliveries(session, broadcast=broadcast, now=now, tz=tz, defaults=defaults, recipients=recipients)
    return broadcast


async def add_deliveries(
    session: AsyncSession,
    *,
    broadcast: Broadcast,
    now: datetime,
    tz: ZoneInfo,
    defaults: preferences.PrefsDefaults,
    recipients: Sequence[audience_mod.Recipient] | None = None,
) -> int:
    """Queue (or schedule) ``broadcast`` now: one pending delivery per recipient of its audience as it is
    now; returns how many. A broadcast with nobody to reach is done at once."""
    if recipients is None:
        recipients = await audience_mod.resolve(session, spec=broadcast.audience)
    scheduled = broadcast.scheduled_at
    start = max(now, scheduled) if scheduled else now
    broadcast.state = (BroadcastState.SCHEDULED if start > now else BroadcastState.QUEUED).value
    prefs = await preferences.get_many(session, member_ids=[r.member_id for r in recipients], defaults=defaults)
    rows = []
    for r in recipients:
        when = preferences.next_allowed_time(prefs[r.member_id], start, tz, urgent=broadcast.urgent)
        rows.append({
            "broadcast_id": broadcast.id, "member_id": r.member_id, "chat_id": r.chat_id,
            "state": DeliveryState.PENDING.value, "not_before": when, "attempts": 0, "parts_sent": 0,
            "uncertain": False,
            "deferred": when > start,
        })
    for i in range(0, len(rows), 1000):
        await session.execute(insert(BroadcastDelivery), rows[i:i + 1000])
    if not rows:
        broadcast.state, broadcast.finished_at = BroadcastState.DONE.value, now
    await session.flush()
    return len(rows)


async def get(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def latest_id(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(Broadcast.id)))


async def recent(session: AsyncSession, *, limit: int = 10) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


async def remember_file_id(session: AsyncSession, *, broadcast_id: int, media_file: str, file_id: str) -> None:
    """Keep the file_id Telegram gave the first upload of ``media_file``: later sends reuse it."""
    await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.media_file == media_file,
                                Broadcast.media_ref.is_(None))
        .values(media_ref=file_id[:256]).execution_options(synchronize_session=False)
    )


async def set_status_message(session: AsyncSession, *, broadcast_id: int, chat_id: int, message_id: int) -> None:
    await session.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id).values(status_chat_id=chat_id,
                                                                     status_message_id=message_id)
    )


# ---- claiming and recording -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery this sender now holds (state ``sending``)."""

    delivery_id: int
    broadcast_id: int
    member_id: int
    chat_id: int
    attempts: int
    uncertain: bool
    token: str
    parts_sent: int = 0  # parts of the notice already delivered by an earlier attempt: resume after them


async def claim(
    session: AsyncSession, *, now: datetime, token: str, limit: int, broadcast_id: int | None = None
) -> list[Claimed]:
    """Move up to ``limit`` due pending rows to ``sending`` under ``token``; the caller commits at once."""
    if limit <= 0:
        return []
    stmt = (
        select(BroadcastDelivery.id)
        .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
        .where(
            BroadcastDelivery.state == DeliveryState.PENDING.value,
            BroadcastDelivery.not_before <= now,
            Broadcast.state.in_(LIVE_STATES),
        )
        .order_by(BroadcastDelivery.not_before, BroadcastDelivery.id)
        .limit(limit)
    )
    if broadcast_id is not None:
        stmt = stmt.where(BroadcastDelivery.broadcast_id == broadcast_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=BroadcastDelivery)
    ids = list(await session.scalars(stmt))
    if not ids:
        return []
    await session.execute(
        update(BroadcastDelivery)
        .where(BroadcastDelivery.id.in_(ids), BroadcastDelivery.state == DeliveryState.PENDING.value)
        .values(state=DeliveryState.SENDING.value, claim_token=token, claimed_at=now,
                attempts=BroadcastDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(
        select(BroadcastDelivery.id, BroadcastDelivery.broadcast_id, BroadcastDelivery.member_id,
               BroadcastDelivery.chat_id, BroadcastDelivery.attempts, BroadcastDelivery.uncertain,
               BroadcastDelivery.parts_sent)
        .where(BroadcastDelivery.id.in_(ids), BroadcastDelivery.claim_token == token,
               BroadcastDelivery.state == DeliveryState.SENDING.value)
        .order_by(BroadcastDelivery.id)
    )).all()
    claimed = [Claimed(r[0], r[1], r[2], int(r[3]), r[4], r[5], token, int(r[6] or 0)) for r in rows]
    started = {c.broadcast_id for c in claimed}
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id.in_(started),
               Broadcast.state.in_((BroadcastState.SCHEDULED.value, BroadcastState.QUEUED.value)))
        .values(state=BroadcastState.SENDING.value)
        .execution_options(synchronize_session=False)
    )
    return claimed


@dataclass(frozen=True)
class Result:
    """The outcome of sending one claimed delivery."""

    claimed: Claimed
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None


async def record(session: AsyncSession, *, results: Iterable[Result], now: datetime) -> None:
    """Record outcomes (``sending → sent|blocked|failed|pending``) for rows still held by their token."""
    results = list(results)
    held = and_(_T.c.id == bindparam("d_id"), _T.c.claim_token == bindparam("d_token"),
                _T.c.state == DeliveryState.SENDING.value)
    sent = [{"d_id": r.claimed.delivery_id, "d_token": r.claimed.token, "d_msg": r.message_id}
            for r in results if r.outcome is Outcome.SENT]
    if sent:
        await session.execute(
            update(_T).where(held).values(state=DeliveryState.SENT.value, telegram_message_id=bindparam("d_msg"),
                                          sent_at=now, claim_token=None, last_error=None),
            sent,
        )
    for outcome, state in ((Outcome.BLOCKED, DeliveryState.BLOCKED), (Outcome.FAILED, DeliveryState.FAILED)):
        params = [{"d_id": r.claimed.delivery_id, "d_token": r.claimed.token, "d_err": (r.error or "")[:500]}
                  for r in results if r.outcome is outcome]
        if params:
            await session.execute(
                update(_T).where(held).values(state=state.value, last_error=bindparam("d_err"), claim_token=None),
                params,
            )
    retry = [{"d_id": r.claimed.delivery_id, "d_token": r.claimed.token, "d_err": (r.error or "")[:500],
              "d_at": r.retry_at or now} for r in results if r.outcome is Outcome.RETRY]
    if retry:
        await session.execute(
            update(_T).where(held).values(state=DeliveryState.PENDING.value, last_error=bindparam("d_err"),
                                          not_before=bindparam("d_at"), claim_token=None),
            retry,
        )
    blocked_members = [r.claimed.member_id for r in results if r.outcome is Outcome.BLOCKED]
    if blocked_members:
        await deactivate_members(session, member_ids=blocked_members, now=now)
    await finish_done(session, broadcast_ids={r.claimed.broadcast_id for r in results}, now=now)


async def record_progress(session: AsyncSession, *, progress: Iterable[tuple[Claimed, int]]) -> None:
    """Record how many parts of each held multi-part notice are delivered (committed before the next part)."""
    params = [{"d_id": c.delivery_id, "d_token": c.token, "d_parts": parts} for c, parts in progress]
    if params:
        held = and_(_T.c.id == bindparam("d_id"), _T.c.claim_token == bindparam("d_token"),
                    _T.c.state == DeliveryState.SENDING.value)
        await session.execute(update(_T).where(held).values(parts_sent=bindparam("d_parts")), params)


async def deactivate_members(session: AsyncSession, *, member_ids: Sequence[int], now: datetime) -> None:
    """Members who blocked the bot: inactive until they write to the bot again."""
    await session.execute(
        update(Member).where(Member.id.in_(list(member_ids))).values(active=False, blocked_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def finish_done(session: AsyncSession, *, broadcast_ids: Iterable[int], now: datetime) -> list[int]:
    """Mark broadcasts with no pending or sending rows left as done; returns their ids."""
    ids = list(broadcast_ids)
    if not ids:
        return []
    open_ids = set(await session.scalars(
        select(BroadcastDelivery.broadcast_id).where(
            BroadcastDelivery.broadcast_id.in_(ids),
            BroadcastDelivery.state.in_((DeliveryState.PENDING.value, DeliveryState.SENDING.value)),
        ).distinct()
    ))
    done = [i for i in ids if i not in open_ids]
    if done:
        await session.execute(
            update(Broadcast).where(Broadcast.id.in_(done), Broadcast.state.in_(LIVE_STATES))
            .values(state=BroadcastState.DONE.value, finished_at=now)
            .execution_options(synchronize_session=False)
        )
    return done


@dataclass(frozen=True)
class Holder:
    """A claim token still holding ``sending`` rows, with its oldest claim time."""

    token: str
    rows: int
    oldest: datetime | None  # claimed_at is nullable; every ``sending`` row has one


async def holders(session: AsyncSession, *, broadcast_id: int | None = None) -> list[Holder]:
    stmt = (
        select(BroadcastDelivery.claim_token, func.count(), func.min(BroadcastDelivery.claimed_at))
        .where(BroadcastDelivery.state == DeliveryState.SENDING.value)
        .group_by(BroadcastDelivery.claim_token)
    )
    if broadcast_id is not None:
        stmt = stmt.where(BroadcastDelivery.broadcast_id == broadcast_id)
    out = []
    for token, n, oldest in await session.execute(stmt):
        out.append(Holder(token or "", int(n), oldest))
    return out


async def recover(
    session: AsyncSession,
    *,
    now: datetime,
    dead_tokens: Iterable[str] = (),
    stale_before: datetime | None = None,
    broadcast_id: int | None = None,
) -> int:
    """Put ``sending`` rows of dead senders (by token, or claimed before ``stale_before``) back to pending.

    They are marked ``uncertain``: their message may already have reached the member. Returns the count.
    """
    tokens = [t for t in dead_tokens if t]
    conditions: list[Any] = []
    if tokens:
        conditions.append(BroadcastDelivery.claim_token.in_(tokens))
    if stale_before is not None:
        conditions.append(BroadcastDelivery.claimed_at < stale_before)
    if not conditions:
        return 0
    stmt = (
        update(BroadcastDelivery)
        .where(BroadcastDelivery.state == DeliveryState.SENDING.value, or_(*conditions))
        .values(state=DeliveryState.PENDING.value, uncertain=True, claim_token=None, not_before=now)
        .execution_options(synchronize_session=False)
    )
    if broadcast_id is not None:
        stmt = stmt.where(BroadcastDelivery.broadcast_id == broadcast_id)
    result = await session.execute(stmt)
    return affected_rows(result)


async def next_due(session: AsyncSession, *, broadcast_id: int | None = None) -> datetime | None:
    """When the earliest pending row of a live broadcast becomes due (None when nothing is pending)."""
    stmt = (
        select(BroadcastDelivery.not_before)
        .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
        .where(BroadcastDelivery.state == DeliveryState.PENDING.value, Broadcast.state.in_(LIVE_STATES))
        .order_by(BroadcastDelivery.not_before)
        .limit(1)
    )
    if broadcast_id is not None:
        stmt = stmt.where(BroadcastDelivery.broadcast_id == broadcast_id)
    return await session.scalar(stmt)


# ---- status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    id: int
    total: int
    pending: int
    sent: int
    failed: int
    blocked: int
    uncertain: int
    acknowledged: int
    state: str = ""
    deferred: int = 0
    sending: int = 0

    def as_json(self) -> dict[str, int]:
        """The shape of DESIGN.md: ``{"id", "total", "pending", "sent", "failed", "blocked", "uncertain",
        "acknowledged"}`` (``pending`` counts rows not yet final, including those in flight)."""
        return {"id": self.id, "total": self.total, "pending": self.pending, "sent": self.sent,
                "failed": self.failed, "blocked": self.blocked, "uncertain": self.uncertain,
                "acknowledged": self.acknowledged}

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked


async def status(session: AsyncSession, *, broadcast_id: int) -> Status | None:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return None
    counts: dict[str, int] = {s.value: 0 for s in DeliveryState}
    for state, n in await session.execute(
        select(BroadcastDelivery.state, func.count()).where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(BroadcastDelivery.state)
    ):
        counts[state] = int(n)
    extra = (await session.execute(
        select(
            func.count(BroadcastDelivery.acknowledged_at),
            func.count().filter(BroadcastDelivery.uncertain.is_(True)),
            func.count().filter(and_(BroadcastDelivery.deferred.is_(True),
                                     BroadcastDelivery.state == DeliveryState.PENDING.value)),
        ).where(BroadcastDelivery.broadcast_id == broadcast_id)
    )).one()
    return Status(
        id=broadcast_id, total=sum(counts.values()),
        pending=counts["pending"] + counts["sending"], sent=counts["sent"], failed=counts["failed"],
        blocked=counts["blocked"], uncertain=int(extra[1]), acknowledged=int(extra[0]),
        state=broadcast.state, deferred=int(extra[2]), sending=counts["sending"],
    )


# ---- receipts and reminders ---------------------------------------------------------------------


class AckOutcome(enum.Enum):
    RECORDED = "recorded"
    ALREADY = "already"
    NOT_YOURS = "not_yours"
    UNKNOWN = "unknown"


async def acknowledge(session: AsyncSession, *, delivery_id: int, telegram_id: int, now: datetime) -> AckOutcome:
    """Record a 收到 press; only the recipient may acknowledge. A reminder's receipt also acks its parent."""
    delivery = await session.get(BroadcastDelivery, delivery_id)
    if delivery is None:
        return AckOutcome.UNKNOWN
    member = await session.get(Member, delivery.member_id)
    if member is None or member.telegram_id != telegram_id:
        return AckOutcome.NOT_YOURS
    if delivery.acknowledged_at is not None:
        return AckOutcome.ALREADY
    delivery.acknowledged_at = now
    broadcast = await session.get(Broadcast, delivery.broadcast_id)
    if broadcast is not None and broadcast.parent_id is not None:
        await session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast.parent_id,
                   BroadcastDelivery.member_id == delivery.member_id,
                   BroadcastDelivery.acknowledged_at.is_(None))
            .values(acknowledged_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    return AckOutcome.RECORDED


async def due_reminders(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Receipt broadcasts whose reminder time has come and that have not been followed up yet."""
    candidates = await session.scalars(
        select(Broadcast).where(
            Broadcast.receipt.is_(True), Broadcast.remind_after_minutes.is_not(None),
            Broadcast.reminded_at.is_(None), Broadcast.parent_id.is_(None),
            Broadcast.state.in_((*LIVE_STATES, BroadcastState.DONE.value)),
        )
    )
    out = []
    for b in candidates:
        base = max(b.created_at, b.scheduled_at) if b.scheduled_at else b.created_at
        if base + timedelta(minutes=b.remind_after_minutes or 0) <= now:
            out.append(b)
    return out


async def unacknowledged(session: AsyncSession, *, broadcast_id: int) -> list[audience_mod.Recipient]:
    """Members who received the broadcast but have not pressed 收到 (and are still active)."""
    rows = await session.execute(
        select(BroadcastDelivery.member_id, Member.telegram_id)
        .join(Member, Member.id == BroadcastDelivery.member_id)
        .where(BroadcastDelivery.broadcast_id == broadcast_id,
               BroadcastDelivery.state == DeliveryState.SENT.value,
               BroadcastDelivery.acknowledged_at.is_(None),
               Member.active.is_(True), Member.telegram_id.is_not(None))
        .order_by(BroadcastDelivery.member_id)
    )
    return [audience_mod.Recipient(member_id=m, chat_id=t) for m, t in rows if t is not None]


async def create_reminder(
    session: AsyncSession, *, parent: Broadcast, text: str, now: datetime, tz: ZoneInfo,
    defaults: preferences.PrefsDefaults,
) -> Broadcast | None:
    """Follow up a receipt broadcast with the members who have not acknowledged (None if all did)."""
    parent.reminded_at = now
    recipients = await unacknowledged(session, broadcast_id=parent.id)
    if not recipients:
        await session.flush()
        return None
    new = NewBroadcast(
        text=text, audience=parent.audience, media_kind=None, media_ref=None, topic=parent.topic,
        urgent=parent.urgent, receipt=True, created_by=parent.created_by, created_via="reminder",
    )
    return await create(session, new=new, now=now, tz=tz, defaults=defaults, recipients=recipients,
                        parent_id=parent.id)


async def delivery_of_message(session: AsyncSession, *, delivery_id: int) -> BroadcastDelivery | None:
    return await session.get(BroadcastDelivery, delivery_id)
