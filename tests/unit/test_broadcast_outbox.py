"""The broadcast outbox on SQLite and PostgreSQL: create, claim, record, recover, status, receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from store import preferences
from store.broadcasts import outbox
from store.broadcasts.states import Outcome
from store.db import Database
from store.models import Member, MemberGroup

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=TZ).astimezone(UTC)
NIGHT = datetime(2026, 11, 26, 23, 0, tzinfo=TZ).astimezone(UTC)
DEFAULTS = preferences.PrefsDefaults()


async def _members(db: Database, n: int = 6) -> list[int]:
    async with db.session() as s:
        rows: list[dict[str, Any]] = [
            {"name": f"委员{i}", "sector": "经济界" if i % 2 else "教育界", "district": "城关区", "role": "member",
             "telegram_id": 9000 + i, "active": True, "created_at": NOON, "updated_at": NOON} for i in range(n)
        ]
        rows.append({"name": "未绑定", "sector": "经济界", "district": "城关区", "role": "member",
                     "telegram_id": None, "active": True, "created_at": NOON, "updated_at": NOON})
        await s.execute(insert(Member), rows)
        ids = [m.id for m in await outbox_members(s)]
        s.add(MemberGroup(member_id=ids[0], name="提案委员会"))
    return ids[:n]  # the bound ones


async def outbox_members(session):
    from store import members

    return await members.list_members(session)


async def _create(db: Database, now: datetime = NOON, **kwargs) -> int:
    kwargs.setdefault("audience", [{}])
    async with db.session() as s:
        b = await outbox.create(s, new=outbox.NewBroadcast(text="通知", **kwargs), now=now, tz=TZ,
                                defaults=DEFAULTS)
        return b.id


async def _status(db: Database, bid: int) -> outbox.Status:
    async with db.session() as s:
        st = await outbox.status(s, broadcast_id=bid)
    assert st is not None
    return st


async def test_audience_resolution_and_combinations(db: Database) -> None:
    ids = await _members(db)
    async with db.session() as s:
        await preferences.toggle_topic(s, member_id=ids[3], topic="经济发展", now=NOON)
    from store.broadcasts import audience

    async with db.session() as s:
        everyone = await audience.resolve(s, spec=[{}])
        econ = await audience.resolve(s, spec=[{"sector": ["经济界"]}])
        union = await audience.resolve(s, spec=[{"group": ["提案委员会"]}, {"topic": ["经济发展"]}])
        both = await audience.resolve(s, spec=[{"sector": ["经济界"], "topic": ["经济发展"]}])
    assert len(everyone) == 6  # the unbound member is not a recipient
    assert [r.member_id for r in econ] == [ids[1], ids[3], ids[5]]
    assert [r.member_id for r in union] == [ids[0], ids[3]]
    assert [r.member_id for r in both] == [ids[3]]


async def test_claim_send_record_is_exactly_once(db: Database) -> None:
    await _members(db)
    bid = await _create(db)
    async with db.session() as s:
        first = await outbox.claim(s, now=NOON, token="A", limit=4)
    async with db.session() as s:
        second = await outbox.claim(s, now=NOON, token="B", limit=10)
    assert len(first) == 4 and len(second) == 2
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    st = await _status(db, bid)
    assert (st.pending, st.sending, st.state) == (6, 6, "sending")
    results = [outbox.Result(first[0], Outcome.SENT, message_id=77), outbox.Result(first[1], Outcome.BLOCKED,
               error="Forbidden"), outbox.Result(first[2], Outcome.FAILED, error="Bad Request")]
    results += [outbox.Result(first[3], Outcome.RETRY, retry_at=NOON + timedelta(seconds=30))]
    async with db.session() as s:
        await outbox.record(s, results=results, now=NOON)
        # a stale result under a foreign token changes nothing
        await outbox.record(s, results=[outbox.Result(
            outbox.Claimed(second[0].delivery_id, bid, second[0].member_id, second[0].chat_id, 1, False, "X"),
            Outcome.SENT, message_id=1)], now=NOON)
        blocked_member = await s.get(Member, first[1].member_id)
        assert blocked_member is not None and blocked_member.active is False
    st = await _status(db, bid)
    assert (st.sent, st.blocked, st.failed, st.pending, st.sending) == (1, 1, 1, 3, 2)
    async with db.session() as s:  # the retry is not due yet
        assert await outbox.claim(s, now=NOON, token="C", limit=10) == []
        later = await outbox.claim(s, now=NOON + timedelta(seconds=31), token="C", limit=10)
    assert [c.delivery_id for c in later] == [first[3].delivery_id] and later[0].attempts == 2
    async with db.session() as s:
        await outbox.record(s, results=[outbox.Result(c, Outcome.SENT, message_id=5) for c in [*second, *later]],
                            now=NOON)
    st = await _status(db, bid)
    assert (st.sent, st.pending, st.state) == (4, 0, "done")


async def test_resume_requeues_only_rows_of_dead_senders_as_uncertain(db: Database) -> None:
    await _members(db)
    bid = await _create(db)
    async with db.session() as s:
        dead = await outbox.claim(s, now=NOON, token="dead", limit=2)
        alive = await outbox.claim(s, now=NOON + timedelta(minutes=9), token="alive", limit=2)
    async with db.session() as s:
        holders = {h.token: h.rows for h in await outbox.holders(s, broadcast_id=bid)}
        assert holders == {"dead": 2, "alive": 2}
        recovered = await outbox.recover(s, now=NOON + timedelta(minutes=10), dead_tokens=["dead"],
                                         stale_before=NOON + timedelta(minutes=5))
    assert recovered == 2
    st = await _status(db, bid)
    assert (st.uncertain, st.sending, st.pending) == (2, 2, 6)
    async with db.session() as s:
        again = await outbox.claim(s, now=NOON + timedelta(minutes=10), token="new", limit=10)
    assert {c.delivery_id for c in dead} <= {c.delivery_id for c in again}
    assert not {c.delivery_id for c in alive} & {c.delivery_id for c in again}
    assert all(c.uncertain for c in again if c.delivery_id in {d.delivery_id for d in dead})


async def test_quiet_hours_defer_non_urgent_and_urgent_goes_now(db: Database) -> None:
    ids = await _members(db)
    async with db.session() as s:
        await preferences.set_quiet_hours(s, member_id=ids[0], window=None, now=NOON)  # this one opted out
    normal = await _create(db, now=NIGHT)
    urgent = await _create(db, now=NIGHT, urgent=True)
    assert (await _status(db, normal)).deferred == 5
    async with db.session() as s:
        due = await outbox.claim(s, now=NIGHT, token="t", limit=100)
    assert sorted((c.broadcast_id, c.member_id) for c in due) == sorted(
        [(urgent, m) for m in ids] + [(normal, ids[0])])
    morning = datetime(2026, 11, 27, 8, 0, tzinfo=TZ).astimezone(UTC)
    async with db.session() as s:
        assert await outbox.next_due(s, broadcast_id=normal) == morning
        assert await outbox.claim(s, now=morning - timedelta(seconds=1), token="t", limit=100) == []
        assert len(await outbox.claim(s, now=morning, token="t", limit=100)) == 5


async def test_scheduled_broadcast_waits_for_its_time(db: Database) -> None:
    await _members(db)
    at = NOON + timedelta(hours=2)
    bid = await _create(db, scheduled_at=at, urgent=True)
    st = await _status(db, bid)
    assert (st.state, st.total, st.pending) == ("scheduled", 6, 6)
    async with db.session() as s:
        assert await outbox.claim(s, now=at - timedelta(seconds=1), token="t", limit=10) == []
        assert len(await outbox.claim(s, now=at, token="t", limit=10)) == 6


async def test_receipts_only_by_the_recipient_and_reminders_for_the_rest(db: Database) -> None:
    await _members(db, 3)
    bid = await _create(db, receipt=True, remind_after_minutes=60)
    async with db.session() as s:
        claimed = await outbox.claim(s, now=NOON, token="t", limit=10)
        await outbox.record(s, results=[outbox.Result(c, Outcome.SENT, message_id=1) for c in claimed], now=NOON)
    first = claimed[0]
    async with db.session() as s:
        assert await outbox.acknowledge(s, delivery_id=first.delivery_id, telegram_id=first.chat_id + 1,
                                        now=NOON) is outbox.AckOutcome.NOT_YOURS
        assert await outbox.acknowledge(s, delivery_id=first.delivery_id, telegram_id=first.chat_id,
                                        now=NOON) is outbox.AckOutcome.RECORDED
        assert await outbox.acknowledge(s, delivery_id=first.delivery_id, telegram_id=first.chat_id,
                                        now=NOON) is outbox.AckOutcome.ALREADY
        assert await outbox.acknowledge(s, delivery_id=99999, telegram_id=1, now=NOON) is outbox.AckOutcome.UNKNOWN
    assert (await _status(db, bid)).acknowledged == 1
    async with db.session() as s:
        assert await outbox.due_reminders(s, now=NOON + timedelta(minutes=59)) == []
        due = await outbox.due_reminders(s, now=NOON + timedelta(minutes=60))
        assert [b.id for b in due] == [bid]
        reminder = await outbox.create_reminder(s, parent=due[0], text="提醒", now=NOON + timedelta(hours=1),
                                                tz=TZ, defaults=DEFAULTS)
        assert reminder is not None
        rid = reminder.id
        assert await outbox.due_reminders(s, now=NOON + timedelta(hours=2)) == []
    st = await _status(db, rid)
    assert st.total == 2
    async with db.session() as s:  # acknowledging the reminder acknowledges the original too
        rclaimed = await outbox.claim(s, now=NOON + timedelta(hours=1), token="r", limit=10)
        await outbox.record(s, results=[outbox.Result(c, Outcome.SENT, message_id=2) for c in rclaimed],
                            now=NOON)
        await outbox.acknowledge(s, delivery_id=rclaimed[0].delivery_id, telegram_id=rclaimed[0].chat_id, now=NOON)
    assert (await _status(db, bid)).acknowledged == 2
