"""The points ledger on both backends: caps, evidence counted once, history kept across rule changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from store import audit
from store.credits import checkins, events, ledger, reports
from store.credits.awards import award, award_proposal_points
from store.credits.parsing import ParsedCheckin
from store.credits.rules import DEFAULT_RULES_FILE, default_rules, parse_rules
from store.db import Database
from store.models import CreditEntry, Member

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 26)
RULES = default_rules()


async def _members(db: Database) -> list[int]:
    async with db.session() as session:
        people = [
            Member(name="张明", sector="经济界", district="渝中区", role="member", telegram_id=101),
            Member(name="王芳", sector="教育界", district="江北区", role="member", telegram_id=102),
            Member(name="李干事", role="staff", telegram_id=900),
        ]
        session.add_all(people)
        await session.flush()
        return [p.id for p in people]


async def _study(db: Database, member_id: int, minutes: int, day: date = TODAY) -> checkins.RecordedCheckin:
    async with db.session() as session:
        draft = await checkins.start_draft(
            session, member_id=member_id, now=NOW,
            parsed=ParsedCheckin("study", "《政协章程》", minutes, day, day < TODAY),
        )
        return await checkins.confirm_draft(session, draft=draft, rules=RULES, now=NOW, today=TODAY)


async def test_study_points_and_daily_cap(db: Database) -> None:
    zhang, _, _ = await _members(db)
    first = await _study(db, zhang, 45)
    assert first.award is not None and (first.award.points, first.award.capped_reason) == (2, None)
    second = await _study(db, zhang, 90)
    assert second.award is not None
    assert (second.award.requested, second.award.points, second.award.capped_reason) == (4, 1, "daily")
    third = await _study(db, zhang, 60)
    assert third.award is not None and third.award.points == 0
    other_day = await _study(db, zhang, 60, TODAY - timedelta(days=1))
    assert other_day.award is not None and other_day.award.points == 3 and other_day.checkin.backfill


async def test_backfill_window_and_minimum(db: Database) -> None:
    zhang, _, _ = await _members(db)
    async with db.session() as session:
        old = await checkins.start_draft(
            session, member_id=zhang, now=NOW,
            parsed=ParsedCheckin("study", None, 40, TODAY - timedelta(days=8), True),
        )
        try:
            await checkins.confirm_draft(session, draft=old, rules=RULES, now=NOW, today=TODAY)
        except checkins.CheckinError as exc:
            assert exc.code == "outside_window"
        else:
            raise AssertionError("a check-in older than the window was recorded")


async def test_weekly_note_and_annual_cap(db: Database) -> None:
    zhang, _, _ = await _members(db)
    body = "学" * 200
    results = []
    for offset in (0, 1):
        async with db.session() as session:
            draft = await checkins.start_draft(
                session, member_id=zhang, now=NOW,
                parsed=ParsedCheckin("note", None, None, TODAY - timedelta(days=offset), offset > 0, body=body),
            )
            results.append(await checkins.confirm_draft(session, draft=draft, rules=RULES, now=NOW, today=TODAY))
    assert [r.award.points for r in results if r.award] == [2, 0]
    assert results[1].award is not None and results[1].award.capped_reason == "weekly"
    # annual cap of 40 study points: 13 full days of 3 points plus one more day gives 1
    async with db.session() as session:
        for i in range(14):
            result = await award(
                session, rules=RULES, member_id=zhang, rule_id="study", source_type="checkin",
                source_id=f"x{i}", requested_points=3, activity_date=date(2026, 3, 1) + timedelta(days=i), at=NOW,
            )
        assert (result.points, result.capped_reason) == (1, "annual")


async def test_proposal_points_are_idempotent(db: Database) -> None:
    zhang, _, _ = await _members(db)
    async with db.session() as session:
        assert await award_proposal_points(session, member_id=zhang, proposal_id=7, stage="accepted", at=NOW) == 3
        assert await award_proposal_points(session, member_id=zhang, proposal_id=7, stage="accepted", at=NOW) == 0
        assert await award_proposal_points(session, member_id=zhang, proposal_id=7, stage="adopted", at=NOW) == 5
        assert await award_proposal_points(session, member_id=zhang, proposal_id=8, stage="accepted", at=NOW) == 3
    async with db.session() as session:
        table = await reports.totals_by_member(session, period=reports.year_period(2026))
        assert table[zhang] == {"proposal": 11}
        assert await session.scalar(select(func.count()).select_from(CreditEntry)) == 3


async def test_rule_changes_do_not_rewrite_history(db: Database) -> None:
    zhang, _, _ = await _members(db)
    await _study(db, zhang, 40, TODAY - timedelta(days=2))
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8").replace("per_minutes = 20", "per_minutes = 10")
    new_rules = parse_rules(text)
    async with db.session() as session:
        draft = await checkins.start_draft(
            session, member_id=zhang, now=NOW, parsed=ParsedCheckin("study", None, 20, TODAY, False)
        )
        await checkins.confirm_draft(session, draft=draft, rules=new_rules, now=NOW, today=TODAY)
    async with db.session() as session:
        entries = list(await session.scalars(select(CreditEntry).order_by(CreditEntry.id)))
    assert [(e.points, e.rules_version) for e in entries] == [
        (2, RULES.rules_version), (2, new_rules.rules_version)
    ]


async def test_event_checkin_window_once_and_location(db: Database) -> None:
    zhang, wang, staff_id = await _members(db)
    async with db.session() as session:
        staff = await session.get(Member, staff_id)
        event = await events.create_event(
            session, rules=RULES, creator=staff, now=NOW,
            spec=events.EventSpec(
                "政协章程学习会", "meeting", NOW + timedelta(minutes=20), NOW + timedelta(hours=2),
                place="政协大楼", latitude=29.5630, longitude=106.5516, radius_m=200, code="HY01",
            ),
        )
        assert event.code == "HY01" and event.points == 5
    assert events.normalise_code("evt-hy01") == "HY01" and events.normalise_code("HY01") == "HY01"
    assert events.normalise_code("HELP") is None and events.normalise_code("EVT-HELP") == "HELP"
    async with db.session() as session:
        found = await events.get_by_code(session, code="HY01")
        assert found is not None
        event = found
        early = await events.check_in(
            session, rules=RULES, event=event, member_id=zhang, now=NOW - timedelta(minutes=30)
        )
        assert early.outcome is events.CheckinOutcome.TOO_EARLY
        ok = await events.check_in(session, rules=RULES, event=event, member_id=zhang, now=NOW)
        assert ok.outcome is events.CheckinOutcome.RECORDED and ok.award and ok.award.points == 5
        again = await events.check_in(session, rules=RULES, event=event, member_id=zhang, now=NOW)
        assert again.outcome is events.CheckinOutcome.ALREADY
        late = await events.check_in(
            session, rules=RULES, event=event, member_id=wang, now=NOW + timedelta(hours=3)
        )
        assert late.outcome is events.CheckinOutcome.CLOSED
        # 1 km away: recorded and flagged, not refused
        located = await events.record_location(
            session, member_id=zhang, latitude=29.5720, longitude=106.5516, now=NOW + timedelta(minutes=1)
        )
        assert located is not None
        _, attendance = located
        assert attendance.out_of_radius and 950 < (attendance.distance_m or 0) < 1050
        staff = await session.get(Member, staff_id)
        wang_member = await session.get(Member, wang)
        assert staff is not None and wang_member is not None
        marked = await events.mark_attendance(
            session, rules=RULES, event=event, member=wang_member, staff=staff, reason="签到时手机没电",
            now=NOW + timedelta(hours=3),
        )
        assert marked.outcome is events.CheckinOutcome.RECORDED
        assert [m.name for _, m in await events.attendance_list(session, event_id=event.id)] == ["张明", "王芳"]
        log = await audit.entries(session, action="credits.attendance_mark")
        assert log[0].note == "签到时手机没电"


async def test_adjustment_dispute_and_report(db: Database) -> None:
    zhang, wang, staff_id = await _members(db)
    await _study(db, zhang, 45)
    async with db.session() as session:
        staff = await session.get(Member, staff_id)
        member = await session.get(Member, wang)
        assert staff is not None and member is not None
        entry = await ledger.adjust(
            session, rules=RULES, member=member, rule_id="meeting", points=5, reason="补录全体会议", staff=staff,
            now=NOW, day=TODAY,
        )
        assert entry.source_id.startswith("audit:")
        zhang_entry = (await reports.recent_entries(session, member_id=zhang))[0]
        dispute = await ledger.open_dispute(session, entry=zhang_entry, member_id=zhang, now=NOW)
        await ledger.submit_dispute(session, dispute=dispute, reason="实际学习了 60 分钟")
        await ledger.resolve_dispute(
            session, rules=RULES, dispute=dispute, staff=staff, correct=True, now=NOW, day=TODAY
        )
    async with db.session() as session:
        rows = {r.member.name: r for r in await reports.report_rows(
            session, rules=RULES, period=reports.parse_period("2026-11", today=TODAY))}
        assert set(rows) == {"张明", "王芳"}  # staff are not in the report
        assert rows["王芳"].by_type["meeting"] == 5 and rows["王芳"].total == 5
        assert rows["张明"].total == 0 and list(rows["张明"].by_type) == RULES.type_ids()
        stats = await reports.stats(session, rules=RULES, period=reports.year_period(2026), today=TODAY)
        assert stats.members == 2 and {s.name for s in stats.by_sector} == {"经济界", "教育界"}
        assert [r.member.name for r in stats.below] == ["张明", "王芳"]


async def test_standing_band_and_reminders(db: Database) -> None:
    zhang, wang, _ = await _members(db)
    async with db.session() as session:
        await award(session, rules=RULES, member_id=zhang, rule_id="meeting", source_type="event",
                    source_id="1", requested_points=60, activity_date=TODAY, at=NOW)
        top = await reports.standing(session, rules=RULES, member_id=zhang, today=TODAY)
        low = await reports.standing(session, rules=RULES, member_id=wang, today=TODAY)
        assert (top.band, top.total, top.on_pace) == ("top", 60, True)
        assert (low.band, low.total, low.on_pace) == ("attention", 0, False)
        due = await ledger.members_to_nudge(session, rules=RULES, today=TODAY, now=NOW)
        assert [n.member.name for n in due] == ["王芳"]
        await ledger.mark_reminded(session, member_id=wang, now=NOW)
        assert await ledger.members_to_nudge(session, rules=RULES, today=TODAY, now=NOW + timedelta(days=1)) == []
        await ledger.set_reminders(session, member_id=wang, enabled=False)
        assert await ledger.members_to_nudge(session, rules=RULES, today=TODAY, now=NOW + timedelta(days=30)) == []
        assert not await ledger.reminders_enabled(session, member_id=wang)


def test_periods() -> None:
    assert reports.parse_period("2026Q4", today=TODAY) == reports.Period("2026Q4", date(2026, 10, 1), date(2027, 1, 1))
    assert reports.parse_period("2026-2", today=TODAY).label == "2026-02"
    assert reports.parse_period(None, today=TODAY).label == "2026"
