"""Proposal repository: drafts, submission with tracking numbers, transitions with events and outboxes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit, outbox
from store.db import delete_as_read
from store.models import (
    Member,
    Proposal,
    ProposalCounter,
    ProposalDraft,
    ProposalEvent,
    ProposalNotification,
    ProposalPhoto,
    ProposalSupporter,
    ProposalWebhookEvent,
)
from store.proposals import lifecycle
from store.proposals.config import ProposalsConfig
from store.proposals.credits_hook import award_points
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Rating, State, Status
from store.proposals.text import MAX_PHOTOS, bigram_jaccard, cosine
from store.proposals.warning import SEVERITY, Warning, default_deadline, warning_of

# --- drafts -------------------------------------------------------------------------------------


async def get_draft(session: AsyncSession, *, member_id: int, kind: str = "proposal") -> ProposalDraft | None:
    stmt = select(ProposalDraft).where(ProposalDraft.member_id == member_id, ProposalDraft.kind == kind)
    return await session.scalar(stmt)


async def get_draft_by_id(session: AsyncSession, *, draft_id: int) -> ProposalDraft | None:
    return await session.get(ProposalDraft, draft_id)


async def member_drafts(session: AsyncSession, *, telegram_id: int) -> list[ProposalDraft]:
    """The drafts and staff prompts of the member with this Telegram account, newest first."""
    stmt = (
        select(ProposalDraft)
        .join(Member, Member.id == ProposalDraft.member_id)
        .where(Member.telegram_id == telegram_id)
        .order_by(ProposalDraft.updated_at.desc(), ProposalDraft.id.desc())
    )
    return list(await session.scalars(stmt))


async def start_draft(
    session: AsyncSession, *, member_id: int, step: str, data: dict[str, Any], now: datetime, kind: str = "proposal"
) -> ProposalDraft:
    """Start a draft (or a staff prompt), replacing the member's previous one of the same kind."""
    draft = await get_draft(session, member_id=member_id, kind=kind)
    if draft is None:
        draft = ProposalDraft(member_id=member_id, kind=kind, created_at=now)
        session.add(draft)
    draft.step = step
    draft.data = dict(data)
    draft.updated_at = now
    draft.reminded_at = None
    await session.flush()
    return draft


async def save_draft(
    session: AsyncSession, *, draft: ProposalDraft, now: datetime, step: str | None = None, **changes: Any
) -> ProposalDraft:
    """Update fields of the draft's data (a new dict, so the JSON column is marked dirty)."""
    data = dict(draft.data or {})
    data.update(changes)
    draft.data = data
    if step is not None:
        draft.step = step
    draft.updated_at = now
    await session.flush()
    return draft


async def delete_draft(session: AsyncSession, *, draft: ProposalDraft) -> None:
    await session.delete(draft)
    await session.flush()


async def consume_draft(session: AsyncSession, *, draft: ProposalDraft) -> bool:
    """Delete the draft (or staff prompt) as it was read: same id, step and last change. False when another
    transaction (a second tap, perhaps on another worker) consumed or changed it first; on PostgreSQL the
    DELETE waits for that transaction and then matches nothing. Call it in the transaction of the effect
    (the submission, the support, the staff action), before it, and record nothing when it is False."""
    return await delete_as_read(
        session,
        draft,
        delete(ProposalDraft)
        .where(ProposalDraft.id == draft.id, ProposalDraft.member_id == draft.member_id,
               ProposalDraft.kind == draft.kind, ProposalDraft.step == draft.step,
               ProposalDraft.updated_at == draft.updated_at)
    )


async def drafts_to_remind(session: AsyncSession, *, idle_since: datetime) -> list[ProposalDraft]:
    """Member drafts untouched since ``idle_since`` and not yet reminded (each is reminded once)."""
    stmt = (
        select(ProposalDraft)
        .where(
            ProposalDraft.kind == "proposal",
            ProposalDraft.updated_at < idle_since,
            ProposalDraft.reminded_at.is_(None),
        )
        .order_by(ProposalDraft.id)
    )
    return list(await session.scalars(stmt))


# --- numbers and submission ---------------------------------------------------------------------


