"""题库 page: list by status, review by reviewers and admins, staff questions (draft unless a reviewer adds it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from store import audit
from store.models import Member
from store.quiz import repository as quiz
from tests.web.conftest import SignedIn
from web import texts
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
SPEC = quiz.QuestionSpec(kind="cloze", stem="根据《章程》第五十二条，地方委员会每届任期____。",
                         options=["三年", "五年", "十年", "两年"], answer=1, title="中国人民政治协商会议章程",
                         article="第五十二条", quote="第五十二条 地方委员会每届任期五年。", key="page1")
FORM = {"stem": "委员每年至少提交几件提案？", "option_a": "一件", "option_b": "三件", "option_c": "", "option_d": "",
        "answer": "A", "title": "委员履职手册", "article": "第一条"}


async def _draft(console: Console) -> int:
    async with console.db.session() as session:
        await quiz.save_generated(session, specs=[SPEC], now=console.clock())
        return (await quiz.list_questions(session, status=quiz.DRAFT))[0].id


async def test_reviewer_approves_a_generated_draft(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                   people: dict[str, Member]) -> None:
    qid = await _draft(console)
    me = await sign_in(client, people["reviewer"])
    listed = await client.get("/console/quiz")
    assert listed.status_code == 200 and "地方委员会每届任期____" in listed.text and "待审核（1）" in listed.text
    assert f'/console/quiz/{qid}/review' in listed.text and "第五十二条 地方委员会每届任期五年。" in listed.text
    done = await me.post(f"/console/quiz/{qid}/review", {"decision": "approve"})
    assert done.status_code == 303 and "quiz_approved" in done.headers["location"]
    approved = await client.get("/console/quiz", params={"status": "approved"})
    assert "已通过（1）" in approved.text and "B. 五年 ✔" in approved.text
    again = await me.post(f"/console/quiz/{qid}/review", {"decision": "reject"})
    assert "quiz_reviewed" in again.headers["location"]
    async with console.db.session() as session:
        assert (await quiz.get(session, question_id=qid)).status == quiz.APPROVED  # type: ignore[union-attr]  # exists
        entries = await audit.entries(session, action="quiz.", limit=5)
    assert [e.action for e in entries][:1] == ["quiz.approve"]


async def test_staff_question_is_a_draft_a_reviewers_is_live(client: httpx.AsyncClient, console: Console,
                                                             make_client: Callable[..., httpx.AsyncClient],
                                                             sign_in: SignIn, people: dict[str, Member]) -> None:
    staff = await sign_in(client, people["staff"])
    added = await staff.post("/console/quiz/add", FORM)
    assert added.status_code == 303 and "quiz_added_draft" in added.headers["location"]
    async with make_client() as other:
        admin = await sign_in(other, people["admin"])
        live = await admin.post("/console/quiz/add", {**FORM, "stem": "另一道题？"})
        assert "status=approved" in live.headers["location"] and "msg=quiz_added" in live.headers["location"]
    bad = await staff.post("/console/quiz/add", {**FORM, "option_b": "一件"})
    assert bad.status_code == 400 and texts.QUIZ_ERRORS["duplicate"] in bad.text
    none = await staff.post("/console/quiz/add", {**FORM, "answer": "D"})
    assert none.status_code == 400 and texts.QUIZ_ERRORS["answer"] in none.text
    async with console.db.session() as session:
        assert await quiz.counts(session) == {"draft": 1, "approved": 1, "rejected": 0}
        draft = (await quiz.list_questions(session, status=quiz.DRAFT))[0]
    assert draft.origin == "staff" and draft.created_by == people["staff"].id and draft.options == ["一件", "三件"]
