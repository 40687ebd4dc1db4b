"""Proposal repository on SQLite and PostgreSQL: numbers, transitions, events, outboxes, merge, export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from store.db import Database
from store.models import Member, ProposalNotification, ProposalWebhookEvent
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Rating

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CONFIG = ProposalsConfig()
TEXT = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"


async def _members(db: Database) -> dict[str, int]:
    async with db.session() as session:
        people = [
            Member(name="张明", role="member", telegram_id=1001),
            Member(name="王芳", role="member", telegram_id=1002),
            Member(name="赵强", role="member", telegram_id=1003),
            Member(name="李干事", role="staff", telegram_id=9001),
        ]
        session.add_all(people)
        await session.flush()
        return {m.name: m.id for m in people}


async def _submit(db: Database, member_id: int, text: str = TEXT, *, now: datetime = NOW, **kw: Any) -> int:
    async with db.session() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        item = repo.NewProposal(title=text[:20], content=text, category="城乡建设", **kw)
        proposal = await repo.submit(session, member=member, item=item, now=now, tz=TZ, config=CONFIG)
        return proposal.id


async def _act(db: Database, proposal_id: int, action: Action, actor_id: int, **kw: Any) -> None:
    async with db.session() as session:
        proposal = await repo.get(session, proposal_id=proposal_id)
        actor_member = await session.get(Member, actor_id)
        assert proposal is not None and actor_member is not None
        actor = Actor.STAFF if actor_member.role == "staff" else Actor.AUTHOR
        await repo.transition(
            session, proposal=proposal, action=action, actor=actor, actor_member=actor_member,
            now=kw.pop("now", NOW), tz=TZ, config=kw.pop("config", CONFIG), **kw,
        )


async def _notified(db: Database) -> list[tuple[str, int, str]]:
    async with db.session() as session:
        rows = (await session.scalars(select(ProposalNotification).order_by(ProposalNotification.id))).all()
        return [(n.event.status, n.member_id, n.role) for n in rows]


async def test_tracking_numbers_are_unique_per_year(db: Database) -> None:
    ids = await _members(db)
    first = await _submit(db, ids["张明"])
    second = await _submit(db, ids["王芳"])
    next_year = await _submit(db, ids["张明"], now=datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 2027 in Beijing
    async with db.session() as session:
        found = [await repo.get(session, proposal_id=i) for i in (first, second, next_year)]
        numbers = [p.number if p else None for p in found]
    assert numbers == ["WJY-2026-0001", "WJY-2026-0002", "WJY-2027-0001"]


async def test_full_loop_records_events_and_notifies_the_author_once_each(db: Database) -> None:
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    staff = ids["李干事"]
    await _act(db, pid, Action.ACCEPT, staff)
    await _act(db, pid, Action.ASSIGN, staff, unit="市交通运输局", deadline=date(2026, 12, 20))
    await _act(db, pid, Action.ANSWER, staff, reply="已规划夜间公交 N3 线路。")
    await _act(db, pid, Action.RATE, ids["张明"], rating=Rating.DISSATISFIED)  # reopens once
    await _act(db, pid, Action.ANSWER, staff, reply="已开通 N3 线路。")
    await _act(db, pid, Action.RATE, ids["张明"], rating=Rating.DISSATISFIED)  # second time: closes
    async with db.session() as session:
        p = await repo.get(session, proposal_id=pid)
        assert p is not None
        assert p.status == "closed" and p.reopened == 1 and p.rating == "dissatisfied"
        assert p.unit == "市交通运输局" and p.reply == "已开通 N3 线路。"
        assert [e.status for e in p.events] == [
            "submitted", "accepted", "assigned", "answered", "assigned", "answered", "closed",
        ]
        assert p.events[1].actor == "李干事" and p.events[3].note == "已规划夜间公交 N3 线路。"
    # Staff transitions notify the author; the author's own ratings are answered directly.
    assert await _notified(db) == [
        ("accepted", ids["张明"], "author"),
        ("assigned", ids["张明"], "author"),
        ("answered", ids["张明"], "author"),
        ("answered", ids["张明"], "author"),
    ]


async def test_accept_sets_the_default_deadline(db: Database) -> None:
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"])
    async with db.session() as session:
        p = await repo.get(session, proposal_id=pid)
        assert p is not None and p.deadline == date(2026, 12, 11)  # 15 days after 2026-11-26 (Beijing)


async def test_invalid_transitions_change_nothing(db: Database) -> None:
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    with pytest.raises(InvalidTransition):
        await _act(db, pid, Action.ANSWER, ids["李干事"], reply="x")  # not accepted yet
    with pytest.raises(InvalidTransition):
        await _act(db, pid, Action.WITHDRAW, ids["王芳"])  # not the author
    with pytest.raises(repo.MissingDetail):
        await _act(db, pid, Action.REJECT, ids["李干事"], note="  ")  # a reason is required
    await _act(db, pid, Action.WITHDRAW, ids["张明"])
    with pytest.raises(InvalidTransition):
        await _act(db, pid, Action.ACCEPT, ids["李干事"])  # withdrawn is final
    async with db.session() as session:
        p = await repo.get(session, proposal_id=pid)
        assert p is not None and p.status == "withdrawn"
        assert [e.status for e in p.events] == ["submitted", "withdrawn"]
    assert await _notified(db) == []


async def test_merge_makes_merged_items_follow_the_main_one(db: Database) -> None:
    ids = await _members(db)
    main = await _submit(db, ids["张明"])
    dup = await _submit(db, ids["王芳"], "希望老城区开通夜班公交，方便下夜班的工人")
    async with db.session() as session:
        p = await repo.get(session, proposal_id=main)
        zhao = await session.get(Member, ids["赵强"])
        assert p is not None and zhao is not None
        assert await repo.support(session, proposal=p, member=zhao, now=NOW)
        assert not await repo.support(session, proposal=p, member=zhao, now=NOW)  # once
        author = await session.get(Member, ids["张明"])
        assert author is not None and not await repo.support(session, proposal=p, member=author, now=NOW)
    async with db.session() as session:
        target = await repo.get(session, proposal_id=main)
        assert target is not None
        with pytest.raises(InvalidTransition):  # an item cannot be merged into itself
            await repo.transition(
                session, proposal=target, action=Action.MERGE, actor=Actor.STAFF,
                actor_member=None, actor_label="后台", now=NOW, tz=TZ, config=CONFIG, merge_into=target,
            )
    async with db.session() as session:
        child = await repo.get(session, proposal_id=dup)
        target = await repo.get(session, proposal_id=main)
        assert child is not None
        await repo.transition(
            session, proposal=child, action=Action.MERGE, actor=Actor.STAFF,
            actor_member=None, actor_label="后台", now=NOW, tz=TZ, config=CONFIG, merge_into=target,
        )
    await _act(db, main, Action.ACCEPT, ids["李干事"])
    assert await _notified(db) == [
        ("merged", ids["王芳"], "author"),
        ("accepted", ids["张明"], "author"),
        ("accepted", ids["赵强"], "supporter"),
        ("accepted", ids["王芳"], "merged"),
    ]
    async with db.session() as session:
        exported = {r["number"]: r for r in await repo.export_all(session, now=NOW, tz=TZ, config=CONFIG)}
    assert exported["WJY-2026-0002"]["status"] == "merged"
    assert exported["WJY-2026-0002"]["merged_into"] == "WJY-2026-0001"
    assert exported["WJY-2026-0001"]["supporters"] == 1


async def test_notification_claims_are_leased_and_marked_once(db: Database) -> None:
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"])
    async with db.session() as session:
        claimed = await repo.claim_notifications(session, now=NOW)
        assert len(claimed) == 1
        first_id = claimed[0].id
    async with db.session() as session:  # a concurrent sender sees nothing while the lease runs
        assert await repo.claim_notifications(session, now=NOW + timedelta(seconds=10)) == []
    async with db.session() as session:
        await repo.mark_notification(session, notification_id=first_id, now=NOW)
    async with db.session() as session:
        assert await repo.claim_notifications(session, now=NOW + timedelta(hours=1)) == []
        assert await repo.pending_notifications(session) == 0


async def test_failed_send_is_retried_later(db: Database) -> None:
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"])
    async with db.session() as session:
        (row,) = await repo.claim_notifications(session, now=NOW)
        await repo.mark_notification(session, notification_id=row.id, now=NOW, error="timeout")
    async with db.session() as session:
        assert await repo.claim_notifications(session, now=NOW + timedelta(seconds=5)) == []
        again = await repo.claim_notifications(session, now=NOW + timedelta(minutes=2))
        assert [r.id for r in again] == [row.id]


async def test_similar_items_lexical_and_by_vector(db: Database) -> None:
    ids = await _members(db)
    bus = await _submit(db, ids["张明"], embedding=[1.0, 0.0, 0.0], embedder_id="e1")
    await _submit(db, ids["王芳"], "希望学校周边增加护学岗，保障学生上下学安全", embedding=[0.0, 1.0, 0.0],
                  embedder_id="e1")
    async with db.session() as session:
        lexical = await repo.find_similar(
            session, text="建议老城区开通夜间公交线路", embedding=None, embedder_id=None, exclude_member_id=ids["赵强"]
        )
        assert [p.id for p, _ in lexical] == [bus]
        by_vector = await repo.find_similar(
            session, text="完全不同的字", embedding=[0.99, 0.1, 0.0], embedder_id="e1", exclude_member_id=ids["赵强"]
        )
        assert [p.id for p, _ in by_vector] == [bus]
        own = await repo.find_similar(
            session, text=TEXT, embedding=None, embedder_id=None, exclude_member_id=ids["张明"]
        )
        assert own == []


async def test_export_shape_and_webhook_outbox(db: Database) -> None:
    ids = await _members(db)
    config = ProposalsConfig(webhook_url="http://127.0.0.1:1/hook", webhook_secret="s")
    async with db.session() as session:
        member = await session.get(Member, ids["张明"])
        item = repo.NewProposal(
            title="关于在老城区增设夜间公交线路的建议", content=TEXT, category="城乡建设", place="老城区",
            photos=[{"file_id": "F1", "file_unique_id": "U1"}],
        )
        assert member is not None
        p = await repo.submit(session, member=member, item=item, now=NOW, tz=TZ, config=config)
        pid = p.id
    await _act(db, pid, Action.ACCEPT, ids["李干事"], config=config)
    async with db.session() as session:
        (record,) = await repo.export_all(session, now=NOW, tz=TZ, config=config)
        kinds = list(await session.scalars(select(ProposalWebhookEvent.kind).order_by(ProposalWebhookEvent.id)))
        keys = await session.scalar(select(func.count(func.distinct(ProposalWebhookEvent.key))))
    assert kinds == ["proposal.submit", "proposal.accept"] and keys == 2
    assert record["number"] == "WJY-2026-0001" and record["status"] == "accepted"
    assert record["member"] == {"name": "张明", "telegram_id": 1001}
    assert record["place"] == "老城区" and record["category"] == "城乡建设"
    assert record["photos"] == [{"file_id": "F1", "file_unique_id": "U1", "local_path": None}]
    assert record["deadline"] == "2026-12-11" and record["warning"] == "green"
    assert [(e["status"], e["actor"]) for e in record["events"]] == [("submitted", "张明"), ("accepted", "李干事")]


async def test_accepting_and_adopting_award_points_once(db: Database) -> None:
    from store.models import CreditEntry

    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"])
    await _act(db, pid, Action.ADOPT, ids["李干事"])
    with pytest.raises(InvalidTransition):
        await _act(db, pid, Action.ADOPT, ids["李干事"])  # adopted once
    async with db.session() as session:
        entries = (await session.scalars(select(CreditEntry).order_by(CreditEntry.id))).all()
        p = await repo.get(session, proposal_id=pid)
        assert p is not None and p.adopted_at == NOW and p.status == "accepted"
    assert [(e.member_id, e.source_id, e.points) for e in entries] == [
        (ids["张明"], f"{pid}:accepted", 3), (ids["张明"], f"{pid}:adopted", 5)]
    assert await _notified(db) == [("accepted", ids["张明"], "author"), ("accepted", ids["张明"], "author")]


async def test_accepting_awards_points_under_the_configured_credit_rules(db: Database) -> None:
    from store.credits.rules import DEFAULT_RULES_FILE, parse_rules
    from store.models import CreditEntry

    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8").replace(
        "stages = { accepted = 3, adopted = 5 }", "stages = { accepted = 4, adopted = 6 }")
    config = ProposalsConfig(credit_rules=parse_rules(text, source="custom.toml"))
    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"], config=config)
    await _act(db, pid, Action.ADOPT, ids["李干事"], config=config)
    async with db.session() as session:
        points = list(await session.scalars(select(CreditEntry.points).order_by(CreditEntry.id)))
    assert points == [4, 6]


async def test_staff_decisions_go_to_the_audit_log(db: Database) -> None:
    """操作记录 shows what staff decided on an item, whether in Telegram or through the back office."""
    from store import audit

    ids = await _members(db)
    pid = await _submit(db, ids["张明"])
    await _act(db, pid, Action.ACCEPT, ids["李干事"])
    await _act(db, pid, Action.ASSIGN, ids["李干事"], unit="市交通运输局")
    await _act(db, await _submit(db, ids["张明"], "建议社区增设便民服务点"), Action.WITHDRAW, ids["张明"])
    async with db.session() as session:
        log = await audit.entries(session, action="proposal.")
    assert [(e.action, e.actor, e.actor_member_id) for e in log] == [
        ("proposal.assign", "李干事", ids["李干事"]), ("proposal.accept", "李干事", ids["李干事"]),
    ]
    assert log[0].target and log[0].target.startswith("WJY-")
    assert log[0].detail and log[0].detail["unit"] == "市交通运输局"
