"""Member repository on SQLite and PostgreSQL: import is idempotent, binding is once per code."""

from __future__ import annotations

from datetime import UTC, datetime

from store import audit
from store import members as repo
from store.db import Database
from store.roster import parse_roster

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
ROSTER = (
    "name,sector,district,groups,role,telegram_id,phone\n"
    "张明,经济界,渝中区,提案委员会;第一联络组,member,,13800000001\n"
    "王芳,教育界,江北区,,member,,\n"
    "李干事,,,,staff,9001,\n"
).encode()


async def _import(db: Database, data: bytes) -> repo.ImportReport:
    parsed = parse_roster(data)
    assert parsed.ok, parsed.errors
    async with db.session() as session:
        return await repo.import_roster(session, rows=parsed.rows, now=NOW)


async def test_import_creates_members_with_codes(db: Database) -> None:
    report = await _import(db, ROSTER)
    assert len(report.created) == 3 and not report.updated
    assert sorted(m.name for m in report.awaiting_binding) == ["张明", "王芳"]
    async with db.session() as session:
        members = await repo.list_members(session)
        by_name = {m.name: m for m in members}
        assert by_name["张明"].group_names == ["提案委员会", "第一联络组"]
        assert by_name["李干事"].telegram_id == 9001 and by_name["李干事"].invite_code is None
        assert by_name["李干事"].is_staff and not by_name["张明"].is_staff
        assert repo.looks_like_code(by_name["张明"].invite_code or "")


async def test_reimport_updates_and_never_duplicates(db: Database) -> None:
    await _import(db, ROSTER)
    async with db.session() as session:
        code_before = {m.name: m.invite_code for m in await repo.list_members(session)}
    changed = ROSTER.replace("提案委员会;第一联络组".encode(), "经济委员会".encode()).replace(
        "李干事,,,,staff,9001,".encode(), "李干事,机关,,,admin,9001,".encode())
    report = await _import(db, changed)
    assert not report.created and len(report.updated) == 3
    async with db.session() as session:
        members = await repo.list_members(session)
        assert await repo.count(session) == 3
        by_name = {m.name: m for m in members}
        assert by_name["张明"].group_names == ["经济委员会"]
        assert by_name["李干事"].role == "admin" and by_name["李干事"].sector == "机关"
        assert by_name["张明"].invite_code == code_before["张明"]  # codes are stable across imports


async def test_binding_rules(db: Database) -> None:
    await _import(db, ROSTER)
    async with db.session() as session:
        zhang = next(m for m in await repo.list_members(session) if m.name == "张明")
        code = zhang.invite_code or ""
    async with db.session() as session:
        wrong = await repo.bind(session, code="WRONG123", telegram_id=1, now=NOW)
        assert wrong.outcome is repo.BindOutcome.UNKNOWN_CODE
        ok = await repo.bind(session, code=code.lower(), telegram_id=1001, now=NOW)
        assert ok.outcome is repo.BindOutcome.BOUND and ok.member is not None and ok.member.name == "张明"
    async with db.session() as session:
        # The same code cannot bind a second account, and a bound account cannot bind again.
        assert (await repo.bind(session, code=code, telegram_id=2002, now=NOW)).outcome is repo.BindOutcome.CODE_USED
        again = await repo.bind(session, code=code, telegram_id=1001, now=NOW)
        assert again.outcome is repo.BindOutcome.ALREADY_BOUND
        bound = await repo.get_by_telegram_id(session, telegram_id=1001)
        assert bound is not None and bound.bound_at == NOW


async def test_inactive_member_cannot_bind(db: Database) -> None:
    await _import(db, ROSTER)
    async with db.session() as session:
        wang = next(m for m in await repo.list_members(session) if m.name == "王芳")
        wang.active = False
        code = wang.invite_code or ""
    async with db.session() as session:
        assert (await repo.bind(session, code=code, telegram_id=7, now=NOW)).outcome is repo.BindOutcome.INACTIVE


async def test_segments(db: Database) -> None:
    roster = ROSTER.replace(
        "王芳,教育界,江北区,,member,,".encode(), "王芳,教育界,江北区,提案委员会,member,1002,".encode()
    )
    await _import(db, roster)
    async with db.session() as session:
        # Only bound members are reachable.
        assert [m.name for m in await repo.find_by_segment(session, kind="all", value="")] == ["王芳", "李干事"]
        assert [m.name for m in await repo.find_by_segment(session, kind="group", value="提案委员会")] == ["王芳"]
        assert [m.name for m in await repo.find_by_segment(session, kind="sector", value="教育界")] == ["王芳"]
        assert await repo.find_by_segment(session, kind="district", value="渝中区") == []


async def test_audit_log_records_actor(db: Database) -> None:
    await _import(db, ROSTER)
    async with db.session() as session:
        staff = await repo.get_by_telegram_id(session, telegram_id=9001)
        await audit.record(session, actor=staff, action="test.action", at=NOW, target="member:1", detail={"x": 1})
    async with db.session() as session:
        (entry,) = await audit.entries(session, action="test.action")
        assert entry.actor == "李干事" and entry.detail == {"x": 1} and entry.at == NOW
