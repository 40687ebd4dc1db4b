"""问答: the staff FAQ (add, edit, retire, hit counts) and the questions the bot did not serve well."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from store import audit
from store import questions as questions_repo
from store.dashboard import members_by_id
from web import texts
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, StaffDep

router = APIRouter()
MAX_QUESTION, MAX_ANSWER = 500, 3000


def _done(msg: str) -> RedirectResponse:
    return RedirectResponse(f"/console/qa?msg={msg}", status_code=303)


def _valid(question: str, answer: str) -> str | None:
    if not question.strip() or not answer.strip():
        return texts.FAQ_EMPTY_FIELDS
    if len(question) > MAX_QUESTION or len(answer) > MAX_ANSWER:
        return texts.FAQ_TOO_LONG
    return None


@router.get("/qa")
async def qa_home(request: Request, console: ConsoleDep, staff: StaffDep, error: str | None = None) -> Response:
    async with console.db.session() as session:
        gaps = await questions_repo.gaps(session, limit=100)
        faq = await questions_repo.all_faq(session)
    rows = [{"question": g.question, "count": g.count, "unanswered": g.unanswered, "useless": g.useless,
             "last": local_time(console, g.last_asked), "key": g.key} for g in gaps]
    return page(request, "qa.html", title=texts.TITLE_QA, staff=staff, section="qa", gaps=rows, faq=faq,
                status=400 if error else 200, error=error)


@router.post("/qa/faq")
async def add_faq(request: Request, console: ConsoleDep, staff: CheckedStaff,
                  question: Annotated[str, Form()] = "", answer: Annotated[str, Form()] = "") -> Response:
    if problem := _valid(question, answer):
        return await qa_home(request, console, staff, error=problem)
    now = console.clock()
    async with console.db.session() as session:
        entry = await questions_repo.add_faq(session, question=question.strip(), answer=answer.strip(), at=now,
                                             created_by=staff.member.id)
        await audit.record(session, actor=staff.member, action="faq.save", at=now, target=f"faq:{entry.id}",
                           detail={"question": entry.question[:200], "via": "console"})
    return _done("faq_saved")


@router.get("/qa/faq/{faq_id:int}")
async def edit_page(request: Request, console: ConsoleDep, staff: StaffDep, faq_id: int) -> Response:
    async with console.db.session() as session:
        entry = await questions_repo.get_faq(session, faq_id=faq_id)
    if entry is None:
        raise HTTPException(404)
    return page(request, "faq_edit.html", title=texts.TITLE_QA, staff=staff, section="qa", entry=entry)


@router.post("/qa/faq/{faq_id:int}")
async def edit(request: Request, console: ConsoleDep, staff: CheckedStaff, faq_id: int,
               question: Annotated[str, Form()] = "", answer: Annotated[str, Form()] = "") -> Response:
    if problem := _valid(question, answer):
        return await qa_home(request, console, staff, error=problem)
    now = console.clock()
    async with console.db.session() as session:
        entry = await questions_repo.edit_faq(session, faq_id=faq_id, question=question.strip(),
                                              answer=answer.strip(), at=now)
        if entry is None:
            raise HTTPException(404)
        await audit.record(session, actor=staff.member, action="faq.edit", at=now, target=f"faq:{faq_id}",
                           detail={"question": entry.question[:200]})
    return _done("faq_saved")


@router.post("/qa/faq/{faq_id:int}/{action}")
async def retire(request: Request, console: ConsoleDep, staff: CheckedStaff, faq_id: int, action: str) -> Response:
    if action not in ("retire", "restore"):
        raise HTTPException(404)
    now = console.clock()
    async with console.db.session() as session:
        entry = await questions_repo.set_faq_active(session, faq_id=faq_id, active=action == "restore", at=now)
        if entry is None:
            raise HTTPException(404)
        await audit.record(session, actor=staff.member, action=f"faq.{action}", at=now, target=f"faq:{faq_id}",
                           detail={"question": entry.question[:200]})
    return _done("faq_retired" if action == "retire" else "faq_restored")


@router.post("/qa/gap/faq")
async def gap_to_faq(request: Request, console: ConsoleDep, staff: CheckedStaff, key: Annotated[str, Form()] = "",
                     question: Annotated[str, Form()] = "", answer: Annotated[str, Form()] = "") -> Response:
    """One step: the gap becomes an FAQ entry (the bot answers it next time) and is marked handled."""
    if problem := _valid(question, answer):
        return await qa_home(request, console, staff, error=problem)
    now = console.clock()
    async with console.db.session() as session:
        entry = await questions_repo.add_faq(session, question=question.strip(), answer=answer.strip(), at=now,
                                             created_by=staff.member.id)
        handled = await questions_repo.mark_handled(session, key=key, by=staff.member.id, now=now) if key else 0
        await audit.record(session, actor=staff.member, action="faq.save", at=now, target=f"faq:{entry.id}",
                           detail={"question": entry.question[:200], "from_gap": True, "questions": handled})
    return _done("gap_faq")


@router.post("/qa/gap/handled")
async def gap_handled(request: Request, console: ConsoleDep, staff: CheckedStaff,
                      key: Annotated[str, Form()] = "", question: Annotated[str, Form()] = "") -> Response:
    if not key:
        raise HTTPException(404)
    now = console.clock()
    async with console.db.session() as session:
        handled = await questions_repo.mark_handled(session, key=key, by=staff.member.id, now=now)
        await audit.record(session, actor=staff.member, action="gap.handled", at=now,
                           target=question[:128] or key[:128], detail={"questions": handled})
    return _done("gap_handled")


@router.get("/qa/questions")
async def questions(request: Request, console: ConsoleDep, staff: StaffDep, outcome: str | None = None) -> Response:
    wanted = outcome if outcome in texts.OUTCOME_LABELS else None
    async with console.db.session() as session:
        found = await questions_repo.recent_questions(session, outcome=wanted, limit=300)
        people = await members_by_id(session, ids={q.member_id for q in found if q.member_id})
    feedback = {questions_repo.FEEDBACK_USEFUL: "有用", questions_repo.FEEDBACK_USELESS: "没用"}
    rows = [{
        "at": local_time(console, q.created_at),
        "member": people[q.member_id].name if q.member_id in people else texts.UNKNOWN,
        "question": q.question,
        "mode": texts.MODE_LABELS.get(q.mode or ("answer" if q.answered else "refused"), q.mode or ""),
        "feedback": feedback.get(q.feedback or "", ""),
        "handled": local_time(console, q.handled_at) if q.handled_at else "",
    } for q in found]
    return page(request, "questions.html", title=texts.TITLE_QUESTIONS, staff=staff, section="qa", questions=rows,
                outcome=wanted, outcomes=list(texts.OUTCOME_LABELS.items()))
