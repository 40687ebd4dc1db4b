"""Consuming a draft is atomic (a double tap of 确认 landing on two workers): of two transactions that both
read the same draft and both try to consume it, exactly one records its effect (a check-in with its points,
a proposal, a broadcast); the other records nothing. On SQLite and PostgreSQL, and truly interleaved on
PostgreSQL (the loser's DELETE waits for the winner's transaction, then matches nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from store import preferences
from store.broadcasts import drafts as broadcast_drafts
from store.broadcasts import outbox
from store.credits import checkins, events, ledger
from store.credits.parsing import ParsedCheckin
from store.credits.rules import default_rules
from store.db import Database
from store.models import (
    Broadcast,
    CheckinDraft,
    CreditDispute,
    CreditEntry,
    CreditEvent,
    EventAttendance,
    Member,
    Proposal,
    ProposalEvent,
    StudyCheckin,
)
from store.proposals import repository as proposals_repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 26)
TZ = ZoneInfo("Asia/Shanghai")
RULES = default_rules()
TEXT = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"


async def _member(db: Database, *, role: str = "member") -> int:
    async with db.session() as session:
        member = Member(name="张明", sector="经济界", district="渝中区", role=role, telegram_id=1001)
        session.add(member)
        await session.flush()
        return member.id


async def _count(db: Database, *models: Any) -> tuple[int, ...]:
    async with db.session() as session:
        return tuple([int(await session.scalar(select(func.count()).select_from(m)) or 0) for m in models])


@dataclass(frozen=True)
class DraftFlow:
    """One flow that consumes a draft: make it, read it in a session, consume it with its effect, count."""

    name: str
    make: Callable[[Database], Awaitable[int]]  # the member id
    read: Callable[[AsyncSession, int], Awaitable[Any]]
    consume: Callable[[AsyncSession, Any], Coroutine[Any, Any, bool]]  # True: the effect was recorded
    effects: tuple[Any, ...]  # the tables the effect writes in
    expected: tuple[int, ...] | None = None  # their rows after one effect (default: one each)

    @property
    def once(self) -> tuple[int, ...]:
        return self.expected if self.expected is not None else (1,) * len(self.effects)


# ---- study check-in: 确认 records the check-in and its points ---------------------------------------


async def _make_checkin(db: Database) -> int:
    member_id = await _member(db)
    async with db.session() as session:
        await checkins.start_draft(session, member_id=member_id, now=NOW,
                                   parsed=ParsedCheckin("study", "《政协章程》", 45, TODAY, False))
    return member_id


async def _read_checkin(session: AsyncSession, member_id: int) -> Any:
    draft = await session.scalar(select(CheckinDraft).where(CheckinDraft.member_id == member_id))
    assert draft is not None
    return draft


async def _confirm_checkin(session: AsyncSession, draft: Any) -> bool:
    try:
        await checkins.confirm_draft(session, draft=draft, rules=RULES, now=NOW, today=TODAY)
    except checkins.CheckinError as exc:
        assert exc.code == "stale"
        return False
    return True


# ---- proposal: 确认 submits the item -----------------------------------------------------------------


async def _make_proposal(db: Database) -> int:
    member_id = await _member(db)
    async with db.session() as session:
        await proposals_repo.start_draft(session, member_id=member_id, step="card", now=NOW,
                                         data={"title": TEXT[:20], "content": TEXT, "category": "城乡建设"})
    return member_id


async def _read_proposal(session: AsyncSession, member_id: int) -> Any:
    draft = await proposals_repo.get_draft(session, member_id=member_id)
    assert draft is not None
    return draft


async def _submit_proposal(session: AsyncSession, draft: Any) -> bool:
    member = await session.get(Member, draft.member_id)
    assert member is not None
    data = draft.data
    item = proposals_repo.NewProposal(title=data["title"], content=data["content"], category=data["category"])
    proposal = await proposals_repo.submit_draft(session, draft=draft, member=member, item=item, now=NOW, tz=TZ,
                                                 config=ProposalsConfig())
    return proposal is not None


# ---- broadcast: 确认 under the preview creates the broadcast -----------------------------------------


async def _make_broadcast(db: Database) -> int:
    member_id = await _member(db, role="staff")
    async with db.session() as session:
        await broadcast_drafts.save(session, member_id=member_id, step="preview", data={"text": "通知"}, now=NOW)
    return member_id


async def _read_broadcast(session: AsyncSession, member_id: int) -> Any:
    draft = await broadcast_drafts.get(session, member_id=member_id)
    assert draft is not None
    return draft


async def _create_broadcast(session: AsyncSession, draft: Any) -> bool:
    # What handlers.broadcast._confirm does: consume the draft, then create, in one transaction.
    if not await broadcast_drafts.consume(session, draft=draft):
        return False
    await outbox.create(session, new=outbox.NewBroadcast(text=draft.data["text"], audience=[{}],
                                                         created_by=draft.member_id),
                        now=NOW, tz=TZ, defaults=preferences.PrefsDefaults())
    return True


# ---- dispute: the reason typed opens the dispute (and alerts staff) -----------------------------------


async def _make_dispute(db: Database) -> int:
    member_id = await _make_checkin(db)
    async with db.session() as session:
        assert await _confirm_checkin(session, await _read_checkin(session, member_id))
    async with db.session() as session:
        entry = await session.scalar(select(CreditEntry).where(CreditEntry.member_id == member_id))
        assert entry is not None
        await ledger.open_dispute(session, entry=entry, member_id=member_id, now=NOW)
    return member_id


async def _read_dispute(session: AsyncSession, member_id: int) -> Any:
    dispute = await ledger.drafting_dispute(session, member_id=member_id)
    assert dispute is not None
    return dispute


async def _submit_dispute(session: AsyncSession, dispute: Any) -> bool:
    try:
        await ledger.submit_dispute(session, dispute=dispute, reason="那天没有参加")
    except ledger.DisputeError as exc:
        assert exc.code == "gone"
        return False
    return True


# ---- event check-in: the code typed (or the location shared) twice at once records one attendance ------


async def _make_event(db: Database) -> int:
    member_id = await _member(db)
    async with db.session() as session:
        await events.create_event(session, rules=RULES, creator=None, now=NOW, spec=events.EventSpec(
            "政协章程学习会", "meeting", NOW - timedelta(minutes=5), NOW + timedelta(hours=2), code="HY01"))
    return member_id


async def _read_event(session: AsyncSession, member_id: int) -> Any:
    event = await events.get_by_code(session, code="HY01")
    assert event is not None
    return member_id, event


async def _check_in_event(session: AsyncSession, read: Any) -> bool:
    member_id, event = read
    result = await events.check_in(session, rules=RULES, event=event, member_id=member_id, now=NOW)
    assert result.outcome in (events.CheckinOutcome.RECORDED, events.CheckinOutcome.ALREADY)
    return result.outcome is events.CheckinOutcome.RECORDED


# ---- staff prompt: the reason typed for 退回 rejects the item -----------------------------------------


async def _make_review(db: Database) -> int:
    author_id = await _make_proposal(db)
    async with db.session() as session:
        author = await session.get(Member, author_id)
        draft = await proposals_repo.get_draft(session, member_id=author_id)
        assert author is not None and draft is not None
        data = draft.data
        item = proposals_repo.NewProposal(title=data["title"], content=data["content"], category=data["category"])
        proposal = await proposals_repo.submit_draft(session, draft=draft, member=author, item=item, now=NOW, tz=TZ,
                                                     config=ProposalsConfig())
        assert proposal is not None
        staff = Member(name="李干事", role="staff", telegram_id=9001)
        session.add(staff)
        await session.flush()
        await proposals_repo.start_draft(session, member_id=staff.id, kind="review", step="reject",
                                         data={"proposal_id": proposal.id}, now=NOW)
        return staff.id


async def _read_review(session: AsyncSession, staff_id: int) -> Any:
    prompt = await proposals_repo.get_draft(session, member_id=staff_id, kind="review")
    assert prompt is not None
    return prompt


async def _reject(session: AsyncSession, prompt: Any) -> bool:
    # What handlers.review.on_staff_input does: consume the prompt, then the transition, in one transaction.
    if not await proposals_repo.consume_draft(session, draft=prompt):
        return False
    proposal = await proposals_repo.get(session, proposal_id=int(prompt.data["proposal_id"]))
    staff = await session.get(Member, prompt.member_id)
    assert proposal is not None and staff is not None
    await proposals_repo.transition(session, proposal=proposal, action=Action.REJECT, actor=Actor.STAFF,
                                    actor_member=staff, now=NOW, tz=TZ, config=ProposalsConfig(), note="不属于受理范围")
    return True


FLOWS = [
    DraftFlow("checkin", _make_checkin, _read_checkin, _confirm_checkin, (StudyCheckin, CreditEntry)),
    DraftFlow("proposal", _make_proposal, _read_proposal, _submit_proposal, (Proposal,)),
    DraftFlow("broadcast", _make_broadcast, _read_broadcast, _create_broadcast, (Broadcast,)),
    DraftFlow("event", _make_event, _read_event, _check_in_event, (CreditEvent, EventAttendance, CreditEntry)),
    DraftFlow("review", _make_review, _read_review, _reject, (Proposal, ProposalEvent), (1, 2)),  # submit, reject
    DraftFlow("dispute", _make_dispute, _read_dispute, _submit_dispute, (StudyCheckin, CreditEntry, CreditDispute)),
]
flows = pytest.mark.parametrize("flow", FLOWS, ids=[f.name for f in FLOWS])


@flows
async def test_two_transactions_that_read_one_draft_record_one_effect(db: Database, flow: DraftFlow) -> None:
    member_id = await flow.make(db)
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        one, two = await flow.read(first, member_id), await flow.read(second, member_id)  # both read it
        assert await flow.consume(first, one)
        await first.commit()
        assert not await flow.consume(second, two)  # the draft it read is gone: nothing recorded
        await second.commit()
    assert await _count(db, *flow.effects) == flow.once


async def _lock_waiters(db: Database) -> int:
    async with db.engine.connect() as conn:
        found = await conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        return int(found or 0)


async def _until_a_transaction_waits_for_a_lock(db: Database) -> None:
    async def poll() -> None:  # the waiting is in the server: no event of ours to await, so poll its state
        while not await _lock_waiters(db):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout=10)


@pytest.mark.pg
@flows
async def test_interleaved_consumers_on_postgresql_record_one_effect(pg_url: str, flow: DraftFlow) -> None:
    db = Database(pg_url)
    try:
        await db.upgrade()
        member_id = await flow.make(db)
        async with db.sessionmaker() as first, db.sessionmaker() as second:
            one, two = await flow.read(first, member_id), await flow.read(second, member_id)  # both read it
            assert await flow.consume(first, one)  # not committed yet: the row stays locked
            loser = asyncio.create_task(flow.consume(second, two))
            await _until_a_transaction_waits_for_a_lock(db)  # the second DELETE waits for the first
            assert not loser.done()
            await first.commit()
            assert not await asyncio.wait_for(loser, timeout=10)
            await second.commit()
        assert await _count(db, *flow.effects) == flow.once
    finally:
        await db.dispose()


@pytest.mark.pg
@flows
async def test_concurrent_consumers_on_postgresql_record_one_effect(pg_url: str, flow: DraftFlow) -> None:
    db = Database(pg_url)
    try:
        await db.upgrade()
        member_id = await flow.make(db)

        async def worker(session: AsyncSession, draft: Any) -> bool:
            recorded = await flow.consume(session, draft)
            await session.commit()
            return recorded

        async with db.sessionmaker() as first, db.sessionmaker() as second:
            one, two = await flow.read(first, member_id), await flow.read(second, member_id)
            results = await asyncio.gather(worker(first, one), worker(second, two))
        assert sorted(results) == [False, True]
        assert await _count(db, *flow.effects) == flow.once
    finally:
        await db.dispose()


async def test_a_checkin_draft_changed_since_it_was_read_is_not_recorded(db: Database) -> None:
    member_id = await _make_checkin(db)
    async with db.sessionmaker() as stale, db.sessionmaker() as other:
        read = await _read_checkin(stale, member_id)
        await stale.commit()  # nothing locked while the member looks at the card
        changed = await _read_checkin(other, member_id)  # 修改 on another worker: the draft moves on
        await checkins.set_awaiting(other, draft=changed, awaiting="minutes", now=NOW + timedelta(minutes=1))
        await other.commit()
        assert not await _confirm_checkin(stale, read)
        await stale.commit()
    assert await _count(db, StudyCheckin, CreditEntry) == (0, 0)
