"""Console pages over a real database: overview, FAQ and gaps, roster import, members, audit, knowledge base."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import httpx
from openpyxl import Workbook

from knowledge.service import KnowledgeBase
from store import app_state, audit
from store import members as members_repo
from store import questions as questions_repo
from store.models import Member
from tests.web.conftest import Clock, SignedIn
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
DOC = ("# 委员履职手册\n\n## 第一章 总则\n\n第一条 委员每年应当提交至少一件提案。\n\n"
       "第二条 委员因故不能出席会议，应当向办公室请假。\n\n第三条 委员应当参加学习。\n")


async def _ask(console: Console, member: Member, question: str, *, answered: bool, mode: str,
               feedback: str | None = None) -> None:
    async with console.db.session() as session:
        entry = await questions_repo.log_question(session, member_id=member.id, chat_id=member.telegram_id or 0,
                                                  question=question, answered=answered, answer="", sources=[],
                                                  at=console.clock(), mode=mode)
        if feedback:
            await questions_repo.set_feedback(session, question_id=entry.id, member_id=member.id, feedback=feedback)


async def test_overview_counts_this_week_and_links_to_lists(client: httpx.AsyncClient, console: Console,
                                                            clock: Clock, sign_in: SignIn,
                                                            people: dict[str, Member]) -> None:
    member = people["member"]
    await _ask(console, member, "提案怎么写", answered=True, mode="answer", feedback=questions_repo.FEEDBACK_USELESS)
    await _ask(console, member, "委员证丢了怎么办", answered=False, mode="uncertain")
    await _ask(console, member, "明天天气如何", answered=False, mode="refused")
    clock.advance(days=-3)  # last week: not counted
    await _ask(console, member, "上周的问题", answered=True, mode="answer")
    clock.advance(days=3)
    await sign_in(client, people["staff"])
    home = (await client.get("/console/")).text
    for key, value in {"answered": 1, "uncertain": 1, "refused": 1, "useless": 1, "checkins": 0, "red": 0,
                       "broadcasts": 0}.items():
        assert f'data-n="{key}">{value}<' in home, key
    listed = (await client.get("/console/qa/questions", params={"outcome": "uncertain"})).text
    assert "委员证丢了怎么办" in listed and "明天天气如何" not in listed
    for path in ("/console/lists/checkins", "/console/lists/proposals?warning=red", "/console/lists/broadcasts"):
        assert (await client.get(path)).status_code == 200


async def test_a_gap_becomes_an_faq_entry_in_one_step(client: httpx.AsyncClient, console: Console,
                                                     sign_in: SignIn, people: dict[str, Member]) -> None:
    for _ in range(2):
        await _ask(console, people["member"], "委员证丢了怎么办？", answered=False, mode="refused")
    await _ask(console, people["member"], "提案何时截止", answered=False, mode="uncertain")
    me = await sign_in(client, people["staff"])
    qa = (await client.get("/console/qa")).text
    assert "委员证丢了怎么办？" in qa and "共 2 次" in qa
    key = questions_repo.question_key("委员证丢了怎么办？")
    async with console.db.session() as session:
        before = await app_state.counter(session, name=app_state.FAQ_REVISION)
    done = await me.post("/console/qa/gap/faq", {"key": key, "question": "委员证丢了怎么办？",
                                                 "answer": "请向委员会办公室申请补办。"})
    assert done.status_code == 303 and done.headers["location"] == "/console/qa?msg=gap_faq"
    page = (await client.get(done.headers["location"])).text
    assert "已转为常见问答" in page and "请向委员会办公室申请补办。" in page
    assert "共 2 次" not in page  # the gap is handled
    other = questions_repo.question_key("提案何时截止")
    assert (await me.post("/console/qa/gap/handled", {"key": other, "question": "提案何时截止"})).status_code == 303
    async with console.db.session() as session:
        assert await questions_repo.gaps(session) == []  # /gaps in Telegram no longer lists them either
        assert await app_state.counter(session, name=app_state.FAQ_REVISION) == before + 1
        [entry] = await questions_repo.active_faq(session)
        actions = [e.action for e in await audit.entries(session)]
    assert entry.question == "委员证丢了怎么办？" and actions[:2] == ["gap.handled", "faq.save"]


async def test_faq_edit_retire_restore(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                       people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    assert (await me.post("/console/qa/faq", {"question": "如何请假", "answer": "书面请假。"})).status_code == 303
    async with console.db.session() as session:
        [entry] = await questions_repo.all_faq(session)
    edit = await client.get(f"/console/qa/faq/{entry.id}")
    assert "书面请假。" in edit.text
    assert (await me.post(f"/console/qa/faq/{entry.id}", {"question": "如何请假",
                                                          "answer": "向办公室书面请假。"})).status_code == 303
    assert (await me.post(f"/console/qa/faq/{entry.id}/retire")).status_code == 303
    async with console.db.session() as session:
        assert await questions_repo.active_faq(session) == []
    assert (await me.post(f"/console/qa/faq/{entry.id}/restore")).status_code == 303
    async with console.db.session() as session:
        [back] = await questions_repo.active_faq(session)
    assert back.answer == "向办公室书面请假。"
    empty = await me.post("/console/qa/faq", {"question": " ", "answer": "x"})
    assert empty.status_code == 400 and "不能为空" in empty.text
    assert (await client.get("/console/qa/faq/99999")).status_code == 404


async def test_roster_import_shows_row_errors_before_saving(client: httpx.AsyncClient, console: Console,
                                                            sign_in: SignIn, people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    bad = ("姓名,界别,角色,telegram_id\n孙委员,教育界,委员,\n,农业界,委员,\n周委员,经济界,主席,\n"
           "吴委员,经济界,把关人,12ab\n")
    checked = await client.post("/console/members/import", data={"csrf": me.csrf},
                                files={"file": ("名单.csv", bad.encode("gb18030"), "text/csv")})
    assert checked.status_code == 422
    for line, problem in ((3, "姓名为空"), (4, "角色无效"), (5, "telegram_id 应为数字")):
        assert f"第 {line} 行" in checked.text and problem in checked.text
    assert "确认导入" not in checked.text
    async with console.db.session() as session:
        assert await members_repo.count(session) == 5  # nothing saved
    good = "姓名,界别,角色,telegram_id\n孙委员,教育界,委员,\n吴委员,经济界,把关人,4242\n"
    checked = await client.post("/console/members/import", data={"csrf": me.csrf},
                                files={"file": ("名单.csv", good.encode(), "text/csv")})
    assert checked.status_code == 200 and "检查通过" in checked.text
    ticket = checked.text.split('name="ticket" value="', 1)[1].split('"', 1)[0]
    done = await me.post("/console/members/import/confirm", {"ticket": ticket})
    assert done.status_code == 303
    listing = (await client.get(done.headers["location"])).text
    assert "新增 2 人" in listing and "孙委员" in listing and "把关人" in listing
    again = await me.post("/console/members/import/confirm", {"ticket": ticket})
    assert "import_expired" in again.headers["location"]  # a ticket imports once
    async with console.db.session() as session:
        assert await members_repo.count(session) == 7
        reviewer = await members_repo.get_by_telegram_id(session, telegram_id=4242)
        assert reviewer is not None and reviewer.is_staff


async def test_roster_import_from_excel(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                        people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "界别", "地区", "手机", "telegram_id"])
    sheet.append(["郑委员", "农业界", "榆中县", 13900000001, 5151])
    sheet.append(["王委员", "农业界", "榆中县", "bad-phone!", None])
    data = io.BytesIO()
    book.save(data)
    checked = await client.post("/console/members/import", data={"csrf": me.csrf},
                                files={"file": ("roster.xlsx", data.getvalue(), "application/octet-stream")})
    assert checked.status_code == 422 and "第 3 行" in checked.text and "电话号码格式不正确" in checked.text
    sheet.delete_rows(3)
    data = io.BytesIO()
    book.save(data)
    checked = await client.post("/console/members/import", data={"csrf": me.csrf},
                                files={"file": ("roster.xlsx", data.getvalue(), "application/octet-stream")})
    assert checked.status_code == 200 and "13900000001" in checked.text and "5151" in checked.text
    not_excel = await client.post("/console/members/import", data={"csrf": me.csrf},
                                  files={"file": ("roster.xlsx", b"not a workbook", "application/octet-stream")})
    assert not_excel.status_code == 422 and "无法读取" in not_excel.text


async def test_member_page_invite_qr_deactivate_and_roles(client: httpx.AsyncClient, console: Console,
                                                          sign_in: SignIn, people: dict[str, Member]) -> None:
    admin = await sign_in(client, people["admin"])
    unbound = people["unbound"]
    page = (await client.get(f"/console/members/{unbound.id}")).text
    assert unbound.invite_code and unbound.invite_code in page
    assert f"https://t.me/cppcc_test_bot?start={unbound.invite_code}" in page
    qr = await client.get(f"/console/members/{unbound.id}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml") and b"<svg" in qr.content
    assert (await client.get(f"/console/members/{people['member'].id}/qr.svg")).status_code == 404  # bound
    assert (await admin.post(f"/console/members/{unbound.id}/invite")).status_code == 303
    async with console.db.session() as session:
        renewed = await members_repo.get(session, member_id=unbound.id)
    assert renewed is not None and renewed.invite_code != unbound.invite_code
    member = people["member"]
    assert (await admin.post(f"/console/members/{member.id}/deactivate")).status_code == 303
    assert "已停用" in (await client.get("/console/members")).text
    assert (await admin.post(f"/console/members/{member.id}/reactivate")).status_code == 303
    assert (await admin.post(f"/console/members/{member.id}/role", {"role": "reviewer"})).status_code == 303
    assert (await admin.post(f"/console/members/{member.id}/role", {"role": "boss"})).status_code == 400
    async with console.db.session() as session:
        changed = await members_repo.get(session, member_id=member.id)
        log = await audit.entries(session)
    assert changed is not None and changed.role == "reviewer" and changed.active
    assert [e.action for e in log[:4]] == ["member.role", "member.reactivate", "member.deactivate", "member.invite"]
    assert all(e.actor == "赵主任" for e in log[:4])
    trail = (await client.get("/console/audit")).text
    assert "修改角色" in trail and "赵主任" in trail and "登录工作台" in trail
    only = (await client.get("/console/audit", params={"action": "member.role"})).text
    assert "修改角色" in only and "停用成员</td>" not in only


async def test_knowledge_base_upload_list_open_test_replace_remove(
    client: httpx.AsyncClient, console: Console, kb: KnowledgeBase, sign_in: SignIn, people: dict[str, Member]
) -> None:
    console.knowledge = kb
    me = await sign_in(client, people["staff"])
    files = [("files", ("履职手册.md", DOC.encode(), "text/markdown")),
             ("files", ("fake.pdf", b"just text, not a PDF", "application/pdf")),
             ("files", ("tool.exe", b"MZ\x90\x00", "application/octet-stream")),
             ("files", ("big.txt", b"x" * (console.config.upload_max_bytes + 1), "text/plain"))]
    uploaded = await client.post("/console/kb/upload", data={"csrf": me.csrf}, files=files)
    assert uploaded.status_code == 200
    text = uploaded.text
    assert "已导入 1 个文件，3 个未导入" in text and "已导入，3 个片段" in text
    assert "文件内容与扩展名不符" in text and "不支持的文件类型" in text and "文件过大" in text
    stored = list(console.config.upload_dir.rglob("*"))
    assert [p.name for p in stored if p.is_file()] == ["履职手册.md"]
    assert console.config.upload_dir.is_relative_to(console.config.data_dir)
    listing = (await client.get("/console/kb")).text
    assert "委员履职手册" in listing and "履职手册.md" in listing and "2026-11-30 10:00" in listing
    doc = await client.get("/console/kb/doc", params={"source": "履职手册.md"})
    assert doc.status_code == 200 and "第二条" in doc.text and "请假" in doc.text
    hit = (await client.get("/console/kb/test", params={"q": "委员不能出席会议怎么办"})).text
    assert "机器人的回答" in hit and "得分" in hit and "第二条" in hit
    replaced = await client.post("/console/kb/upload", data={"csrf": me.csrf, "replace": "履职手册.md"},
                                 files=[("files", ("new.md", (DOC + "\n第四条 委员应当联系群众。\n").encode(),
                                                   "text/markdown"))])
    assert replaced.status_code == 200 and "已导入，4 个片段" in replaced.text
    assert [s.chunks for s in kb.list_sources() if s.source == "履职手册.md"] == [4]
    removed = await me.post("/console/kb/remove", {"source": "履职手册.md"})
    assert removed.status_code == 303 and kb.list_sources() == []
    assert (await me.post("/console/kb/remove", {"source": "履职手册.md"})).status_code == 404
    async with console.db.session() as session:
        actions = [e.action for e in await audit.entries(session)]
    assert actions[:3] == ["kb.remove", "kb.upload", "kb.upload"]
