"""每日一题 (/daily, or typing 每日一题), the short quiz (/quiz, 5 questions) and the reviewers' /quiz_review.

Members answer with buttons (``quiz:ans:<qid>:<opt>`` for the day's question, ``quiz:ans:<qid>:<opt>:<n>``
for question n of a short quiz); the store records one answer per member and question (UNIQUE), so a
double tap (on two workers too) answers once and earns points once. A wrong answer shows the right one
with the clause it rests on and a 查看原文 button (``quiz:src:<qid>``). Only approved questions are shown.
Reviewers (把关人) and admins approve drafts with 通过/驳回/下一题 (``quiz:rv:<qid>:ok|no|next``).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.credits_common import local_today, rules_of
from handlers.guards import answer_press, notify, parse_id, reply, require_member, require_staff, show
from handlers.registry import CommandInfo, Feature
from store.models import Member, QuizQuestion
from store.quiz import repository as quiz

PREFIX = "quiz"
QUIZ_LENGTH = 5
MAX_MESSAGE = 4000
DAILY_TEXT = r"^\s*每日一题\s*[。！!?？]?\s*$"


def _letter(index: int) -> str:
    return texts.QUIZ_OPTION_LETTERS[index]


def _citation(question: QuizQuestion) -> str:
    return f"《{question.title}》{question.article}" if question.title else ""


NUMERALS = frozenset("零〇一二两三四五六七八九十百千万0123456789")
MIN_SHARED = 12  # characters all options share before they are worth writing once, on a phone


def _common_prefix(texts: Sequence[str]) -> str:
    first = min(texts, key=len)
    for i, char in enumerate(first):
        if any(t[i] != char for t in texts):
            return first[:i]
    return first


def shared_frame(options: Sequence[str]) -> tuple[str, str] | None:
    """The text all options share before and after the part that differs, when it is long: options that
    are one clause with one term swapped read as the clause once, with the terms as the options. The
    frame never cuts into a number (三十日 / 十五日 stay whole)."""
    if len(options) < 2:
        return None
    prefix = _common_prefix(options)
    suffix = _common_prefix([o[::-1] for o in options])[::-1]
    overlap = len(prefix) + len(suffix) - min(len(o) for o in options)
    if overlap > 0:
        suffix = suffix[overlap:]
    while prefix and prefix[-1] in NUMERALS:
        prefix = prefix[:-1]
    while suffix and suffix[0] in NUMERALS:
        suffix = suffix[1:]
    middles = [o[len(prefix):len(o) - len(suffix)] for o in options]
    if len(prefix) + len(suffix) < MIN_SHARED or any(not m.strip() for m in middles):
        return None
    if len(set(middles)) < len(middles):
        return None
    return prefix, suffix


def question_text(question: QuizQuestion, head: str) -> str:
    lines = [head, "", question.stem]
    options = list(question.options)
    frame = shared_frame(options)
    if frame is not None:
        prefix, suffix = frame
        lines.append(texts.QUIZ_FRAME.format(frame=f"{prefix}{texts.QUIZ_FRAME_BLANK}{suffix}"))
        options = [o[len(prefix):len(o) - len(suffix)] for o in options]
    lines.append("")
    lines += [texts.QUIZ_OPTION_LINE.format(letter=_letter(i), option=o) for i, o in enumerate(options)]
    return "\n".join(lines)[:MAX_MESSAGE]


def _answer_buttons(question: QuizQuestion, n: int | None) -> InlineKeyboardMarkup:
    suffix = f":{n}" if n is not None else ""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(_letter(i), callback_data=f"{PREFIX}:ans:{question.id}:{i}{suffix}")
        for i in range(len(question.options))
    ]])


async def _send(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


@require_member
async def daily_command(update: Update, context: BotContext, member: Member) -> None:
    """/daily or 每日一题: today's question (the same for everyone who has not answered it), once a day."""
    today = local_today(context)
    if await quiz.daily_answer(context.session, member_id=member.id, day=today) is not None:
        await _send(update, texts.QUIZ_DAILY_DONE)
        return
    question = await quiz.daily_question(context.session, member_id=member.id, day=today)
    if question is None:
        await _send(update, texts.QUIZ_NONE)
        return
    await _send(update, question_text(question, texts.QUIZ_DAILY_HEAD), _answer_buttons(question, None))


async def _show_quiz_question(update: Update, context: BotContext, member: Member, n: int) -> None:
    question = await quiz.quiz_question(context.session, member_id=member.id, day=local_today(context))
    if question is None:
        await notify(update, texts.QUIZ_NONE)
        return
    head = texts.QUIZ_QUIZ_HEAD.format(n=n, total=QUIZ_LENGTH)
    if update.effective_message is not None:
        await update.effective_message.reply_text(question_text(question, head),
                                                  reply_markup=_answer_buttons(question, n))


