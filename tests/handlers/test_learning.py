"""The learning library as dialogues: browse, read page by page, 学完打卡 and the points the rules give."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.commands.credits import build_report, write_xlsx
from bot.settings import Settings
from handlers import texts
from handlers.context import Services
from store.credits import reports
from store.credits.rules import default_rules
from store.learning import materials as materials_repo
from store.models import CreditEntry, LearningMaterial, MaterialReading, StudyCheckin
from tests.fakes.dialogue import Dialogue
from tests.support.clock import TestClock

MEMBER, OTHER, STAFF = 1001, 1002, 9001


def article_text(articles: int = 12, title: str = "政协委员履职") -> str:
    """A regulation-like text: ``articles`` articles of about 115 characters (12 make three pages)."""
    return "\n".join(
        f"第{i + 1}条 {title}应当坚持学习，" + "认真履行职责，积极建言献策，" * 7 + "。" for i in range(articles)
    )


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[object]]]) -> None:
    await roster(
        {"name": "张明", "telegram_id": MEMBER},
        {"name": "王芳", "telegram_id": OTHER},
        {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
    )


async def add_material(services: Services, *, title: str, minutes: int = 40, topics: tuple[str, ...] = ("理论学习",),
                       body: str | None = None, required: tuple[date, date] | None = None,
                       label: str | None = None) -> LearningMaterial:
    async with services.db.session() as session:
        material = await materials_repo.create_material(
            session, created_by=None, now=services.clock(),
            data=materials_repo.MaterialInput(
                title=title, kind="text", body=body if body is not None else article_text(), estimated_minutes=minutes,
                topics=topics, source_label=title,
                required_from=required[0] if required else None, required_until=required[1] if required else None,
                required_label=label,
            ),
        )
        await session.commit()
        return material


async def _points(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        rows = await reports.report_rows(session, rules=default_rules(), period=reports.year_period(2026))
    return {r.member.name: r.total for r in rows}


async def test_browse_read_three_pages_and_check_in(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    material = await add_material(services, title="政协章程学习读本")
    assert len(materials_repo.pages_of(material)) == 3
    menu = await chat.send(MEMBER, "/learn")
    assert "共 1 份资料" in menu.text
    assert menu.buttons == [texts.BTN_LEARN_CONTINUE, texts.BTN_LEARN_REQUIRED, texts.BTN_LEARN_NEW,
                            texts.BTN_LEARN_TOPICS]
    topics = await chat.tap(MEMBER, texts.BTN_LEARN_TOPICS)
    assert topics.buttons == ["理论学习", texts.BTN_LEARN_BACK]  # only topics that have materials
    listed = await chat.tap(MEMBER, "理论学习")
    assert "政协章程学习读本（约 40 分钟）" in listed.text
    page1 = await chat.tap(MEMBER, "1. 政协章程学习读本")
    assert "《政协章程学习读本》  第 1/3 页" in page1.text and "——摘自《政协章程学习读本》" in page1.text
    assert page1.buttons == [texts.BTN_LEARN_NEXT, texts.BTN_LEARN_BACK]
    assert len(page1.texts[0]) < 800  # fits a phone screen
    clock.advance(minutes=10)
    page2 = await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    assert "第 2/3 页" in page2.text and page2.buttons == [texts.BTN_LEARN_PREV, texts.BTN_LEARN_NEXT,
                                                          texts.BTN_LEARN_BACK]
    back = await chat.tap(MEMBER, texts.BTN_LEARN_PREV)
    assert "第 1/3 页" in back.text
    clock.advance(minutes=5)
    await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    clock.advance(minutes=10)
    page3 = await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    assert "第 3/3 页" in page3.text and texts.BTN_LEARN_DONE in page3.buttons
    assert await _points(services) == {"张明": 0, "王芳": 0}  # nothing before 学完打卡
    done = await chat.tap(MEMBER, texts.BTN_LEARN_DONE)
    assert "学完打卡成功" in done.text and "获得 2 分" in done.text and "用时 25 分钟" in done.text
    assert "今年累计 2 分" in done.text
    assert await _points(services) == {"张明": 2, "王芳": 0}
    again = await chat.tap(MEMBER, texts.BTN_LEARN_DONE)  # the same button a second time
    assert "已于 2026-11-25 学完本资料" in again.text
    assert await _points(services) == {"张明": 2, "王芳": 0}
    async with services.db.session() as session:
        checkin = (await session.scalars(select(StudyCheckin))).one()
        reading = (await session.scalars(select(MaterialReading))).one()
    assert checkin.evidence == "reading" and checkin.material_id == material.id and checkin.minutes == 25
    assert reading.finished_at is not None and reading.read_seconds is not None
    assert 25 * 60 <= reading.read_seconds < 26 * 60 and reading.checkin_id == checkin.id
    reread = await chat.send(MEMBER, "/learn")
    assert "共 1 份资料" in reread.text
    newest = await chat.tap(MEMBER, texts.BTN_LEARN_NEW)
    assert "✓已学完" in newest.text


async def test_finishing_in_ten_seconds_gives_fewer_points(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    await add_material(services, title="协商民主概论")
    await chat.send(MEMBER, "/learn")
    await chat.tap(MEMBER, texts.BTN_LEARN_NEW)
    await chat.tap(MEMBER, "1. 协商民主概论")
    clock.advance(seconds=4)
    await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    clock.advance(seconds=4)
    await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    clock.advance(seconds=2)
    done = await chat.tap(MEMBER, texts.BTN_LEARN_DONE)
    assert "不到预计阅读时间（约 40 分钟）的 0%" in done.text and "本次计 1 分" in done.text
    # The clock runs at real speed between advances: the 10 seconds moved, plus the handlers' own time
    # (a second or more on PostgreSQL under a loaded CI machine).
    took = re.search(r"用时 (\d+) 秒", done.text)
    assert took is not None and 10 <= int(took.group(1)) <= 12, done.text
    assert await _points(services) == {"张明": 1, "王芳": 0}
    async with services.db.session() as session:
        entry = (await session.scalars(select(CreditEntry))).one()
    assert entry.requested_points == 1 and entry.note == "short_read"


async def test_daily_cap_applies_to_reading(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    await add_material(services, title="资料甲", body="第一条 短文。")
    await add_material(services, title="资料乙", body="第一条 另一篇短文。")
    await chat.send(MEMBER, "/learn")
    await chat.tap(MEMBER, texts.BTN_LEARN_NEW)
    one = await chat.tap(MEMBER, "2. 资料甲")
    assert "第 1/1 页" in one.text and one.buttons == [texts.BTN_LEARN_DONE, texts.BTN_LEARN_BACK]
    clock.advance(minutes=30)
    first = await chat.tap(MEMBER, texts.BTN_LEARN_DONE)
    assert "获得 2 分" in first.text
    await chat.send(MEMBER, "/learn")
    await chat.tap(MEMBER, texts.BTN_LEARN_NEW)
    await chat.tap(MEMBER, "1. 资料乙")
    clock.advance(minutes=30)
    second = await chat.tap(MEMBER, texts.BTN_LEARN_DONE)
    assert "获得 1 分" in second.text and "已达当日上限" in second.text
    assert await _points(services) == {"张明": 3, "王芳": 0}


async def test_required_and_continue_where_i_stopped(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    today = date(2026, 11, 25)
    await add_material(services, title="本季度必学：政协章程", required=(today - timedelta(30), today + timedelta(30)),
                       label="本季度必学")
    await add_material(services, title="往期必学", required=(date(2026, 1, 1), date(2026, 3, 31)))
    empty = await chat.send(MEMBER, "/learn")
    nothing = await chat.tap(MEMBER, texts.BTN_LEARN_CONTINUE)
    assert texts.LEARN_LIST_EMPTY["continue"] in nothing.text and "共 2 份资料" in empty.text
    await chat.send(MEMBER, "/learn")
    due = await chat.tap(MEMBER, texts.BTN_LEARN_REQUIRED)
    assert "本季度必学：政协章程" in due.text and "【本季度必学】" in due.text and "往期必学" not in due.text
    await chat.tap(MEMBER, "1. 本季度必学：政协章程")
    clock.advance(minutes=3)
    await chat.tap(MEMBER, texts.BTN_LEARN_NEXT)
    await chat.send(MEMBER, "/learn")
    later = await chat.tap(MEMBER, texts.BTN_LEARN_CONTINUE)
    assert "读到第 2/3 页" in later.text
    resumed = await chat.tap(MEMBER, "1. 本季度必学：政协章程")
    assert "第 2/3 页" in resumed.text
    # another member's list is their own
    await chat.send(OTHER, "/learn")
    theirs = await chat.tap(OTHER, texts.BTN_LEARN_CONTINUE)
    assert texts.LEARN_LIST_EMPTY["continue"] in theirs.text


async def test_forged_and_stale_buttons_change_nothing(
    chat: Dialogue, people: None, services: Services, clock: TestClock
) -> None:
    material = await add_material(services, title="政协章程学习读本")
    for data in (f"learn:page:{material.id}:9", f"learn:page:{material.id}:0", "learn:page:999:1",
                 "learn:topic:99", "learn:page:x:1", "learn:done:999", "learn:nope:1"):
        refused = await chat.press(MEMBER, data)
        assert refused.text == texts.STALE_BUTTON, data
    early = await chat.press(MEMBER, f"learn:done:{material.id}")  # never opened
    assert early.text == texts.STALE_BUTTON
    await chat.press(MEMBER, f"learn:page:{material.id}:1")
    not_yet = await chat.press(MEMBER, f"learn:done:{material.id}")  # opened, last page not reached
    assert not_yet.text == texts.LEARN_NOT_AT_END
    async with services.db.session() as session:
        material_row = await session.get(LearningMaterial, material.id)
        assert material_row is not None
        material_row.active = False
        await session.commit()
    gone = await chat.press(MEMBER, f"learn:page:{material.id}:2")
    assert gone.text == texts.STALE_BUTTON
    assert await _points(services) == {"张明": 0, "王芳": 0}


async def test_empty_library_and_unbound(chat: Dialogue, people: None) -> None:
    empty = await chat.send(MEMBER, "/learn")
    assert empty.text == texts.LEARN_EMPTY
    stranger = await chat.send(5555, "/learn")
    assert texts.UNBOUND in stranger.text


async def test_self_reported_checkin_is_labelled(chat: Dialogue, people: None, services: Services) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    async with services.db.session() as session:
        checkin = (await session.scalars(select(StudyCheckin))).one()
    assert checkin.evidence == "self_report" and checkin.material_id is None


async def test_stats_and_credit_report_show_learning_by_evidence(
    chat: Dialogue, people: None, services: Services, clock: TestClock, settings: Settings, tmp_path: Path
) -> None:
    today = date(2026, 11, 25)
    await add_material(services, title="必学读本", body="第一条 短文。", required=(today, today + timedelta(60)))
    await chat.send(MEMBER, "/learn")
    await chat.tap(MEMBER, texts.BTN_LEARN_REQUIRED)
    await chat.tap(MEMBER, "1. 必学读本")
    clock.advance(minutes=30)
    await chat.tap(MEMBER, texts.BTN_LEARN_DONE)
    await chat.send(OTHER, "今天学习了《政协章程》45分钟")
    await chat.tap(OTHER, texts.BTN_CONFIRM)
    stats = await chat.send(STAFF, "/stats")
    assert "学习资料：1 份；打开 1 次，学完 1 次，阅读时长中位数 30 分钟" in stats.text
    assert "有必学资料未完成的委员：1 人" in stats.text  # 王芳 has not read it
    assert "· 《必学读本》打开 1，学完 1，中位数 30 分钟" in stats.text
    report, detail = await build_report(settings, "2026")
    by_name = {m["name"]: m for m in report["members"]}
    assert by_name["张明"]["by_evidence"]["reading"] == 2 and by_name["张明"]["by_evidence"]["self_report"] == 0
    assert by_name["王芳"]["by_evidence"]["self_report"] == 2 and by_name["王芳"]["by_evidence"]["reading"] == 0
    assert sorted(row[-1] for row in detail) == ["自报", "阅读"]
    path = tmp_path / "report.xlsx"
    write_xlsx(path, report, detail, default_rules())
    book = load_workbook(path)
    head = [c.value for c in book["汇总"][1]]
    assert "依据：阅读" in head and "依据：自报" in head
    assert book["明细"]["O1"].value == "依据"


async def test_staff_sends_a_file_and_publishes_it(
    chat: Dialogue, people: None, services: Services, tmp_path: Path
) -> None:
    source = tmp_path / "读本.md"
    source.write_text("# 政协章程学习读本\n\n" + article_text(), encoding="utf-8")
    member_try = await chat.send_document(MEMBER, source, caption="我的读书笔记")
    assert member_try.text == texts.UNSUPPORTED_MEDIA.format(kind="文件")
    howto = await chat.send_document(STAFF, source, caption=" | 理论学习")
    assert howto.text == texts.LEARN_UPLOAD_HOWTO
    bad_topic = await chat.send_document(STAFF, source, caption="政协章程学习读本 | 炒股")
    assert "主题“炒股”不在可选主题中" in bad_topic.text
    bad_minutes = await chat.send_document(STAFF, source, caption="政协章程学习读本 | 理论学习 | 很久")
    assert bad_minutes.text == texts.LEARN_UPLOAD_BAD_MINUTES
    card = await chat.send_document(STAFF, source, caption="政协章程学习读本 | 理论学习 | 30分钟")
    assert "标题：政协章程学习读本" in card.text and "约 30 分钟" in card.text and "共 3 页" in card.text
    assert card.buttons == [texts.BTN_CONFIRM, texts.BTN_CANCEL]
    assert (await chat.send(MEMBER, "/learn")).text == texts.LEARN_EMPTY  # a draft is not listed
    published = await chat.tap(STAFF, texts.BTN_CONFIRM)
    assert "已发布学习资料《政协章程学习读本》" in published.text
    async with services.db.session() as session:
        [material] = await materials_repo.all_materials(session)
    again = await chat.press(STAFF, f"learn:pub:{material.id}")  # a second tap
    assert again.text == texts.STALE_BUTTON
    assert material.kind == "file" and material.file_name == "读本.md" and material.topics == ["理论学习"]
    menu = await chat.send(MEMBER, "/learn")
    assert "共 1 份资料" in menu.text
    forged = await chat.press(MEMBER, f"learn:pub:{material.id}")
    assert forged.text == texts.STALE_BUTTON
    await chat.send_document(STAFF, source, caption="另一份")
    dropped = await chat.tap(STAFF, texts.BTN_CANCEL)
    assert dropped.text == texts.LEARN_DRAFT_DROPPED
    await chat.send_document(STAFF, source, caption="第三份 | 理论学习")
    typed = await chat.send(STAFF, "确认。")  # a typed label of the card in front of them
    assert "已发布学习资料《第三份》" in typed.text
    await chat.send_document(STAFF, source, caption="第四份")
    cancelled = await chat.send(STAFF, "/cancel")
    assert cancelled.text == texts.LEARN_DRAFT_DROPPED
    async with services.db.session() as session:
        assert [m.title for m in await materials_repo.all_materials(session)] == ["第三份", "政协章程学习读本"]


async def test_stats_show_quiz_accuracy_on_a_materials_questions(
    chat: Dialogue, people: None, services: Services
) -> None:
    from store.quiz import repository as quiz_repo

    now = services.clock()
    async with services.db.session() as session:
        material = await materials_repo.create_material(
            session, created_by=None, now=now, data=materials_repo.MaterialInput(
                title="章程读本", kind="kb", body=article_text(), estimated_minutes=10, kb_source="charter.md"))
        await quiz_repo.seed_approved(session, now=now, specs=[quiz_repo.QuestionSpec(
            kind="choice", stem="题", options=["甲", "乙"], answer=0, source="charter.md", title="章程",
            article="第一条", quote="甲。", key="k1")])
    await chat.send(MEMBER, "/learn")
    await chat.tap(MEMBER, texts.BTN_LEARN_NEW)
    await chat.tap(MEMBER, f"1. {material.title}")  # opened, so /stats lists it
    daily = await chat.send(MEMBER, "/daily")
    assert daily.buttons[:2] == ["A", "B"]
    await chat.tap(MEMBER, "B")  # 乙, the wrong option
    stats = await chat.send(STAFF, "/stats")
    assert "· 《章程读本》打开 1，学完 0，中位数 -，答题正确率 0%（1 次作答）" in stats.text
