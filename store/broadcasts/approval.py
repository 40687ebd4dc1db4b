"""The two-person rule for broadcasts (通知审核): a notice one staff member composed is sent only after
another staff member with the reviewer role (把关人) approves it.

* Whether it applies: ``ApprovalConfig.mode`` (``BROADCAST_APPROVAL``): ``auto`` (the default) applies it
  when the committee has at least one active, bound reviewer; ``on`` always; ``off`` never.
* Who may approve or return: an active member whose role is ``reviewer`` and who is not the author. Admins
  are not reviewers by office (an admin who should review gives themselves the role, which is audited).
  Enforced here, in the one function the console and the Telegram buttons both call.
* Whoever decides first wins: the decision is a conditional UPDATE on ``state = 'awaiting'`` whose
  rowcount is checked; the loser changes nothing and gets ``ALREADY``.
* Every approval and return is written to the audit log in the same transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Exists, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit, preferences
from store.broadcasts import outbox
from store.broadcasts.states import BroadcastState
from store.db import affected_rows
from store.models import Broadcast, BroadcastReturnPrompt, Member, Role

MODES = ("auto", "on", "off")
REASON_MAX = 500


@dataclass(frozen=True)
class ApprovalConfig:
    """``BROADCAST_APPROVAL``: ``auto`` (on when the committee has a reviewer), ``on`` or ``off``."""

    mode: str = "auto"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"approval mode must be one of {MODES}, not {self.mode!r}")


def _active_reviewer() -> Exists:
    return exists().where(Member.role == Role.REVIEWER.value, Member.active.is_(True),
                          Member.telegram_id.is_not(None))


async def required(session: AsyncSession, *, config: ApprovalConfig) -> bool:
    """Does a new broadcast need a reviewer's approval before it is sent?"""
    if config.mode == "on":
        return True
    if config.mode == "off":
        return False
    return bool(await session.scalar(select(_active_reviewer())))


async def reviewers(session: AsyncSession, *, exclude_member_id: int | None = None) -> list[Member]:
    """Active, bound reviewers (the author left out): who is asked to approve."""
    stmt = (select(Member).where(Member.role == Role.REVIEWER.value, Member.active.is_(True),
                                 Member.telegram_id.is_not(None)).order_by(Member.id))
    if exclude_member_id is not None:
        stmt = stmt.where(Member.id != exclude_member_id)
    return list(await session.scalars(stmt))


class ReviewOutcome(enum.Enum):
    APPROVED = "approved"
    RETURNED = "returned"
    NOT_REVIEWER = "not_reviewer"  # only an active reviewer decides
    OWN = "own"  # the author cannot approve (or return) their own notice
    ALREADY = "already"  # decided by someone else first, or no longer awaiting
    UNKNOWN = "unknown"
    NO_REASON = "no_reason"  # a return needs a reason


@dataclass(frozen=True)
class Review:
    outcome: ReviewOutcome
    broadcast: Broadcast | None = None
    recipients: int = 0


def may_review(reviewer: Member, broadcast: Broadcast) -> ReviewOutcome | None:
    """Why ``reviewer`` may not decide on ``broadcast`` (None: they may)."""
    if reviewer.role != Role.REVIEWER.value or not reviewer.active:
        return ReviewOutcome.NOT_REVIEWER
    if broadcast.created_by is not None and broadcast.created_by == reviewer.id:
        return ReviewOutcome.OWN
    if broadcast.state != BroadcastState.AWAITING.value:
        return ReviewOutcome.ALREADY
    return None


async def check(session: AsyncSession, *, broadcast_id: int, reviewer: Member) -> Review:
    """May ``reviewer`` decide on this broadcast now? (``APPROVED`` here only means: yes, nothing changed.)"""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return Review(ReviewOutcome.UNKNOWN)
    refused = may_review(reviewer, broadcast)
    return Review(refused or ReviewOutcome.APPROVED, broadcast)


async def _decide(session: AsyncSession, *, broadcast_id: int, reviewer: Member, state: BroadcastState,
                  now: datetime, note: str | None) -> Review:
    found = await check(session, broadcast_id=broadcast_id, reviewer=reviewer)
    if found.outcome is not ReviewOutcome.APPROVED or found.broadcast is None:
        return found
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.AWAITING.value)
        .values(state=state.value, reviewed_by=reviewer.id, reviewed_at=now, review_note=note)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        return Review(ReviewOutcome.ALREADY, found.broadcast)
    # The decider's own reason prompt is used up; another reviewer's stays, so the reason they type next is
    # answered "already handled" rather than taken for a question.
    await drop_prompt(session, member_id=reviewer.id)
    broadcast = found.broadcast
    await session.refresh(broadcast)
    return Review(ReviewOutcome.APPROVED, broadcast)