@require_member
async def quiz_command(update: Update, context: BotContext, member: Member) -> None:
    """/quiz: a short quiz of five questions the member has not answered, one card at a time."""
    await _show_quiz_question(update, context, member, 1)


def _parse_answer(data: str) -> tuple[int, int, int | None] | None:
    """"quiz:ans:<qid>:<opt>[:<n>]" → (qid, opt, n); None for anything else."""
    parts = data.split(":")
    if len(parts) not in (4, 5) or parts[1] != "ans":
        return None
    qid, opt = parse_id(parts[2]), parse_id(parts[3])
    n = parse_id(parts[4]) if len(parts) == 5 else None
    if qid is None or opt is None or (len(parts) == 5 and (n is None or not 1 <= n <= QUIZ_LENGTH)):
        return None
    return qid, opt, n


def result_text(result: quiz.AnswerResult, label: str) -> str:
    """What the member reads after answering: right or wrong, points, the right answer and its basis."""
    question = result.question
    assert question is not None
    lines = [question.stem, ""]
    if result.outcome is quiz.Outcome.CORRECT:
        lines.append(texts.QUIZ_RIGHT)
        if result.points:
            lines.append(texts.QUIZ_RIGHT_POINTS.format(points=result.points, label=label))
        elif result.capped:
            lines.append(texts.QUIZ_RIGHT_CAPPED)
    else:
        lines.append(texts.QUIZ_WRONG)
    lines.append(texts.QUIZ_EXPLANATION.format(letter=_letter(question.answer),
                                               answer=question.options[question.answer]))
    if question.explanation:
        lines.append(question.explanation)
    elif _citation(question):
        lines.append(texts.QUIZ_BASIS.format(citation=_citation(question)))
    return "\n".join(lines)[:MAX_MESSAGE]


@require_member
async def on_answer(update: Update, context: BotContext, member: Member) -> None:
    """An option button: record the answer once, then replace the card with the result and explanation."""
    query = update.callback_query
    parsed = _parse_answer(query.data or "") if query is not None else None
    if parsed is None:
        await reply(update, texts.STALE_BUTTON)
        return
    qid, opt, n = parsed
    rules = rules_of(context)
    result = await quiz.answer(context.session, member=member, question_id=qid, choice=opt,
                               via="daily" if n is None else "quiz", now=context.now(), rules=rules,
                               tz=context.services.tz)
    if result.outcome is quiz.Outcome.UNAVAILABLE:
        await reply(update, texts.STALE_BUTTON)
        return
    if result.outcome is quiz.Outcome.DUPLICATE:
        await reply(update, texts.QUIZ_ALREADY_ANSWERED)
        return
    if result.outcome is quiz.Outcome.DAILY_DONE:
        await reply(update, texts.QUIZ_DAILY_DONE)
        return
    await context.commit()
    found = rules.first_of("quiz")
    text = result_text(result, found[1].label if found else "")
    buttons: list[InlineKeyboardButton] = []
    if result.outcome is quiz.Outcome.WRONG and result.question is not None and result.question.quote:
        buttons.append(InlineKeyboardButton(texts.BTN_SOURCE, callback_data=f"{PREFIX}:src:{qid}"))
    if n is not None and n < QUIZ_LENGTH:
        buttons.append(InlineKeyboardButton(texts.BTN_QUIZ_NEXT, callback_data=f"{PREFIX}:next:{n + 1}"))
    elif n is not None:
        stats = await quiz.day_stats(context.session, member_id=member.id, day=local_today(context))
        text = f"{text}\n\n{texts.QUIZ_FINISHED.format(answered=stats.answered, correct=stats.correct)}"
    else:
        text = f"{text}\n\n{texts.QUIZ_MORE}"
    await answer_press(update)
    await show(update, text, InlineKeyboardMarkup([buttons]) if buttons else None)


@require_member
async def on_next(update: Update, context: BotContext, member: Member) -> None:
    """下一题 of a short quiz."""
    query = update.callback_query
    parts = (query.data or "").split(":") if query is not None else []
    n = parse_id(parts[2]) if len(parts) == 3 else None
    if n is None or not 2 <= n <= QUIZ_LENGTH:
        await reply(update, texts.STALE_BUTTON)
        return
    await answer_press(update)
    await _show_quiz_question(update, context, member, n)


@require_member
async def on_source(update: Update, context: BotContext, member: Member) -> None:
    """查看原文: the article the question cites, as it was quoted when the question was approved."""
    query = update.callback_query
    parts = (query.data or "").split(":") if query is not None else []
    qid = parse_id(parts[2]) if len(parts) == 3 else None
    question = await quiz.get(context.session, question_id=qid) if qid is not None else None
    if question is None or question.status != quiz.APPROVED:
        await reply(update, texts.STALE_BUTTON)
        return
    if not question.quote:
        await reply(update, texts.QUIZ_NO_SOURCE)
        return
    await answer_press(update)
    header = texts.QUIZ_SOURCE_HEADER.format(citation=_citation(question))
    await notify(update, f"{header}\n{question.quote}"[:MAX_MESSAGE])