async def allocate_number(session: AsyncSession, *, year: int, prefix: str = "WJY") -> str:
    """Next tracking number of ``year``; the counter row is updated in the caller's transaction."""
    for _ in range(3):
        bumped = await session.execute(
            update(ProposalCounter)
            .where(ProposalCounter.year == year)
            .values(last=ProposalCounter.last + 1)
            .returning(ProposalCounter.last)
        )
        value = bumped.scalar_one_or_none()
        if value is not None:
            return f"{prefix}-{year}-{value:04d}"
        try:
            async with session.begin_nested():
                session.add(ProposalCounter(year=year, last=1))
            return f"{prefix}-{year}-0001"
        except IntegrityError:  # another transaction created the year's row first: bump it instead
            continue
    raise RuntimeError("could not allocate a tracking number")


@dataclass(frozen=True)
class NewProposal:
    title: str
    content: str
    category: str
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: Sequence[dict[str, str]] = ()
    embedding: Sequence[float] | None = None
    embedder_id: str | None = None


async def submit(
    session: AsyncSession,
    *,
    member: Member,
    item: NewProposal,
    now: datetime,
    tz: tzinfo,
    config: ProposalsConfig,
) -> Proposal:
    """Store a new item (已提交) with its number, photos and first event; queue the webhook event."""
    number = await allocate_number(session, year=now.astimezone(tz).year, prefix=config.number_prefix)
    proposal = Proposal(
        number=number,
        member_id=member.id,
        title=item.title,
        content=item.content,
        category=item.category,
        place=item.place,
        latitude=item.latitude,
        longitude=item.longitude,
        status=Status.SUBMITTED.value,
        reopened=0,
        embedding=[float(x) for x in item.embedding] if item.embedding is not None else None,
        embedder_id=item.embedder_id if item.embedding is not None else None,
        created_at=now,
        updated_at=now,
    )
    proposal.photos = [
        ProposalPhoto(position=i, file_id=p["file_id"], file_unique_id=p["file_unique_id"])
        for i, p in enumerate(item.photos[:MAX_PHOTOS])
    ]
    proposal.events = []
    proposal.supporters = []
    session.add(proposal)
    await session.flush()
    event = ProposalEvent(
        proposal_id=proposal.id, action=Action.SUBMIT.value, status=Status.SUBMITTED.value,
        actor=member.name, actor_member_id=member.id, at=now,
    )
    proposal.events.append(event)
    await session.flush()
    if config.webhook_enabled:
        await _queue_webhook(session, proposal=proposal, event=event, now=now)
    return proposal


async def submit_draft(
    session: AsyncSession,
    *,
    draft: ProposalDraft,
    member: Member,
    item: NewProposal,
    now: datetime,
    tz: tzinfo,
    config: ProposalsConfig,
) -> Proposal | None:
    """Submit the item of ``draft`` and consume the draft, in one transaction; None (nothing stored) when
    the draft was consumed or changed first (a second tap of 确认, perhaps on another worker)."""
    if not await consume_draft(session, draft=draft):
        return None
    return await submit(session, member=member, item=item, now=now, tz=tz, config=config)


# --- reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, *, proposal_id: int) -> Proposal | None:
    return await session.get(Proposal, proposal_id)


async def get_by_number(session: AsyncSession, *, number: str) -> Proposal | None:
    return await session.scalar(select(Proposal).where(Proposal.number == number.strip().upper()))


async def find(session: AsyncSession, *, ref: str) -> Proposal | None:
    """By tracking number (WJY-2026-0001) or database id."""
    ref = ref.strip()
    if ref.isdigit():
        return await get(session, proposal_id=int(ref))
    return await get_by_number(session, number=ref)


