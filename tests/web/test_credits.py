"""积分 in the console: the report by period, the xlsx export, disputes, adjustments, events and manual marks —
each through the store functions the bot uses, with what the member is told queued for the bot to send."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import httpx
from openpyxl import load_workbook

from handlers import texts as bot_texts
from store import audit, member_notices
from store.credits import events as events_repo
from store.credits import ledger, reports
from store.credits.awards import award
from store.credits.export import DETAIL_HEAD, DETAIL_SHEET, SUMMARY_SHEET
from store.credits.rules import default_rules
from store.models import CreditDispute, Member
from tests.web.conftest import SignedIn
from web import texts
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
RULES = default_rules()


async def _entry(console: Console, member: Member, *, rule_id: str = "meeting", points: int = 3,
                 day: date = date(2026, 11, 20), source_id: str = "1") -> int:
    async with console.db.session() as session:
        result = await award(session, rules=RULES, member_id=member.id, rule_id=rule_id, source_type="event",
                             source_id=source_id, requested_points=points, activity_date=day, at=console.clock(),
                             title="全体委员会议", apply_caps=False)
        return result.entry.id


async def _dispute(console: Console, member: Member, entry_id: int, reason: str = "我请假了，没有参加") -> int:
    async with console.db.session() as session:
        entry = await reports.get_entry(session, entry_id=entry_id)
        assert entry is not None
        dispute = await ledger.open_dispute(session, entry=entry, member_id=member.id, now=console.clock())
        await ledger.submit_dispute(session, dispute=dispute, reason=reason)
        return dispute.id


async def _total(console: Console, member: Member, year: int = 2026) -> int:
    async with console.db.session() as session:
        return await reports.year_total(session, member_id=member.id, year=year)


async def test_report_by_year_quarter_and_month(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                people: dict[str, Member]) -> None:
    await _entry(console, people["member"], points=3, day=date(2026, 11, 20))
    await _entry(console, people["member"], rule_id="study", points=2, day=date(2026, 2, 3), source_id="2")
    await sign_in(client, people["staff"])
    year = await client.get("/console/credits")  # this year by default
    assert year.status_code == 200
    assert 'data-n="total">5<' in year.text and 'data-n="members">2<' in year.text  # 张明 and 陈静 (role member)
    assert 'data-label="会议" data-value="3"' in year.text and 'data-label="自主学习" data-value="2"' in year.text
    assert 'data-label="2026-02" data-value="2"' in year.text and 'data-label="2026-11" data-value="3"' in year.text
    quarter = await client.get("/console/credits", params={"period": "2026Q4"})
    assert 'data-n="total">3<' in quarter.text and 'data-label="2026-02"' not in quarter.text
    assert quarter.text.count('class="bar"') == len(RULES.type_ids()) + 3  # every type, three months
    month = await client.get("/console/credits", params={"period": "2026-02"})
    assert 'data-n="total">2<' in month.text and 'data-label="2026-02" data-value="2"' in month.text
    bad = await client.get("/console/credits", params={"period": "明年"})
    assert bad.status_code == 400 and texts.PERIOD_BAD in bad.text


async def test_xlsx_export_is_the_cli_workbook(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                               people: dict[str, Member]) -> None:
    await _entry(console, people["member"], points=3)
    await sign_in(client, people["staff"])
    response = await client.get("/console/credits/export.xlsx", params={"period": "2026Q4"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [SUMMARY_SHEET, DETAIL_SHEET]
    summary = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
    assert summary[1][0] == "张明" and summary[1][4] == 3
    detail = list(book[DETAIL_SHEET].iter_rows(values_only=True))
    assert list(detail[0]) == DETAIL_HEAD and detail[1][1] == "张明" and detail[1][5] == 3
    assert (await client.get("/console/credits/export.xlsx", params={"period": "x"})).status_code == 400


async def test_dispute_accepted_reverses_the_entry_and_tells_the_member(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member]
) -> None:
    entry_id = await _entry(console, people["member"])
    dispute_id = await _dispute(console, people["member"], entry_id)
    staff = await sign_in(client, people["staff"])
    queue = await client.get("/console/credits/disputes")
    assert "我请假了，没有参加" in queue.text and f"申诉 #{dispute_id}" in queue.text
    missing = await staff.post(f"/console/credits/disputes/{dispute_id}/accept", {"reason": "  "})
    assert missing.status_code == 400 and texts.REASON_REQUIRED in missing.text
    assert await _total(console, people["member"]) == 3
    done = await staff.post(f"/console/credits/disputes/{dispute_id}/accept", {"reason": "核实为请假，撤销"})
    assert done.status_code == 303 and "msg=dispute_accepted" in done.headers["location"]
    assert await _total(console, people["member"]) == 0
    async with console.db.session() as session:
        dispute = await session.get(CreditDispute, dispute_id)
        assert dispute is not None and dispute.status == "corrected" and dispute.resolution == "核实为请假，撤销"
        assert dispute.resolved_by == people["staff"].id
        reversal = await ledger.reversal_of(session, entry_id=entry_id)
        assert reversal is not None and reversal.points == -3
        [notice] = await member_notices.for_member(session, member_id=people["member"].id)
        trail = await audit.entries(session, action="credits.")
    expected = bot_texts.DISPUTE_RESOLVED_MEMBER.format(id=dispute_id, result=bot_texts.DISPUTE_RESULTS["corrected"])
    assert notice.text == expected + "\n处理说明：核实为请假，撤销"
    assert [e.action for e in trail] == ["credits.dispute_resolve", "credits.adjust"]
    assert trail[0].actor == "李干事" and trail[0].note == "核实为请假，撤销"
    again = await staff.post(f"/console/credits/disputes/{dispute_id}/reject", {"reason": "再按一次"})
    assert again.status_code == 303 and "msg=dispute_gone" in again.headers["location"]
    listed = await client.get("/console/credits/disputes")
    assert "没有待处理的申诉" in listed.text and "已采纳" in listed.text


async def test_dispute_rejected_keeps_the_entry(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                people: dict[str, Member]) -> None:
    entry_id = await _entry(console, people["member"])
    dispute_id = await _dispute(console, people["member"], entry_id)
    staff = await sign_in(client, people["staff"])
    done = await staff.post(f"/console/credits/disputes/{dispute_id}/reject", {"reason": "签到记录与会议名单一致"})
    assert done.status_code == 303 and "msg=dispute_rejected" in done.headers["location"]
    assert await _total(console, people["member"]) == 3
    async with console.db.session() as session:
        [notice] = await member_notices.for_member(session, member_id=people["member"].id)
        assert await ledger.reversal_of(session, entry_id=entry_id) is None
    assert notice.text == "您的积分申诉 #1 已处理：维持原记录。\n处理说明：签到记录与会议名单一致"
    assert (await staff.post("/console/credits/disputes/999/accept", {"reason": "x"})).status_code == 404
    assert (await staff.post(f"/console/credits/disputes/{dispute_id}/delete", {"reason": "x"})).status_code == 404


async def test_two_staff_deciding_at_once_decide_once(console: Console, people: dict[str, Member]) -> None:
    """Both loaded the dispute while it was open; the second decision finds it decided and records nothing."""
    dispute_id = await _dispute(console, people["member"], await _entry(console, people["member"]))
    async with console.db.session() as first, console.db.session() as second:
        mine, theirs = (await first.get(CreditDispute, dispute_id)), (await second.get(CreditDispute, dispute_id))
        assert mine is not None and theirs is not None and theirs.status == "open"
        await ledger.resolve_dispute(first, rules=RULES, dispute=mine, staff=people["staff"], correct=False,
                                     now=console.clock(), day=date(2026, 11, 30), note="维持")
        await first.commit()
        try:
            await ledger.resolve_dispute(second, rules=RULES, dispute=theirs, staff=people["admin"], correct=True,
                                         now=console.clock(), day=date(2026, 11, 30), note="撤销")
        except ledger.DisputeError as exc:
            assert exc.code == "gone"
        else:
            raise AssertionError("a decided dispute was decided again")
    async with console.db.session() as session:
        decided = await session.get(CreditDispute, dispute_id)
        assert decided is not None and decided.status == "upheld" and decided.resolution == "维持"
        assert len(await audit.entries(session, action="credits.dispute_resolve")) == 1
    assert await _total(console, people["member"]) == 3


def test_member_texts_are_the_bots() -> None:
    """The console tells the member in the bot's own words (copied: the console may not import handlers)."""
    assert texts.DISPUTE_RESOLVED_MEMBER == bot_texts.DISPUTE_RESOLVED_MEMBER
    assert texts.DISPUTE_RESULTS == bot_texts.DISPUTE_RESULTS