# --- review (把关) -------------------------------------------------------------------------------------


def review_text(question: QuizQuestion, count: int) -> str:
    head = texts.QUIZ_REVIEW_HEAD.format(count=count, id=question.id,
                                         kind=texts.QUIZ_KIND_LABELS.get(question.kind, question.kind),
                                         origin=texts.QUIZ_ORIGIN_LABELS.get(question.origin, question.origin))
    lines = [question_text(question, head), "",
             texts.QUIZ_REVIEW_ANSWER.format(letter=_letter(question.answer), answer=question.options[question.answer])]
    if question.quote:
        lines.append(texts.QUIZ_REVIEW_QUOTE.format(citation=_citation(question), quote=question.quote))
    return "\n".join(lines)[:MAX_MESSAGE]


def _review_buttons(question: QuizQuestion) -> InlineKeyboardMarkup:
    data = f"{PREFIX}:rv:{question.id}"
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.BTN_QUIZ_APPROVE, callback_data=f"{data}:ok"),
        InlineKeyboardButton(texts.BTN_QUIZ_REJECT, callback_data=f"{data}:no"),
        InlineKeyboardButton(texts.BTN_QUIZ_NEXT, callback_data=f"{data}:next"),
    ]])


async def _show_draft(update: Update, context: BotContext, *, after_id: int = 0, prefix: str = "") -> None:
    question = await quiz.next_draft(context.session, after_id=after_id)
    if question is None:
        await show(update, f"{prefix}{texts.QUIZ_REVIEW_EMPTY}")
        return
    count = (await quiz.counts(context.session))[quiz.DRAFT]
    await show(update, f"{prefix}{review_text(question, count)}"[:MAX_MESSAGE], _review_buttons(question))


@require_staff
async def review_command(update: Update, context: BotContext, staff: Member) -> None:
    """/quiz_review: the oldest draft question with 通过 / 驳回 / 下一题 (reviewers and admins only)."""
    if not quiz.can_review(staff):
        await reply(update, texts.QUIZ_REVIEW_ONLY)
        return
    await _show_draft(update, context)


@require_staff
async def on_review(update: Update, context: BotContext, staff: Member) -> None:
    """通过 / 驳回 / 下一题 on a review card; a second press (or another reviewer's) changes nothing."""
    query = update.callback_query
    parts = (query.data or "").split(":") if query is not None else []
    qid = parse_id(parts[2]) if len(parts) == 4 else None
    action = parts[3] if len(parts) == 4 else ""
    if qid is None or action not in ("ok", "no", "next"):
        await reply(update, texts.STALE_BUTTON)
        return
    if not quiz.can_review(staff):
        await reply(update, texts.QUIZ_REVIEW_ONLY)
        return
    if action == "next":
        await answer_press(update)
        await _show_draft(update, context, after_id=qid)
        return
    try:
        question = await quiz.review(context.session, question_id=qid, reviewer=staff, approve=action == "ok",
                                     now=context.now())
    except quiz.QuizError as exc:
        current = await quiz.get(context.session, question_id=qid)
        if exc.code == "reviewed" and current is not None:
            await reply(update, texts.QUIZ_REVIEW_ALREADY.format(
                status=texts.QUIZ_STATUS_LABELS.get(current.status, current.status)))
        else:
            await reply(update, texts.STALE_BUTTON)
        return
    await context.commit()
    await answer_press(update)
    done = texts.QUIZ_REVIEW_DONE[question.status].format(id=question.id)
    await _show_draft(update, context, after_id=qid, prefix=f"{done}\n\n")


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("daily", daily_command, filters=private))
    app.add_handler(MessageHandler(private & filters.Regex(DAILY_TEXT), daily_command))
    app.add_handler(CommandHandler("quiz", quiz_command, filters=private))
    app.add_handler(CommandHandler("quiz_review", review_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_answer, pattern=rf"^{PREFIX}:ans:"))
    app.add_handler(CallbackQueryHandler(on_next, pattern=rf"^{PREFIX}:next:"))
    app.add_handler(CallbackQueryHandler(on_source, pattern=rf"^{PREFIX}:src:"))
    app.add_handler(CallbackQueryHandler(on_review, pattern=rf"^{PREFIX}:rv:"))


FEATURE = Feature(
    name="quiz",
    register=register,
    commands=(CommandInfo("daily"), CommandInfo("quiz"), CommandInfo("quiz_review", staff=True)),
)
