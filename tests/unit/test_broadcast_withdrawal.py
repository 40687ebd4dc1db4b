"""Withdrawing a broadcast (撤回) on SQLite and PostgreSQL: only its author or an admin, only before it has
finished; pending deliveries are cancelled, rows in flight finish, a reviewer's later decision changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from store import audit, preferences
from store.broadcasts import approval, outbox, withdrawal
from store.broadcasts.approval import ReviewOutcome
from store.broadcasts.states import Outcome
from store.broadcasts.withdrawal import WithdrawOutcome
from store.db import Database
from store.models import BroadcastDelivery, Member

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=TZ).astimezone(UTC)
DEFAULTS = preferences.PrefsDefaults()


async def _people(db: Database) -> dict[str, Member]:
    staff = [("author", "staff"), ("colleague", "staff"), ("admin", "admin"), ("reviewer", "reviewer")]
    rows: list[dict[str, Any]] = [
        {"name": name, "role": role, "telegram_id": 8000 + i, "active": True, "created_at": NOON,
         "updated_at": NOON} for i, (name, role) in enumerate(staff)
    ]
    rows += [{"name": f"委员{i}", "role": "member", "sector": "经济界", "telegram_id": 9000 + i, "active": True,
              "created_at": NOON, "updated_at": NOON} for i in range(3)]
    async with db.session() as s:
        await s.execute(insert(Member), rows)
        found = {m.name: m for m in await s.scalars(select(Member))}
    return found


async def _create(db: Database, author: Member, *, awaiting: bool = False, **kwargs: Any) -> int:
    async with db.session() as s:
        new = outbox.NewBroadcast(text="通知", audience=[{"sector": ["经济界"]}], created_by=author.id, **kwargs)
        b = await outbox.create(s, new=new, now=NOON, tz=TZ, defaults=DEFAULTS, awaiting=awaiting)
        return b.id


async def _withdraw(db: Database, bid: int, actor: Member) -> withdrawal.Withdrawal:
    async with db.session() as s:
        return await withdrawal.withdraw(s, broadcast_id=bid, actor=actor, now=NOON + timedelta(minutes=5))


async def _status(db: Database, bid: int) -> outbox.Status:
    async with db.session() as s:
        st = await outbox.status(s, broadcast_id=bid)
    assert st is not None
    return st


async def test_the_author_withdraws_a_scheduled_notice_and_it_is_audited(db: Database) -> None:
    people = await _people(db)
    bid = await _create(db, people["author"], scheduled_at=NOON + timedelta(hours=2))
    assert (await _status(db, bid)).state == "scheduled"
    done = await _withdraw(db, bid, people["author"])
    assert (done.outcome, done.cancelled, done.sent) == (WithdrawOutcome.WITHDRAWN, 3, 0)
    st = await _status(db, bid)
    assert (st.state, st.pending, st.failed, st.sent) == ("cancelled", 0, 3, 0)
    async with db.session() as s:
        assert await outbox.claim(s, now=NOON + timedelta(hours=3), token="t", limit=10) == []  # nothing to send
        [entry] = await audit.entries(s, action="broadcast.withdraw")
        errors = set(await s.scalars(select(BroadcastDelivery.last_error)))
    assert entry.actor == "author" and entry.target == f"broadcast:{bid}"
    assert errors == {withdrawal.WITHDRAWN_ERROR}
    assert (await _withdraw(db, bid, people["author"])).outcome is WithdrawOutcome.ALREADY  # a second tap


async def test_only_the_author_or_an_admin_may_withdraw(db: Database) -> None:
    people = await _people(db)
    bid = await _create(db, people["author"], scheduled_at=NOON + timedelta(hours=2))
    for who in ("colleague", "reviewer", "委员0"):
        assert (await _withdraw(db, bid, people[who])).outcome is WithdrawOutcome.NOT_ALLOWED
    assert (await _status(db, bid)).state == "scheduled"
    async with db.session() as s:  # an author who has left no longer may
        author = await s.get(Member, people["author"].id)
        assert author is not None
        author.active = False
    assert (await _withdraw(db, bid, author)).outcome is WithdrawOutcome.NOT_ALLOWED
    assert (await _withdraw(db, bid, people["admin"])).outcome is WithdrawOutcome.WITHDRAWN


async def test_withdrawn_mid_send_rows_in_flight_finish_the_rest_are_cancelled(db: Database) -> None:
    people = await _people(db)
    bid = await _create(db, people["author"])
    async with db.session() as s:  # one sent, one handed to Telegram but not yet recorded, one waiting
        [first] = await outbox.claim(s, now=NOON, token="a", limit=1)
    async with db.session() as s:
        await outbox.record(s, results=[outbox.Result(first, Outcome.SENT, message_id=1)], now=NOON)
    async with db.session() as s:
        [flying] = await outbox.claim(s, now=NOON, token="b", limit=1)
    done = await _withdraw(db, bid, people["admin"])
    assert (done.outcome, done.cancelled, done.sent) == (WithdrawOutcome.WITHDRAWN, 1, 2)
    async with db.session() as s:
        await outbox.record(s, results=[outbox.Result(flying, Outcome.SENT, message_id=2)], now=NOON)
        await outbox.finish_done(s, broadcast_ids=[bid], now=NOON)
    st = await _status(db, bid)
    assert (st.state, st.sent, st.failed, st.pending) == ("cancelled", 2, 1, 0)  # never turned "done"


async def test_a_notice_awaiting_review_is_withdrawn_before_anyone_approves(db: Database) -> None:
    people = await _people(db)
    bid = await _create(db, people["author"], awaiting=True)
    assert (await _withdraw(db, bid, people["author"])).outcome is WithdrawOutcome.WITHDRAWN
    async with db.session() as s:
        late = await approval.approve(s, broadcast_id=bid, reviewer=people["reviewer"], now=NOON, tz=TZ,
                                      defaults=DEFAULTS)
    assert late.outcome is ReviewOutcome.ALREADY
    st = await _status(db, bid)
    assert (st.state, st.total) == ("cancelled", 0)  # no delivery was ever created


async def test_finished_or_returned_notices_cannot_be_withdrawn(db: Database) -> None:
    people = await _people(db)
    returned = await _create(db, people["author"], awaiting=True)
    async with db.session() as s:
        await approval.return_to_author(s, broadcast_id=returned, reviewer=people["reviewer"], reason="改时间",
                                        now=NOON)
    assert (await _withdraw(db, returned, people["author"])).outcome is WithdrawOutcome.ALREADY
    done = await _create(db, people["author"])
    async with db.session() as s:
        claimed = await outbox.claim(s, now=NOON, token="t", limit=10)
    async with db.session() as s:
        await outbox.record(s, results=[outbox.Result(c, Outcome.SENT, message_id=i) for i, c in enumerate(claimed)],
                            now=NOON)
        await outbox.finish_done(s, broadcast_ids=[done], now=NOON)
    assert (await _status(db, done)).state == "done"
    result = await _withdraw(db, done, people["admin"])
    assert result.outcome is WithdrawOutcome.ALREADY and result.broadcast is not None
    assert result.broadcast.state == "done"
    async with db.session() as s:
        assert await audit.entries(s, action="broadcast.withdraw") == []