async def approve(session: AsyncSession, *, broadcast_id: int, reviewer: Member, now: datetime, tz: ZoneInfo,
                  defaults: preferences.PrefsDefaults) -> Review:
    """Approve an awaiting broadcast: it is queued (or scheduled) with its audience as it is now."""
    decided = await _decide(session, broadcast_id=broadcast_id, reviewer=reviewer, state=BroadcastState.QUEUED,
                            now=now, note=None)
    if decided.outcome is not ReviewOutcome.APPROVED or decided.broadcast is None:
        return decided
    broadcast = decided.broadcast
    count = await outbox.add_deliveries(session, broadcast=broadcast, now=now, tz=tz, defaults=defaults)
    await audit.record(session, actor=reviewer, action="broadcast.approve", at=now,
                       target=f"broadcast:{broadcast.id}", detail={"recipients": count})
    return Review(ReviewOutcome.APPROVED, broadcast, count)


async def return_to_author(session: AsyncSession, *, broadcast_id: int, reviewer: Member, reason: str,
                           now: datetime) -> Review:
    """Return an awaiting broadcast to its author with a reason; it is never sent."""
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        return Review(ReviewOutcome.NO_REASON)
    decided = await _decide(session, broadcast_id=broadcast_id, reviewer=reviewer, state=BroadcastState.RETURNED,
                            now=now, note=reason)
    if decided.outcome is not ReviewOutcome.APPROVED or decided.broadcast is None:
        return decided
    broadcast = decided.broadcast
    broadcast.finished_at = now
    await audit.record(session, actor=reviewer, action="broadcast.return", at=now,
                       target=f"broadcast:{broadcast.id}", note=reason)
    await session.flush()
    return Review(ReviewOutcome.RETURNED, broadcast)


async def awaiting(session: AsyncSession, *, limit: int = 50) -> list[Broadcast]:
    """The review queue, oldest first."""
    return list(await session.scalars(
        select(Broadcast).where(Broadcast.state == BroadcastState.AWAITING.value).order_by(Broadcast.id)
        .limit(limit)))


# ---- telling reviewers and authors (the bot's sender pass does it; the console cannot) ---------------


async def claim_reviewer_notices(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Awaiting broadcasts whose reviewers have not been told yet, marked as told (commit before sending)."""
    found = list(await session.scalars(
        select(Broadcast).where(Broadcast.state == BroadcastState.AWAITING.value,
                                Broadcast.reviewers_notified_at.is_(None)).order_by(Broadcast.id)))
    out = []
    for b in found:
        result = await session.execute(
            update(Broadcast).where(Broadcast.id == b.id, Broadcast.reviewers_notified_at.is_(None))
            .values(reviewers_notified_at=now).execution_options(synchronize_session=False))
        if affected_rows(result) == 1:
            out.append(b)
    return out


async def claim_author_notices(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Approved or returned broadcasts whose author has not been told yet, marked as told."""
    found = list(await session.scalars(
        select(Broadcast).where(Broadcast.reviewed_at.is_not(None), Broadcast.author_notified_at.is_(None),
                                Broadcast.created_by.is_not(None)).order_by(Broadcast.id)))
    out = []
    for b in found:
        result = await session.execute(
            update(Broadcast).where(Broadcast.id == b.id, Broadcast.author_notified_at.is_(None))
            .values(author_notified_at=now).execution_options(synchronize_session=False))
        if affected_rows(result) == 1:
            out.append(b)
    return out


# ---- the reason a reviewer types after 退回 ------------------------------------------------------------


async def ask_reason(session: AsyncSession, *, member_id: int, broadcast_id: int, now: datetime) -> None:
    """The reviewer's next message is the reason for returning ``broadcast_id`` (replaces an older prompt)."""
    prompt = await session.get(BroadcastReturnPrompt, member_id)
    if prompt is None:
        session.add(BroadcastReturnPrompt(member_id=member_id, broadcast_id=broadcast_id, created_at=now))
    else:
        prompt.broadcast_id, prompt.created_at = broadcast_id, now
    await session.flush()


async def prompt_of(session: AsyncSession, *, member_id: int) -> BroadcastReturnPrompt | None:
    return await session.get(BroadcastReturnPrompt, member_id)


async def drop_prompt(session: AsyncSession, *, member_id: int) -> bool:
    result = await session.execute(delete(BroadcastReturnPrompt).where(BroadcastReturnPrompt.member_id == member_id))
    return affected_rows(result) > 0


async def names(session: AsyncSession, *, member_ids: set[int]) -> dict[int, str]:
    """Names of authors and reviewers for display."""
    if not member_ids:
        return {}
    return {mid: name for mid, name in await session.execute(
        select(Member.id, Member.name).where(Member.id.in_(member_ids)))}
