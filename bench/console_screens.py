"""Screenshots of every console page, from seeded demo data, at a phone's and a desk's size.

    python -m bench.console_screens [--out bench/out/console]

Seeds a throw-away data dir (the demo roster, questions of every outcome, FAQ entries, check-ins,
micro-proposals with deadlines, credit entries over the year with an open dispute, an adjustment and an
event with check-ins, broadcasts awaiting approval and part-delivered, learning materials, a knowledge
base on the hashed embedder), serves the console on a free port of 127.0.0.1, signs in with a one-time
link and writes ``<page>-<width>x<height>.png`` for each page at 390×844 and 1440×900 with Debian's headless
Chromium. Needs no network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.console_wiring import build_console, embedded_server, link_for, uvicorn_config
from bot.demo import DEMO_QUIZ
from bot.settings import Settings
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR
from store import app_state, audit
from store import members as members_repo
from store import questions as questions_repo
from store.broadcasts import approval, outbox
from store.broadcasts.states import Outcome
from store.credits import events as events_repo
from store.credits import ledger
from store.credits.awards import award
from store.credits.rules import default_rules
from store.db import Database
from store.learning import materials as materials_repo
from store.models import MaterialReading, Member, Proposal, ProposalEvent, ProposalPhoto, StudyCheckin
from store.preferences import PrefsDefaults
from store.quiz import repository as quiz_repo
from store.roster import parse_roster
from store.types import utcnow
from web.app import create_app

VIEWPORTS = ((390, 844), (1440, 900))
ROSTER = """name,sector,district,groups,role,telegram_id,phone
张明,经济界,城关区,经济委员会;第一联络组,member,1001,13800000001
王芳,教育界,七里河区,教科卫体委员会;第二联络组,member,1002,13800000002
刘洋,农业界,榆中县,农业和农村委员会,member,1003,13800000004
赵敏,医药卫生界,安宁区,教科卫体委员会,member,1004,13800000005
李干事,,城关区,委员会办公室,staff,9001,13800000009
钱主任,,城关区,委员会办公室,admin,9002,13800000010
孙把关,,城关区,提案委员会,reviewer,9003,13800000011
陈静,医药卫生界,安宁区,教科卫体委员会,member,,13800000003
周强,特邀人士,西固区,第三联络组,member,,13800000006
"""
QUESTIONS = [
    ("学习打卡怎么算积分？", True, "answer", None),
    ("提案提交后多久能收到答复？", True, "answer", "useless"),
    ("委员证丢了怎么补办？", False, "uncertain", None),
    ("委员证丢了怎么补办", False, "uncertain", None),
    ("明年全会什么时候开？", False, "refused", None),
    ("<script>alert('不会执行')</script>能显示吗", False, "refused", None),
    ("政协委员可以请假吗", True, "faq", None),
]
BAD_ROSTER = "姓名,界别,角色\n吴委员,教育界,委员\n,农业界,委员\n郑委员,经济界,主席\n"
PAGES = [
    ("signin", "/console/signin"),
    ("overview", "/console/"),
    ("kb", "/console/kb"),
    ("kb-test", "/console/kb/test?q=学习打卡怎么算积分"),
    ("qa", "/console/qa"),
    ("questions", "/console/qa/questions"),
    ("members", "/console/members"),
    ("learning", "/console/learning"),
    ("learning-push", "/console/learning_push"),
    ("quiz", "/console/quiz"),
    ("audit", "/console/audit"),
    ("proposals", "/console/lists/proposals"),
    ("proposal-board", "/console/proposals"),
    ("proposal-board-red", "/console/proposals?warning=red"),
    ("proposal", "/console/proposals/1"),
    ("credits", "/console/credits"),
    ("credits-quarter", "/console/credits?period={year}Q4"),
    ("credits-month", "/console/credits?period={year}-11"),
    ("credit-disputes", "/console/credits/disputes"),
    ("credit-adjust", "/console/credits/adjust"),
    ("credit-events", "/console/credits/events"),
    ("broadcasts", "/console/broadcasts"),
    ("broadcast-new", "/console/broadcasts/new"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(db: Database, kb: KnowledgeBase) -> dict[str, int]:
    now = utcnow()
    await asyncio.to_thread(kb.ingest, [STARTER_DIR])
    async with db.session() as session:
        report = await members_repo.import_roster(session, rows=parse_roster(ROSTER.encode()).rows, now=now)
        people = {m.name: m for m in report.created}
        staff = people["李干事"]
        await audit.record(session, actor=staff, action="members.import", at=now, detail={"created": len(people)})
        faq = await questions_repo.add_faq(session, question="政协委员可以请假吗",
                                           answer="可以。因故不能参加会议或活动的，应当向委员会办公室书面请假。",
                                           at=now, created_by=staff.id)
        await questions_repo.add_faq(session, question="委员履职积分在哪里查", answer="在机器人中发送 /credits 查看。",
                                     at=now, created_by=staff.id)
        await app_state.bump(session, name=app_state.FAQ_REVISION, now=now)
        await audit.record(session, actor=staff, action="faq.save", at=now, target=f"faq:{faq.id}")
        for n, (question, answered, mode, feedback) in enumerate(QUESTIONS):
            asker = people[("张明", "王芳", "刘洋", "赵敏")[n % 4]]
            entry = await questions_repo.log_question(
                session, member_id=asker.id, chat_id=asker.telegram_id or 0, question=question, answered=answered,
                answer="", sources=[], at=now - timedelta(hours=n), mode=mode,
                faq_id=faq.id if mode == "faq" else None)
            if feedback:
                await questions_repo.set_feedback(session, question_id=entry.id, member_id=asker.id, feedback=feedback)
        today = now.date()
        for n, name in enumerate(("张明", "王芳", "刘洋")):
            session.add(StudyCheckin(member_id=people[name].id, kind="study", title="《政协章程》", minutes=30 + 15 * n,
                                     study_date=today, created_at=now - timedelta(hours=n)))
        items = [("老城区夜间公交线路不足", "assigned", today - timedelta(days=2), "市交通运输局"),
                 ("社区养老服务站人手紧张", "assigned", today + timedelta(days=1), "市民政局"),
                 ("中小学课后服务收费不透明", "accepted", today + timedelta(days=10), None),
                 ("黄河沿岸步道照明不够", "submitted", None, None)]
        for n, (title, status, deadline, unit) in enumerate(items, start=1):
            item = Proposal(number=f"WJY-{today.year}-{n:04d}", member_id=people["张明"].id, title=title,
                            content=title + "，建议有关部门尽快研究解决。", category="社会民生", status=status,
                            deadline=deadline if isinstance(deadline, date) else None, unit=unit,
                            place="解放路公交站" if n == 1 else None, latitude=36.0611 if n == 1 else None,
                            longitude=103.8343 if n == 1 else None,
                            created_at=now - timedelta(days=n), updated_at=now)
            item.events = [ProposalEvent(action="submit", status="submitted", actor="张明", at=now - timedelta(days=n))]
            if status != "submitted":
                item.events.append(ProposalEvent(action="accept", status="accepted", actor="李干事",
                                                 at=now - timedelta(days=n, hours=-2)))
            if status == "assigned":
                item.events.append(ProposalEvent(action="assign", status="assigned", actor="李干事",
                                                 at=now - timedelta(days=n, hours=-3), data={"unit": unit}))
            if n == 1:  # a photo the bot has not downloaded yet: shown as unavailable
                item.photos = [ProposalPhoto(position=0, file_id="AgACAgUAAxkBAAIB", file_unique_id="AQADx")]
            session.add(item)
        for n, source in enumerate(("学习打卡与履职积分.md", "提案和微建议指南.md")):
            chunks = await asyncio.to_thread(kb.source_chunks, source)
            material = await materials_repo.create_material(session, created_by=staff.id, now=now - timedelta(days=n),
                                                            data=materials_repo.MaterialInput(
                title=chunks[0].title, kind="kb", kb_source=source, estimated_minutes=20,
                body=materials_repo.join_chunks([c.text for c in chunks]), topics=("理论学习",),
                required_from=today - timedelta(days=30) if n == 0 else None,
                required_until=today + timedelta(days=30) if n == 0 else None,
                required_label="本季度必学" if n == 0 else None))
            for reader in ("张明", "王芳")[: 2 - n]:
                session.add(MaterialReading(member_id=people[reader].id, material_id=material.id,
                                            opened_at=now - timedelta(minutes=40), last_page=1, last_read_at=now,
                                            finished_at=now, read_seconds=1500 + 300 * n))
        event_id = await seed_credits(session, people, now)
        # 通知: one awaiting a reviewer, one approved and part-delivered (the progress page)
        tz, defaults = ZoneInfo("Asia/Shanghai"), PrefsDefaults(quiet_start=time(0), quiet_end=time(0))
        waiting = await outbox.create(session, new=outbox.NewBroadcast(
            text="各位委员：本周五下午三点在二楼会议室召开经济界联组会议，请准时参加。",
            audience=[{"sector": ["经济界"]}], receipt=True, created_by=staff.id, created_via="console"),
            now=now, tz=tz, defaults=defaults, awaiting=True)
        running = await outbox.create(session, new=outbox.NewBroadcast(
            text="【学习提醒】请各位委员于本月底前完成《政协章程》专题学习并打卡。", audience=[{}],
            created_by=staff.id, created_via="console"), now=now - timedelta(minutes=5), tz=tz, defaults=defaults,
            awaiting=True)
        await approval.approve(session, broadcast_id=running.id, reviewer=people["孙把关"], now=now, tz=tz,
                               defaults=defaults)
        claimed = await outbox.claim(session, now=now, token="bench", limit=3, broadcast_id=running.id)
        await outbox.record(session, results=[outbox.Result(c, Outcome.SENT, message_id=1) for c in claimed], now=now)
        demo_quiz = json.loads(DEMO_QUIZ.read_text(encoding="utf-8"))
        await quiz_repo.save_generated(session, now=now,
                                       specs=[quiz_repo.QuestionSpec(**item) for item in demo_quiz])
    return {"unbound": people["陈静"].id, "event": event_id, "awaiting": waiting.id, "running": running.id}


async def seed_credits(session: AsyncSession, people: dict[str, Member], now: datetime) -> int:
    """Ledger entries in several months and types, an open dispute, an adjustment, an event with check-ins."""
    rules = default_rules()
    year = now.year
    staff = people["李干事"]
    disputed = None
    for n, (name, rule_id, points, month) in enumerate((
        ("张明", "study", 2, 2), ("张明", "meeting", 3, 5), ("王芳", "training", 4, 9), ("王芳", "note", 1, 10),
        ("刘洋", "reading", 2, 11), ("赵敏", "meeting", 3, 11), ("张明", "activity", 3, 11),
    ), start=1):
        result = await award(session, rules=rules, member_id=people[name].id, rule_id=rule_id, source_type="event",
                             source_id=f"bench-{n}", requested_points=points, activity_date=date(year, month, 10),
                             at=now, title="全体委员会议" if rule_id == "meeting" else None, apply_caps=False)
        if n == 2:
            disputed = result.entry
    assert disputed is not None
    dispute = await ledger.open_dispute(session, entry=disputed, member_id=people["张明"].id, now=now)
    await ledger.submit_dispute(session, dispute=dispute, reason="当天我请假了，没有参加这次会议")
    await ledger.adjust(session, rules=rules, member=people["周强"], rule_id="activity", points=2,
                        reason="参加界别调研（纸质签到补录）", staff=staff, now=now, day=now.date())
    event = await events_repo.create_event(
        session, rules=rules, creator=staff, now=now,
        spec=events_repo.EventSpec(title="十一月全体委员学习会", rule_id="meeting", starts_at=now - timedelta(days=1),
                                   ends_at=now - timedelta(days=1) + timedelta(hours=2), place="政协会议室"))
    await events_repo.check_in(session, rules=rules, event=event, member_id=people["王芳"].id,
                               now=now - timedelta(days=1), method="link")
    await events_repo.mark_attendance(session, rules=rules, event=event, member=people["刘洋"], staff=staff,
                                      reason="现场签到表已签，手机没电", now=now)
    return event.id


async def shoot(out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    from tests.support.browser import CHROMIUM_ARGS, chromium_path

    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-screens-") as tmp:
        tmp_dir = Path(tmp)
        data_dir = tmp_dir / "data"
        port = free_port()
        settings = Settings(_env_file=None, data_dir=data_dir, embedder="hash", starter_kb=False,
                            console_url=f"http://127.0.0.1:{port}", bot_username="cppcc_demo_bot")
        data_dir.mkdir(parents=True)
        db = Database(settings.resolved_database_url)
        await db.upgrade()
        kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=settings.chroma_dir, embedder="hash",
                                                thresholds=Thresholds(min_dense=0.1)), embedder=HashEmbedder())
        ids = await seed(db, kb)
        server = embedded_server(uvicorn_config(create_app(build_console(settings, db, kb)), "127.0.0.1", port))
        task = asyncio.create_task(server.serve())
        written: list[Path] = []
        try:
            while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
                await asyncio.sleep(0.05)
            base = f"http://127.0.0.1:{port}"
            source = kb.list_sources()[0].source
            year = utcnow().year
            pages = [*((name, path.format(year=year)) for name, path in PAGES),
                     ("document", f"/console/kb/doc?source={source}"),
                     ("member", f"/console/members/{ids['unbound']}"),
                     ("credit-event", f"/console/credits/events/{ids['event']}"),
                     ("broadcast-awaiting", f"/console/broadcasts/{ids['awaiting']}"),
                     ("broadcast-progress", f"/console/broadcasts/{ids['running']}")]
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                for width, height in VIEWPORTS:
                    context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                                        device_scale_factor=1)
                    page = await context.new_page()
                    await page.goto(base + "/console/signin")
                    await page.screenshot(path=str(out / f"signin-{width}x{height}.png"))
                    await page.goto(await link_for(settings, db, 9001, via="bench"))
                    await page.screenshot(path=str(out / f"login-{width}x{height}.png"))
                    await page.get_by_role("button", name="登录").click()
                    await page.wait_for_url("**/console/?msg=signed_in")
                    for name, path in pages[1:]:
                        await page.goto(base + path)
                        target = out / f"{name}-{width}x{height}.png"
                        await page.screenshot(path=str(target), full_page=True)
                        written.append(target)
                    await page.goto(base + "/console/members")
                    roster_file = tmp_dir / "名单.csv"
                    roster_file.write_text(BAD_ROSTER, encoding="utf-8")
                    await page.locator("input[name=file]").set_input_files(str(roster_file))
                    await page.get_by_role("button", name="检查名单").click()
                    target = out / f"import-errors-{width}x{height}.png"
                    await page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                    await context.close()
                await browser.close()
        finally:
            server.should_exit = True
            await task
            await db.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "console")
    args = parser.parse_args()
    written = asyncio.run(shoot(args.out))
    for path in written:
        print(path)
    print(f"{len(written)} screenshots in {args.out}")


if __name__ == "__main__":
    main()
