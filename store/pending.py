"""Who sent an update, and which drafts wait for their next message: one query per update.

Every private message needs the sender's member row (the gate) and whether a broadcast draft or
a proposal draft / staff prompt waits for typed input (the early filters of those features).
Reading them together saves two SELECTs per message (issue #7); the drafts stay in the database,
so the answer is right after a restart and with several processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import BroadcastDraft, Member, ProposalDraft


@dataclass(frozen=True)
class ProposalPending:
    """The sender's newest proposal draft or staff prompt (what ``member_drafts(...)[0]`` gives)."""

    draft_id: int
    kind: str
    step: str


@dataclass(frozen=True)
class Pending:
    """Drafts waiting for the sender's input (None: no such draft)."""

    broadcast_step: str | None = None
    proposal: ProposalPending | None = None


NOTHING_PENDING = Pending()

_newest_proposal_draft = (
    select(ProposalDraft.id)
    .where(ProposalDraft.member_id == Member.id)
    .order_by(ProposalDraft.updated_at.desc(), ProposalDraft.id.desc())
    .limit(1)
    .correlate(Member)
    .scalar_subquery()
)
_broadcast_step = (
    select(BroadcastDraft.step).where(BroadcastDraft.member_id == Member.id).correlate(Member).scalar_subquery()
)
# Built once: a statement's cache key is memoized on the object, and this one runs for every message.
_MEMBER_WITH_PENDING = (
    select(Member, _broadcast_step, ProposalDraft.id, ProposalDraft.kind, ProposalDraft.step)
    .outerjoin(ProposalDraft, ProposalDraft.id == _newest_proposal_draft)
    .where(Member.telegram_id == bindparam("telegram_id"))
)


async def member_with_pending(session: AsyncSession, *, telegram_id: int) -> tuple[Member | None, Pending]:
    """The member bound to ``telegram_id`` (active or not, as ``members.get_by_telegram_id``) and the
    drafts waiting for their input; ``(None, NOTHING_PENDING)`` for an unknown account."""
    row = (await session.execute(_MEMBER_WITH_PENDING, {"telegram_id": telegram_id})).first()
    if row is None:
        return None, NOTHING_PENDING
    member, broadcast_step, draft_id, kind, step = row
    if broadcast_step is None and draft_id is None:
        return member, NOTHING_PENDING
    proposal = ProposalPending(draft_id, kind, step) if draft_id is not None else None
    return member, Pending(broadcast_step=broadcast_step, proposal=proposal)
