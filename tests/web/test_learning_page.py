"""The console's 学习 page: add materials of every kind, take them off, and the figures the bot's /stats shows."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import httpx
from docx import Document

from knowledge.service import KnowledgeBase
from store import audit
from store.credits.rules import default_rules
from store.learning import materials as materials_repo
from store.learning import reading as reading_repo
from store.models import LearningMaterial, Member
from tests.web.conftest import Clock, SignedIn
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
TOPICS = ("理论学习", "经济发展")
DOC = ("# 委员履职手册\n\n## 第一章 总则\n\n第一条 委员每年应当提交至少一件提案。\n\n"
       "第二条 委员因故不能出席会议，应当向办公室请假。\n\n第三条 委员应当参加学习。\n")


def _with_topics(console: Console) -> None:
    console.config = dataclasses.replace(console.config, topics=TOPICS)


async def _materials(console: Console) -> list[LearningMaterial]:
    async with console.db.session() as session:
        return await materials_repo.all_materials(session)


async def test_add_text_link_and_required_then_retire(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member], clock: Clock
) -> None:
    _with_topics(console)
    me = await sign_in(client, people["staff"])
    page = await client.get("/console/learning")
    assert page.status_code == 200 and "还没有学习资料" in page.text and 'value="理论学习"' in page.text
    added = await me.post("/console/learning/add", {
        "kind": "text", "title": "政协章程学习读本", "body": "第一条 正文。\n第二条 正文。", "estimated_minutes": "30",
        "topics": "理论学习", "required_from": "2026-10-01", "required_until": "2026-12-31",
        "required_label": "本季度必学"})
    assert added.status_code == 303 and added.headers["location"].endswith("msg=material_added")
    link = await me.post("/console/learning/add", {
        "kind": "link", "title": "学习强国文章", "link_url": "https://www.xuexi.cn/a.html", "estimated_minutes": "10"})
    assert link.status_code == 303
    [newest, first] = await _materials(console)
    assert first.topics == ["理论学习"] and first.required_label == "本季度必学"
    assert first.required_from == date(2026, 10, 1) and first.created_by == people["staff"].id
    assert newest.kind == "link" and materials_repo.pages_of(newest) == ["https://www.xuexi.cn/a.html"]
    listing = (await client.get("/console/learning")).text
    assert "政协章程学习读本" in listing and "本季度必学 2026-10-01～2026-12-31" in listing
    assert "学习强国文章" in listing and "张明" in listing  # the per-member table
    for bad, message in (({"kind": "text", "title": "", "body": "x", "estimated_minutes": "5"}, "标题不能为空"),
                         ({"kind": "text", "title": "t", "body": "x", "estimated_minutes": "0"}, "预计阅读时间"),
                         ({"kind": "link", "title": "t", "link_url": "ftp://x", "estimated_minutes": "5"}, "链接须以"),
                         ({"kind": "text", "title": "t", "body": "x", "estimated_minutes": "5", "topics": "炒股"},
                          "主题须从"),
                         ({"kind": "text", "title": "t", "body": "x", "estimated_minutes": "5",
                           "required_from": "2026-12-01"}, "必学期间"),
                         ({"kind": "text", "title": "t", "body": "x", "estimated_minutes": "5",
                           "required_from": "昨天", "required_until": "2026-12-01"}, "日期格式"),
                         ({"kind": "kb", "title": "t", "estimated_minutes": "5"}, "请选择一份知识库文档")):
        refused = await me.post("/console/learning/add", bad)
        assert refused.status_code == 400 and message in refused.text, bad
    assert len(await _materials(console)) == 2
    retired = await me.post(f"/console/learning/{first.id}/retire")
    assert retired.status_code == 303
    async with console.db.session() as session:
        assert await materials_repo.get_material(session, material_id=first.id) is None
    assert (await me.post(f"/console/learning/{first.id}/restore")).status_code == 303
    assert (await me.post("/console/learning/9999/retire")).status_code == 404
    assert (await me.post(f"/console/learning/{first.id}/delete")).status_code == 404
    async with console.db.session() as session:
        actions = [e.action for e in await audit.entries(session)]
    assert actions[:4] == ["learning.restore", "learning.retire", "learning.add", "learning.add"]


async def test_add_from_the_knowledge_base_and_from_a_file(
    client: httpx.AsyncClient, console: Console, kb: KnowledgeBase, sign_in: SignIn, people: dict[str, Member],
) -> None:
    console.knowledge = kb
    me = await sign_in(client, people["staff"])
    uploaded = await client.post("/console/kb/upload", data={"csrf": me.csrf},
                                 files=[("files", ("履职手册.md", DOC.encode(), "text/markdown"))])
    assert uploaded.status_code == 200
    assert "委员履职手册（履职手册.md）" in (await client.get("/console/learning")).text
    from_kb = await me.post("/console/learning/add",
                            {"kind": "kb", "kb_source": "履职手册.md", "estimated_minutes": "5"})
    assert from_kb.status_code == 303
    document = Document()
    document.add_paragraph("第一条 委员应当学习宪法。")
    document.add_paragraph("第二条 委员应当学习章程。")
    data = io.BytesIO()
    document.save(data)
    from_file = await client.post(
        "/console/learning/add", data={"csrf": me.csrf, "kind": "file", "title": "学习材料汇编",
                                       "estimated_minutes": "15"},
        files=[("file", ("汇编.docx", data.getvalue(),
                         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))])
    assert from_file.status_code == 303, from_file.text
    fake = await client.post("/console/learning/add", data={"csrf": me.csrf, "kind": "file", "title": "x",
                                                            "estimated_minutes": "5"},
                             files=[("file", ("fake.pdf", b"not a pdf", "application/pdf"))])
    assert fake.status_code == 400 and "无法读取这个文件" in fake.text
    [docx, kb_material] = await _materials(console)
    assert kb_material.kind == "kb" and kb_material.title == "委员履职手册" and kb_material.kb_source == "履职手册.md"
    assert "第二条 委员因故不能出席会议" in kb_material.body and kb_material.source_label == "委员履职手册"
    assert docx.kind == "file" and docx.file_name == "汇编.docx" and "第二条 委员应当学习章程。" in docx.body


async def test_figures_per_material_and_member(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member], clock: Clock
) -> None:
    me = await sign_in(client, people["staff"])
    today = clock().astimezone(console.config.tz).date()
    async with console.db.session() as session:
        material = await materials_repo.create_material(
            session, created_by=None, now=clock(), data=materials_repo.MaterialInput(
                title="必学读本", kind="text", body="第一条 短文。", estimated_minutes=20,
                required_from=today - timedelta(1), required_until=today + timedelta(30)))
        await reading_repo.open_page(session, member_id=people["member"].id, material=material, page=1, now=clock())
    clock.advance(minutes=12)
    async with console.db.session() as session:
        done = await reading_repo.finish(session, member_id=people["member"].id, material=material,
                                         rules=default_rules(), now=clock(), today=today)
    assert done.full and done.award.points == 1
    listing = (await client.get("/console/learning")).text
    assert "<td>必学读本</td>" in listing and "<td>12 分钟</td>" in listing
    row = listing.split("<td>张明</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row and "12 分钟" in row
    unbound = listing.split("<td>陈静</td>", 1)[1].split("</tr>", 1)[0]
    assert "必学读本" in unbound  # required reading missing
    assert me.csrf


async def test_the_page_shows_quiz_accuracy_per_material_and_per_member_topic(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member], clock: Clock
) -> None:
    from store.quiz import repository as quiz_repo

    now = console.clock()
    async with console.db.session() as session:
        await materials_repo.create_material(session, created_by=None, now=now, data=materials_repo.MaterialInput(
            title="章程读本", kind="kb", body="第一条 短文。", estimated_minutes=10, topics=("理论学习",),
            kb_source="charter.md"))
        await quiz_repo.seed_approved(session, now=now, specs=[
            quiz_repo.QuestionSpec(kind="choice", stem=f"题{i}", options=["甲", "乙"], answer=0, source="charter.md",
                                   title="章程", article=f"第{i}条", quote="甲。", key=f"k{i}") for i in (1, 2)])
        questions = await quiz_repo.list_questions(session, status="approved")
    for question, choice in zip(sorted(q.id for q in questions), (0, 1), strict=True):
        async with console.db.session() as session:
            await quiz_repo.answer(session, member=people["member"], question_id=question, choice=choice, via="quiz",
                                   now=now, rules=default_rules())
    await sign_in(client, people["staff"])
    page = (await client.get("/console/learning")).text
    assert "答题正确率" in page and "50%（1/2）" in page  # the material's questions
    assert "理论学习 50%（1/2）" in page  # the member's answers on the material's topic
