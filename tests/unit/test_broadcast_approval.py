"""The two-person rule for broadcasts (store.broadcasts.approval) on SQLite and PostgreSQL: when it applies,
who may approve or return, first decision wins, nothing is sent while awaiting, audit and announcements."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import audit, preferences
from store.broadcasts import approval, outbox
from store.broadcasts.approval import ApprovalConfig, ReviewOutcome
from store.db import Database
from store.models import Member

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=TZ).astimezone(UTC)
DEFAULTS = preferences.PrefsDefaults()


async def _people(db: Database, *, reviewers: int = 2) -> dict[str, Member]:
    people = {"author": ("李干事", "staff", 9001), "admin": ("赵主任", "admin", 9002)}
    for i in range(reviewers):
        people[f"reviewer{i}"] = (f"把关人{i}", "reviewer", 9100 + i)
    for i in range(3):
        people[f"m{i}"] = (f"委员{i}", "member", 1000 + i)
    out = {}
    async with db.session() as s:
        for key, (name, role, tid) in people.items():
            m = Member(name=name, role=role, telegram_id=tid, active=True, sector="经济界", district="城关区",
                       created_at=NOON, updated_at=NOON)
            s.add(m)
            out[key] = m
        await s.flush()
    return out


async def _compose(db: Database, author: Member, *, awaiting: bool = True, **kwargs: object) -> int:
    async with db.session() as s:
        b = await outbox.create(s, new=outbox.NewBroadcast(text="周五开会", audience=[{}], created_by=author.id,
                                                           **kwargs),  # type: ignore[arg-type]
                                now=NOON, tz=TZ, defaults=DEFAULTS, awaiting=awaiting)
        return b.id


async def _approve(db: Database, bid: int, who: Member, now: datetime = NOON) -> approval.Review:
    async with db.session() as s:
        return await approval.approve(s, broadcast_id=bid, reviewer=who, now=now, tz=TZ, defaults=DEFAULTS)


async def test_required_follows_the_mode_and_the_committee(db: Database) -> None:
    async with db.session() as s:
        assert not await approval.required(s, config=ApprovalConfig())  # auto, no reviewer yet
        assert await approval.required(s, config=ApprovalConfig(mode="on"))
    people = await _people(db, reviewers=1)
    async with db.session() as s:
        assert await approval.required(s, config=ApprovalConfig())  # auto, one active reviewer
        assert not await approval.required(s, config=ApprovalConfig(mode="off"))
        reviewer = await s.get(Member, people["reviewer0"].id)
        assert reviewer is not None
        reviewer.active = False
    async with db.session() as s:
        assert not await approval.required(s, config=ApprovalConfig())  # an inactive reviewer does not count
    with pytest.raises(ValueError):
        ApprovalConfig(mode="maybe")


async def test_nothing_is_sent_while_awaiting_and_only_another_reviewer_approves(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["author"])
    async with db.session() as s:
        assert (await outbox.status(s, broadcast_id=bid)).total == 0  # type: ignore[union-attr]
        assert await outbox.claim(s, now=NOON + timedelta(hours=1), token="t", limit=10) == []
        assert [b.id for b in await approval.awaiting(s)] == [bid]
    # the author (staff), an admin and a member are refused; nothing changes
    assert (await _approve(db, bid, people["author"])).outcome is ReviewOutcome.NOT_REVIEWER
    assert (await _approve(db, bid, people["admin"])).outcome is ReviewOutcome.NOT_REVIEWER
    assert (await _approve(db, bid, people["m0"])).outcome is ReviewOutcome.NOT_REVIEWER
    async with db.session() as s:
        b = await outbox.get(s, broadcast_id=bid)
        assert b is not None and b.state == "awaiting" and b.reviewed_by is None
    review = await _approve(db, bid, people["reviewer0"])
    assert review.outcome is ReviewOutcome.APPROVED and review.recipients == 7  # every active bound member
    async with db.session() as s:
        b = await outbox.get(s, broadcast_id=bid)
        assert b is not None and b.state == "queued" and b.reviewed_by == people["reviewer0"].id
        assert len(await outbox.claim(s, now=NOON, token="t", limit=100)) == 7
        entries = await audit.entries(s, action="broadcast.approve", limit=5)
        assert [(e.actor, e.target) for e in entries] == [("把关人0", f"broadcast:{bid}")]
    # a second reviewer afterwards: already handled, no second set of deliveries
    assert (await _approve(db, bid, people["reviewer1"])).outcome is ReviewOutcome.ALREADY
    async with db.session() as s:
        assert (await outbox.status(s, broadcast_id=bid)).total == 7  # type: ignore[union-attr]


async def test_a_reviewer_cannot_approve_their_own_broadcast(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["reviewer0"])
    assert (await _approve(db, bid, people["reviewer0"])).outcome is ReviewOutcome.OWN
    async with db.session() as s:
        assert (await approval.return_to_author(s, broadcast_id=bid, reviewer=people["reviewer0"], reason="不妥",
                                                now=NOON)).outcome is ReviewOutcome.OWN
    assert (await _approve(db, bid, people["reviewer1"])).outcome is ReviewOutcome.APPROVED


async def test_two_reviewers_at_once_one_wins(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["author"])
    first, second = await asyncio.gather(_approve(db, bid, people["reviewer0"]),
                                         _approve(db, bid, people["reviewer1"]))
    outcomes = sorted([first.outcome.value, second.outcome.value])
    assert outcomes == ["already", "approved"]
    async with db.session() as s:
        assert (await outbox.status(s, broadcast_id=bid)).total == 7  # type: ignore[union-attr]
        assert len(await audit.entries(s, action="broadcast.approve", limit=5)) == 1


async def test_return_needs_a_reason_and_then_nothing_is_sent(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["author"])
    async with db.session() as s:
        await approval.ask_reason(s, member_id=people["reviewer0"].id, broadcast_id=bid, now=NOON)
        blank = await approval.return_to_author(s, broadcast_id=bid, reviewer=people["reviewer0"], reason="  ",
                                                now=NOON)
        assert blank.outcome is ReviewOutcome.NO_REASON
    async with db.session() as s:
        done = await approval.return_to_author(s, broadcast_id=bid, reviewer=people["reviewer0"],
                                               reason="时间写错了", now=NOON)
        assert done.outcome is ReviewOutcome.RETURNED
        assert await approval.prompt_of(s, member_id=people["reviewer0"].id) is None  # the prompt is used up
    assert (await _approve(db, bid, people["reviewer1"])).outcome is ReviewOutcome.ALREADY
    async with db.session() as s:
        b = await outbox.get(s, broadcast_id=bid)
        assert b is not None and b.state == "returned" and b.review_note == "时间写错了"
        assert (await outbox.status(s, broadcast_id=bid)).total == 0  # type: ignore[union-attr]
        entries = await audit.entries(s, action="broadcast.return", limit=5)
        assert [(e.actor, e.note) for e in entries] == [("把关人0", "时间写错了")]


async def test_approval_later_than_the_schedule_sends_at_once_and_respects_quiet_hours(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["author"], scheduled_at=NOON + timedelta(hours=2))
    night = datetime(2026, 11, 26, 23, 0, tzinfo=TZ).astimezone(UTC)
    assert (await _approve(db, bid, people["reviewer0"], now=night)).outcome is ReviewOutcome.APPROVED
    async with db.session() as s:
        status = await outbox.status(s, broadcast_id=bid)
        assert status is not None and status.deferred == 7  # quiet hours at approval time hold it back
        assert await outbox.claim(s, now=night, token="t", limit=10) == []


async def test_announcements_are_claimed_once(db: Database) -> None:
    people = await _people(db)
    bid = await _compose(db, people["author"])
    async with db.session() as s:
        assert [b.id for b in await approval.claim_reviewer_notices(s, now=NOON)] == [bid]
        assert await approval.claim_reviewer_notices(s, now=NOON) == []
        assert await approval.claim_author_notices(s, now=NOON) == []  # not decided yet
        names = [m.name for m in await approval.reviewers(s, exclude_member_id=people["reviewer0"].id)]
        assert names == ["把关人1"]
    await _approve(db, bid, people["reviewer1"])
    async with db.session() as s:
        assert [b.id for b in await approval.claim_author_notices(s, now=NOON)] == [bid]
        assert await approval.claim_author_notices(s, now=NOON) == []