async def test_adjustment_needs_a_reason_and_appends_one_entry(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member]
) -> None:
    staff = await sign_in(client, people["staff"])
    member = str(people["member"].id)
    form = {"member_id": member, "rule_id": "activity", "points": "5", "reason": "参加界别调研（补录）"}
    cases = ((dict(form, reason=" "), texts.REASON_REQUIRED), (dict(form, points="0"), texts.POINTS_BAD),
             (dict(form, points="abc"), texts.POINTS_BAD), (dict(form, points="5000"), texts.POINTS_BAD),
             (dict(form, rule_id="bogus"), texts.TYPE_BAD), (dict(form, member_id="99999"), texts.MEMBER_BAD),
             (dict(form, points="+-5"), texts.POINTS_BAD), (dict(form, points="٣"), texts.POINTS_BAD),
             (dict(form, member_id="²"), texts.MEMBER_BAD), (dict(form, member_id="-1"), texts.MEMBER_BAD),
             (dict(form, reason="长" * 501), texts.REASON_TOO_LONG))
    for bad, message in cases:
        refused = await staff.post("/console/credits/adjust", bad)
        assert refused.status_code == 400 and message in refused.text, bad
    assert await _total(console, people["member"]) == 0
    done = await staff.post("/console/credits/adjust", form)
    assert done.status_code == 303 and "msg=adjusted" in done.headers["location"]
    minus = await staff.post("/console/credits/adjust", dict(form, points="-2", reason="重复记录扣回"))
    assert minus.status_code == 303
    assert await _total(console, people["member"]) == 3
    page = await client.get("/console/credits/adjust")
    assert "参加界别调研（补录）" in page.text and "重复记录扣回" in page.text and "-2" in page.text
    async with console.db.session() as session:
        notices = await member_notices.for_member(session, member_id=people["member"].id)
        trail = await audit.entries(session, action="credits.adjust")
    assert [n.text for n in notices] == [
        "您的履职积分有一笔人工调整：调研视察 +5 分（记录 #1）。\n原因：参加界别调研（补录）",
        "您的履职积分有一笔人工调整：调研视察 -2 分（记录 #2）。\n原因：重复记录扣回",
    ]
    assert [e.actor for e in trail] == ["李干事", "李干事"] and trail[1].note == "参加界别调研（补录）"


