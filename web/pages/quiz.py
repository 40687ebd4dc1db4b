"""题库: quiz questions by status, review (通过/驳回, reviewers and admins only) and staff's own questions.

The same store functions as the bot's /quiz_review (``store.quiz.repository``): a staff question by a
non-reviewer is a draft until a reviewer approves it; one by a reviewer or admin is live at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from store.quiz import repository as quiz
from web import texts
from web.render import page
from web.security import CheckedStaff, ConsoleDep, Staff, StaffDep

router = APIRouter()
PAGE_SIZE = 50
LETTERS = "ABCD"


async def _quiz_page(request: Request, console: ConsoleDep, staff: Staff, *, status: str, status_code: int = 200,
                     **context: object) -> Response:
    async with console.db.session() as session:
        counts = await quiz.counts(session)
        questions = await quiz.list_questions(session, status=status, limit=PAGE_SIZE)
    return page(request, "quiz.html", title=texts.TITLE_QUIZ, staff=staff, section="quiz", status=status_code,
                questions=questions, counts=counts, current=status, letters=LETTERS,
                status_labels=texts.QUIZ_STATUS_LABELS, kind_labels=texts.QUIZ_KIND_LABELS,
                origin_labels=texts.QUIZ_ORIGIN_LABELS, can_review=quiz.can_review(staff.member), **context)


@router.get("/quiz")
async def quiz_home(request: Request, console: ConsoleDep, staff: StaffDep, status: str = quiz.DRAFT) -> Response:
    if status not in quiz.STATUSES:
        status = quiz.DRAFT
    return await _quiz_page(request, console, staff, status=status)


@router.post("/quiz/{question_id:int}/review")
async def review(request: Request, console: ConsoleDep, staff: CheckedStaff, question_id: int,
                 decision: Annotated[str, Form()] = "") -> Response:
    """通过 / 驳回 a draft; only reviewers and admins; a question already reviewed is left as it is."""
    if decision not in ("approve", "reject"):
        raise HTTPException(400)
    if not quiz.can_review(staff.member):
        return page(request, "message.html", title=texts.TITLE_QUIZ, staff=staff, status=403,
                    message=texts.QUIZ_REVIEW_ONLY, back="/console/quiz")
    try:
        async with console.db.session() as session:
            await quiz.review(session, question_id=question_id, reviewer=staff.member,
                              approve=decision == "approve", now=console.clock(), via="console")
    except quiz.QuizError as exc:
        if exc.code == "missing":
            raise HTTPException(404) from None
        return RedirectResponse("/console/quiz?msg=quiz_reviewed", status_code=303)
    msg = "quiz_approved" if decision == "approve" else "quiz_rejected"
    return RedirectResponse(f"/console/quiz?msg={msg}", status_code=303)


@router.post("/quiz/add")
async def add(
    request: Request, console: ConsoleDep, staff: CheckedStaff,
    stem: Annotated[str, Form()] = "", option_a: Annotated[str, Form()] = "", option_b: Annotated[str, Form()] = "",
    option_c: Annotated[str, Form()] = "", option_d: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "", article: Annotated[str, Form()] = "",
    quote: Annotated[str, Form()] = "", explanation: Annotated[str, Form()] = "",
) -> Response:
    """A staff member's own question (multiple choice, 2–4 options); a draft unless they may review."""
    given = [(letter, o.strip()) for letter, o in zip(LETTERS, (option_a, option_b, option_c, option_d), strict=True)]
    options = [o for _, o in given if o]
    letters = [letter for letter, o in given if o]
    spec = quiz.QuestionSpec(
        kind="choice", stem=stem.strip(), options=options,
        answer=letters.index(answer) if answer in letters else -1,
        title=title.strip()[:255], article=article.strip()[:64], quote=quote.strip()[:4000],
        explanation=explanation.strip()[:2000],
    )
    try:
        async with console.db.session() as session:
            row = await quiz.add_staff_question(session, author=staff.member, spec=spec, now=console.clock(),
                                                via="console")
    except quiz.QuizError as exc:
        return await _quiz_page(request, console, staff, status=quiz.DRAFT, status_code=400,
                                error=texts.QUIZ_ERRORS.get(exc.code, exc.code),
                                form={"stem": stem, "a": option_a, "b": option_b, "c": option_c, "d": option_d,
                                      "answer": answer, "title": title, "article": article, "quote": quote,
                                      "explanation": explanation})
    msg = "quiz_added" if row.status == quiz.APPROVED else "quiz_added_draft"
    return RedirectResponse(f"/console/quiz?status={row.status}&msg={msg}", status_code=303)
