"""Store rules of issue #16 on both backends: signed QR tokens, persisted attempt limits, one reversal per entry,
one open dispute per entry, one forward per question."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from store import members as members_repo
from store import questions, secrets
from store.credits import events, ledger, reports
from store.credits.rules import default_rules
from store.db import Database
from store.models import CreditDispute, CreditEntry, CreditEvent, Member

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 26)
RULES = default_rules()
SECRET = b"0123456789abcdef-test-secret"


async def _people(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        people = [Member(name="张明", role="member", telegram_id=101),
                  Member(name="李干事", role="staff", telegram_id=900)]
        session.add_all(people)
        await session.commit()
        return people[0].id, people[1].id


async def _event(db: Database, *, code: str = "HY01", require_location: bool = False) -> CreditEvent:
    async with db.session() as session:
        spec = events.EventSpec(
            title="学习会", rule_id="meeting", starts_at=NOW, ends_at=NOW + timedelta(hours=2), code=code,
            place="政协大楼", latitude=29.5630, longitude=106.5516, radius_m=200, require_location=require_location,
        )
        event = await events.create_event(session, rules=RULES, spec=spec, creator=None, now=NOW)
        await session.commit()
        return event


def test_qr_tokens_are_short_signed_and_expire() -> None:
    token = events.checkin_token(SECRET, event_id=123456, code="HY01", at=NOW)
    assert len(token) <= 64 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    parsed = events.parse_token(token)
    assert parsed is not None and parsed.event_id == 123456
    event = CreditEvent(id=123456, code="HY01")
    status = [events.token_status(SECRET, parsed, event=event, now=NOW + timedelta(seconds=s)) for s in (0, 89, 90)]
    assert status == ["ok", "ok", "expired"]
    assert events.token_status(b"another secret", parsed, event=event, now=NOW) == "invalid"
    assert events.token_status(SECRET, parsed, event=CreditEvent(id=123456, code="HY02"), now=NOW) == "invalid"
    next_step = NOW + timedelta(seconds=30)
    later = events.parse_token(events.checkin_token(SECRET, event_id=123456, code="HY01", at=next_step))
    assert later is not None and later.step == parsed.step + 1
    assert events.parse_token("EVT-HY01") is None and events.normalise_code(token) is None


async def test_wrong_typed_codes_lock_the_member_across_sessions(db: Database) -> None:
    zhang, _ = await _people(db)
    await _event(db)
    for n in range(events.MAX_TYPED_FAILURES):
        async with db.session() as session:
            result = await events.check_in_by_code(session, rules=RULES, text=f"EVT-Q{n:02d}X", member_id=zhang,
                                                   now=NOW)
            await session.commit()
        assert result.outcome is events.CheckinOutcome.NOT_FOUND
    async with db.session() as session:  # a new session, as after a restart
        result = await events.check_in_by_code(session, rules=RULES, text="HY01", member_id=zhang, now=NOW)
        await session.commit()
    assert result.outcome is events.CheckinOutcome.LOCKED
    later = NOW + events.TYPED_FAILURE_WINDOW + timedelta(minutes=1)
    async with db.session() as session:
        assert not await events.typed_locked(session, member_id=zhang, event_id=None, now=later)


async def test_location_required_check_in_waits_for_a_location_inside_the_radius(db: Database) -> None:
    zhang, _ = await _people(db)
    event = await _event(db, require_location=True)
    async with db.session() as session:
        asked = await events.check_in(session, rules=RULES, event=event, member_id=zhang, now=NOW, method="link")
        await session.commit()
    assert asked.outcome is events.CheckinOutcome.NEED_LOCATION and asked.award is None
    async with db.session() as session:
        far = await events.check_in_with_location(session, rules=RULES, member_id=zhang, latitude=29.5720,
                                                  longitude=106.5516, now=NOW)
        near = await events.check_in_with_location(session, rules=RULES, member_id=zhang, latitude=29.5631,
                                                   longitude=106.5517, now=NOW)
        await session.commit()
    assert far is not None and far.outcome is events.CheckinOutcome.FAR and (far.distance_m or 0) > 200
    assert near is not None and near.outcome is events.CheckinOutcome.RECORDED and near.attendance is not None
    assert near.attendance.method == "link" and (near.attendance.distance_m or 999) < 200
    async with db.session() as session:  # nothing waits any more
        assert await events.check_in_with_location(session, rules=RULES, member_id=zhang, latitude=29.5631,
                                                   longitude=106.5517, now=NOW) is None


async def test_an_entry_is_reversed_at_most_once(db: Database) -> None:
    zhang, staff_id = await _people(db)
    async with db.session() as session:
        staff, member = await session.get(Member, staff_id), await session.get(Member, zhang)
        assert staff is not None and member is not None
        entry = await ledger.adjust(session, rules=RULES, member=member, rule_id="meeting", points=2, reason="x",
                                    staff=staff, now=NOW, day=TODAY)
        entry.source_type = "event"  # stands for a check-in: adjustments themselves cannot be disputed
        await session.flush()
        first = await ledger.open_dispute(session, entry=entry, member_id=zhang, now=NOW)
        await ledger.submit_dispute(session, dispute=first, reason="没有参加")
        await ledger.resolve_dispute(session, rules=RULES, dispute=first, staff=staff, correct=True, now=NOW, day=TODAY)
        with pytest.raises(ledger.DisputeError) as refused:
            await ledger.open_dispute(session, entry=entry, member_id=zhang, now=NOW)
        assert refused.value.code == "corrected"
        # Even a dispute that got in by another way (older data, a race) cannot reverse the entry again.
        second = CreditDispute(entry_id=entry.id, member_id=zhang, status="open", reason="再来", created_at=NOW)
        session.add(second)
        await session.flush()
        with pytest.raises(ledger.DisputeError):
            await ledger.resolve_dispute(session, rules=RULES, dispute=second, staff=staff, correct=True, now=NOW,
                                         day=TODAY)
        reversal = await ledger.reversal_of(session, entry_id=entry.id)
        assert reversal is not None and reversal.points == -2
        with pytest.raises(ledger.DisputeError) as on_reversal:
            await ledger.open_dispute(session, entry=reversal, member_id=zhang, now=NOW)
        assert on_reversal.value.code == "adjustment"
        await session.commit()
    async with db.session() as session:
        total = await session.scalar(select(func.sum(CreditEntry.points)).where(CreditEntry.member_id == zhang))
        assert total == 0
        rows = await reports.report_rows(session, rules=RULES, period=reports.year_period(2026))
        assert {r.member.name: r.total for r in rows} == {"张明": 0}


async def test_the_database_refuses_a_second_reversal_and_a_second_open_dispute(db: Database) -> None:
    zhang, _ = await _people(db)
    async with db.session() as session:
        member = await session.get(Member, zhang)
        assert member is not None
        entry = await ledger.adjust(session, rules=RULES, member=member, rule_id="meeting", points=2, reason="x",
                                    staff=None, now=NOW, day=TODAY)
        await session.commit()
        entry_id = entry.id

    def reversal(n: int) -> CreditEntry:
        return CreditEntry(member_id=zhang, rule_id="meeting", source_type="adjustment", source_id=f"raw:{n}",
                           activity_date=TODAY, at=NOW, requested_points=-2, points=-2, rules_version="t",
                           reverses_id=entry_id, created_at=NOW)

    async with db.session() as session:
        session.add(reversal(1))
        await session.commit()
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(reversal(2))
            await session.commit()
    async with db.session() as session:
        for status in ("upheld", "upheld", "open"):
            session.add(CreditDispute(entry_id=entry_id, member_id=zhang, status=status, created_at=NOW))
        await session.commit()
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(CreditDispute(entry_id=entry_id, member_id=zhang, status="open", created_at=NOW))
            await session.commit()


async def test_invite_failures_are_counted_per_account_and_per_code(db: Database) -> None:
    async with db.session() as session:
        member = Member(name="陈静", role="member", invite_code="ABCD2345")
        session.add(member)
        await session.commit()
    for n in range(members_repo.MAX_FAILED_BINDS_PER_ACCOUNT):
        async with db.session() as session:
            result = await members_repo.bind(session, code=f"ZZZZ222{n}", telegram_id=7001, now=NOW)
            await session.commit()
        assert result.outcome is members_repo.BindOutcome.UNKNOWN_CODE
    async with db.session() as session:
        locked = await members_repo.bind(session, code="ABCD2345", telegram_id=7001, now=NOW)
        assert locked.outcome is members_repo.BindOutcome.TOO_MANY
        later = NOW + members_repo.FAILED_BINDS_ACCOUNT_WINDOW + timedelta(seconds=1)
        bound = await members_repo.bind(session, code="ABCD2345", telegram_id=7001, now=later)
        assert bound.outcome is members_repo.BindOutcome.BOUND
        await session.commit()
    for account in range(7100, 7100 + members_repo.MAX_FAILED_BINDS_PER_CODE):
        async with db.session() as session:
            used = await members_repo.bind(session, code="abcd-2345", telegram_id=account, now=NOW)
            await session.commit()
        assert used.outcome is members_repo.BindOutcome.CODE_USED
    async with db.session() as session:
        assert (await members_repo.bind(session, code="ABCD2345", telegram_id=7200, now=NOW)).outcome is (
            members_repo.BindOutcome.TOO_MANY)


async def test_secret_is_created_once_and_shared(db: Database) -> None:
    async with db.session() as session:
        value, created = await secrets.get_or_create(session, name="k", now=NOW)
        await session.commit()
    async with db.session() as session:
        again, created_again = await secrets.get_or_create(session, name="k", now=NOW)
    assert created and not created_again and again == value and len(value) >= 40


async def test_a_question_is_passed_to_staff_once(db: Database) -> None:
    zhang, _ = await _people(db)
    async with db.session() as session:
        entry = await questions.log_question(session, member_id=zhang, chat_id=101, question="股票怎么买",
                                             answered=False, answer="", sources=[], at=NOW)
        first = await questions.mark_passed_to_staff(session, question_id=entry.id, member_id=zhang)
        second = await questions.mark_passed_to_staff(session, question_id=entry.id, member_id=zhang)
        other = await questions.mark_passed_to_staff(session, question_id=entry.id, member_id=zhang + 99)
    assert first[1] is True and second[1] is False and second[0] is not None and other == (None, False)