async def test_event_attendance_and_manual_mark_once(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                     people: dict[str, Member]) -> None:
    now = console.clock()
    async with console.db.session() as session:
        event = await events_repo.create_event(
            session, rules=RULES, creator=people["staff"], now=now,
            spec=events_repo.EventSpec(title="十一月全体委员学习会", rule_id="meeting",
                                       starts_at=now - timedelta(days=1),
                                       ends_at=now - timedelta(days=1) + timedelta(hours=2)))
    staff = await sign_in(client, people["staff"])
    listing = await client.get("/console/credits/events")
    assert "十一月全体委员学习会" in listing.text
    page = await client.get(f"/console/credits/events/{event.id}")
    assert "还没有人签到" in page.text and "张明" in page.text
    refused = await staff.post(f"/console/credits/events/{event.id}/mark", {"member_id": str(people["member"].id)})
    assert refused.status_code == 400 and texts.REASON_REQUIRED in refused.text
    for bad in ("²", "abc", "99999", str(people["unbound"].id + 1000)):
        refused = await staff.post(f"/console/credits/events/{event.id}/mark", {"member_id": bad, "reason": "x"})
        assert refused.status_code == 400 and texts.MEMBER_BAD in refused.text, bad
    marked = await staff.post(f"/console/credits/events/{event.id}/mark",
                              {"member_id": str(people["member"].id), "reason": "现场签到表已签"})
    assert marked.status_code == 303 and "msg=marked" in marked.headers["location"]
    assert await _total(console, people["member"]) == event.points
    again = await staff.post(f"/console/credits/events/{event.id}/mark",
                             {"member_id": str(people["member"].id), "reason": "再补一次"})
    assert again.status_code == 303 and "msg=mark_already" in again.headers["location"]
    assert await _total(console, people["member"]) == event.points  # once per event, as in Telegram
    page = await client.get(f"/console/credits/events/{event.id}")
    assert "补签" in page.text and "现场签到表已签" in page.text
    async with console.db.session() as session:
        trail = await audit.entries(session, action="credits.attendance_mark")
    assert len(trail) == 1 and trail[0].actor == "李干事" and trail[0].note == "现场签到表已签"
    assert (await client.get("/console/credits/events/999")).status_code == 404