async def list_for_member(session: AsyncSession, *, member_id: int, limit: int = 10) -> list[Proposal]:
    """The member's own items and the ones they seconded, newest first."""
    supported = select(ProposalSupporter.proposal_id).where(ProposalSupporter.member_id == member_id)
    stmt = (
        select(Proposal)
        .where((Proposal.member_id == member_id) | Proposal.id.in_(supported))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def list_all(session: AsyncSession) -> list[Proposal]:
    return list(await session.scalars(select(Proposal).order_by(Proposal.id)))


async def merged_into(session: AsyncSession, *, proposal_id: int) -> list[Proposal]:
    stmt = select(Proposal).where(Proposal.merged_into_id == proposal_id).order_by(Proposal.id)
    return list(await session.scalars(stmt))


def state_of(proposal: Proposal) -> State:
    return State(Status(proposal.status), reopened=proposal.reopened, adopted=proposal.adopted_at is not None)


def warning_for_item(proposal: Proposal, *, now: datetime, tz: tzinfo, config: ProposalsConfig) -> Warning | None:
    return warning_of(proposal.status, proposal.deadline, now, tz=tz, yellow_days=config.yellow_days)


async def review_queue(
    session: AsyncSession, *, now: datetime, tz: tzinfo, config: ProposalsConfig, limit: int = 20
) -> list[tuple[Proposal, Warning | None]]:
    """Open items for staff, red first, then yellow, green, and items without a deadline (oldest first)."""
    open_values = [s.value for s in lifecycle.OPEN_STATUSES]
    items = list(await session.scalars(select(Proposal).where(Proposal.status.in_(open_values))))
    rated = [(p, warning_for_item(p, now=now, tz=tz, config=config)) for p in items]
    rated.sort(key=lambda pw: (SEVERITY[pw[1]], pw[0].deadline or date.max, pw[0].created_at, pw[0].id))
    return rated[:limit]


async def find_similar(
    session: AsyncSession,
    *,
    text: str,
    embedding: Sequence[float] | None,
    embedder_id: str | None,
    exclude_member_id: int | None = None,
    limit: int = 3,
    min_cosine: float = 0.85,
    min_jaccard: float = 0.2,
    exclude_ids: Sequence[int] = (),
) -> list[tuple[Proposal, float]]:
    """Open items similar to ``text``: cosine over stored vectors of the same embedder, else bigram Jaccard."""
    open_values = [s.value for s in lifecycle.OPEN_STATUSES]
    stmt = select(Proposal).where(Proposal.status.in_(open_values))
    if exclude_member_id is not None:
        stmt = stmt.where(Proposal.member_id != exclude_member_id)
    if exclude_ids:
        stmt = stmt.where(Proposal.id.not_in(list(exclude_ids)))
    scored: list[tuple[Proposal, float]] = []
    for proposal in await session.scalars(stmt):
        if embedding is not None and proposal.embedding is not None and proposal.embedder_id == embedder_id:
            score = cosine(embedding, proposal.embedding)
            threshold = min_cosine
        else:
            score = bigram_jaccard(text, f"{proposal.title}\n{proposal.content}")
            threshold = min_jaccard
        if score >= threshold:
            scored.append((proposal, score))
    scored.sort(key=lambda ps: (-ps[1], ps[0].id))
    return scored[:limit]


# --- transitions --------------------------------------------------------------------------------


class MissingDetail(ValueError):
    """A transition needs a detail that was not given (``field`` names it: note, unit, reply, target)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required")
        self.field = field


async def transition(
    session: AsyncSession,
    *,
    proposal: Proposal,
    action: Action,
    actor: Actor,
    actor_member: Member | None,
    now: datetime,
    tz: tzinfo,
    config: ProposalsConfig,
    actor_label: str | None = None,
    note: str | None = None,
    unit: str | None = None,
    deadline: date | None = None,
    reply: str | None = None,
    rating: Rating | None = None,
    merge_into: Proposal | None = None,
) -> ProposalEvent:
    """Apply one action: check the table and the details, record the event, queue notifications and webhook.

    Raises InvalidTransition or MissingDetail and then changes nothing.
    """
    if actor is Actor.AUTHOR and (actor_member is None or actor_member.id != proposal.member_id):
        raise InvalidTransition("forbidden", Status(proposal.status), action)
    before = Status(proposal.status)
    after = lifecycle.decide(state_of(proposal), action, actor=actor, rating=rating)
    note = (note or "").strip() or None
    data: dict[str, Any] = {}
    if action is Action.REJECT and not note:
        raise MissingDetail("note")
    if action is Action.ASSIGN:
        unit = (unit or "").strip() or proposal.unit
        if not unit:
            raise MissingDetail("unit")
    if action is Action.ANSWER:
        reply = (reply or note or "").strip()
        if not reply:
            raise MissingDetail("reply")
    if action is Action.MERGE:
        if merge_into is None:
            raise MissingDetail("target")
        if (
            merge_into.id == proposal.id
            or Status(merge_into.status) not in lifecycle.OPEN_STATUSES
            or merge_into.merged_into_id is not None
        ):
            raise InvalidTransition("target", before, action)

    if action is Action.ACCEPT:
        proposal.deadline = deadline or proposal.deadline or default_deadline(
            now, tz=tz, days=config.default_deadline_days
        )
        await award_points(session, member_id=proposal.member_id, proposal_id=proposal.id, stage="accepted", at=now,
                           title=proposal.title, tz=tz, rules=config.credit_rules)
    elif action is Action.ASSIGN:
        proposal.unit = unit
        if deadline is not None:
            proposal.deadline = deadline
        elif before is not Status.ASSIGNED and proposal.deadline is None:
            proposal.deadline = default_deadline(now, tz=tz, days=config.default_deadline_days)
        data = {"unit": unit, "deadline": proposal.deadline.isoformat() if proposal.deadline else None}
    elif action is Action.ANSWER:
        proposal.reply = reply
        note = reply
    elif action is Action.RATE:
        assert rating is not None
        proposal.rating = rating.value
        data = {"rating": rating.value}
        if after is Status.ASSIGNED:  # 不满意: handled once more, with a fresh deadline
            proposal.reopened += 1
            proposal.deadline = default_deadline(now, tz=tz, days=config.default_deadline_days)
            data["reopened"] = True
    elif action is Action.MERGE:
        assert merge_into is not None
        proposal.merged_into_id = merge_into.id
        for child in await merged_into(session, proposal_id=proposal.id):  # keep one level
            child.merged_into_id = merge_into.id
        data = {"into": merge_into.number}
    elif action is Action.ADOPT:
        proposal.adopted_at = now
        await award_points(session, member_id=proposal.member_id, proposal_id=proposal.id, stage="adopted", at=now,
                           title=proposal.title, tz=tz, rules=config.credit_rules)

    proposal.status = after.value
    proposal.updated_at = now
    event = ProposalEvent(
        proposal_id=proposal.id,
        action=action.value,
        status=after.value,
        actor=actor_label or (actor_member.name if actor_member else "system"),
        actor_member_id=actor_member.id if actor_member else None,
        at=now,
        note=note,
        data=data or None,
    )
    proposal.events.append(event)
    await session.flush()
    if actor is Actor.STAFF:  # 操作记录: staff decisions, from Telegram or the back office
        await audit.record(session, actor=actor_member, action=f"proposal.{action.value}", at=now,
                           target=proposal.number, detail=data or None, note=note, actor_label=actor_label)
    await _queue_notifications(session, proposal=proposal, event=event, actor_member=actor_member, now=now)
    if config.webhook_enabled:
        await _queue_webhook(session, proposal=proposal, event=event, now=now)
    return event


def may_support(proposal: Proposal, member: Member) -> bool:
    """Whether ``member`` may second ``proposal``: an open item, not their own, not seconded by them yet."""
    if proposal.member_id == member.id or Status(proposal.status) not in lifecycle.OPEN_STATUSES:
        return False
    return not any(s.member_id == member.id for s in proposal.supporters)


async def support(session: AsyncSession, *, proposal: Proposal, member: Member, now: datetime) -> bool:
    """附议: add ``member`` as a supporter; False if they are the author or already support it."""
    if not may_support(proposal, member):
        return False
    proposal.supporters.append(ProposalSupporter(member_id=member.id, at=now))
    await session.flush()
    return True


async def recipients(session: AsyncSession, *, proposal: Proposal) -> list[tuple[int, str]]:
    """Who hears about a transition: the author, supporters, and authors of items merged into it."""
    out: dict[int, str] = {proposal.member_id: "author"}
    for supporter in proposal.supporters:
        out.setdefault(supporter.member_id, "supporter")
    for child in await merged_into(session, proposal_id=proposal.id):
        out.setdefault(child.member_id, "merged")
        for supporter in child.supporters:
            out.setdefault(supporter.member_id, "supporter")
    return list(out.items())


async def _queue_notifications(
    session: AsyncSession, *, proposal: Proposal, event: ProposalEvent, actor_member: Member | None, now: datetime
) -> None:
    if event.action == Action.ADOPT.value:
        targets = [(proposal.member_id, "author")]
    else:
        targets = await recipients(session, proposal=proposal)
    for member_id, role in targets:
        if actor_member is not None and member_id == actor_member.id:
            continue  # the member who acted is answered directly
        session.add(ProposalNotification(event_id=event.id, member_id=member_id, role=role, created_at=now))
    await session.flush()


# --- outboxes -----------------------------------------------------------------------------------


async def claim_notifications(
    session: AsyncSession, *, now: datetime, lease: timedelta = outbox.LEASE, limit: int = 20
) -> list[ProposalNotification]:
    """Pending notifications, leased to this sender (``store.outbox.claim``); commit after calling."""
    return await outbox.claim(session, ProposalNotification, now=now, lease=lease, limit=limit)


async def mark_notification(
    session: AsyncSession, *, notification_id: int, now: datetime, error: str | None = None, give_up: bool = False
) -> None:
    await outbox.mark(session, ProposalNotification, row_id=notification_id, now=now, error=error, give_up=give_up)


async def pending_notifications(session: AsyncSession) -> int:
    return await outbox.pending_count(session, ProposalNotification)


async def _queue_webhook(session: AsyncSession, *, proposal: Proposal, event: ProposalEvent, now: datetime) -> None:
    payload = {
        "event": f"proposal.{event.action}",
        "number": proposal.number,
        "status": event.status,
        "action": event.action,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "note": event.note,
        "proposal": {
            "number": proposal.number,
            "title": proposal.title,
            "content": proposal.content,
            "category": proposal.category,
            "place": proposal.place,
            "status": proposal.status,
            "unit": proposal.unit,
            "deadline": proposal.deadline.isoformat() if proposal.deadline else None,
            "member": {"name": proposal.member.name, "telegram_id": proposal.member.telegram_id},
        },
    }
    session.add(
        ProposalWebhookEvent(
            key=uuid.uuid4().hex, kind=payload["event"], payload=payload, created_at=now, next_attempt_at=now
        )
    )
    await session.flush()


# --- export -------------------------------------------------------------------------------------


def export_record(proposal: Proposal, *, now: datetime, tz: tzinfo, config: ProposalsConfig) -> dict[str, Any]:
    """Every field of an item as JSON-ready data (the status label is added by the caller)."""
    warning = warning_for_item(proposal, now=now, tz=tz, config=config)
    return {
        "id": proposal.id,
        "number": proposal.number,
        "status": proposal.status,
        "member": {"name": proposal.member.name, "telegram_id": proposal.member.telegram_id},
        "title": proposal.title,
        "content": proposal.content,
        "category": proposal.category,
        "place": proposal.place,
        "location": (
            [proposal.latitude, proposal.longitude] if proposal.latitude is not None else None
        ),
        "photos": [
            {"file_id": p.file_id, "file_unique_id": p.file_unique_id, "local_path": p.local_path}
            for p in proposal.photos
        ],
        "unit": proposal.unit,
        "deadline": proposal.deadline.isoformat() if proposal.deadline else None,
        "warning": warning.value if warning else None,
        "reply": proposal.reply,
        "rating": proposal.rating,
        "adopted": proposal.adopted_at is not None,
        "merged_into": None,
        "supporters": len(proposal.supporters),
        "created_at": proposal.created_at.isoformat(),
        "updated_at": proposal.updated_at.isoformat(),
        "events": [
            {"status": e.status, "action": e.action, "actor": e.actor, "at": e.at.isoformat(), "note": e.note}
            for e in proposal.events
        ],
    }


async def export_all(
    session: AsyncSession, *, now: datetime, tz: tzinfo, config: ProposalsConfig
) -> list[dict[str, Any]]:
    items = await list_all(session)
    numbers = {p.id: p.number for p in items}
    out = []
    for p in items:
        record = export_record(p, now=now, tz=tz, config=config)
        record["merged_into"] = numbers.get(p.merged_into_id) if p.merged_into_id else None
        out.append(record)
    return out


async def notifications_of_event(session: AsyncSession, *, event_id: int) -> int:
    stmt = select(func.count()).select_from(ProposalNotification).where(ProposalNotification.event_id == event_id)
    return int(await session.scalar(stmt) or 0)
