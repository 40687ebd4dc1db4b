"""Questions on policy and procedure: FAQ first, then the knowledge base, with citations and feedback."""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.guards import parse_id, require_member, require_staff
from handlers.registry import CommandInfo, Feature
from knowledge.faq import FaqMatcher, FaqPair
from knowledge.outcome import outcome
from store import app_state, audit
from store import questions as questions_repo
from store.models import Member

log = logging.getLogger(__name__)

MAX_QUESTION = 500
_NOT_WORDS = re.compile(r"[\W_]+", re.UNICODE)


def typed_review_action(question: str) -> str | None:
    """The review action a bare message names ("受理", "不予受理。"), or None."""
    core = _NOT_WORDS.sub("", question)
    return core if core in texts.PROPOSAL_ACTION_LABELS.values() else None


def small_talk(question: str) -> str | None:
    """The reply to a message that is not a question (a thank-you, a greeting, a stray "1"), or None."""
    core = _NOT_WORDS.sub("", question).lower()
    if core in texts.THANKS_WORDS:
        return texts.REPLY_THANKS
    if core in texts.HELLO_WORDS:
        return texts.REPLY_HELLO
    if len(core) < 2 or core.isdigit():
        return texts.QUESTION_TOO_SHORT
    return None
MAX_MESSAGE = 4096
HISTORY_KEY = "qa_history"


async def _faq_matcher(context: BotContext) -> FaqMatcher:
    """The matcher over the active FAQ, rebuilt when staff change the FAQ (here, in the console, anywhere)."""
    services = context.services
    revision = await app_state.counter(context.session, name=app_state.FAQ_REVISION)
    if services.faq_matcher is None or services.faq_revision != revision:
        entries = await questions_repo.active_faq(context.session)
        services.faq_matcher = FaqMatcher([FaqPair(e.id, e.question, e.answer) for e in entries])
        services.faq_revision = revision
    return services.faq_matcher


def invalidate_faq(context: BotContext) -> None:
    context.services.faq_matcher = None


def _candidate_label(rank: int, source: dict[str, Any]) -> str:
    citation = f"《{source.get('title') or source['source']}》{source.get('article') or ''}"
    label = texts.CANDIDATE_BUTTON.format(rank=rank, citation=citation)
    limit = texts.CANDIDATE_BUTTON_MAX
    return label if len(label) <= limit else f"{label[: limit - 1]}…"


def _candidates_keyboard(question_id: int, candidates: list[dict[str, Any]]) -> InlineKeyboardMarkup:
    """One button per offered article (opens its clause), then 转交工作人员."""
    rows = [
        [InlineKeyboardButton(_candidate_label(rank, c), callback_data=f"qa:open:{question_id}:{rank}")]
        for rank, c in enumerate(candidates, start=1)
    ]
    rows.append([InlineKeyboardButton(texts.BTN_PASS_TO_STAFF, callback_data=f"qa:staff:{question_id}")])
    return InlineKeyboardMarkup(rows)


def _answer_keyboard(question_id: int, *, answered: bool, has_source: bool) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(texts.BTN_USEFUL, callback_data=f"qa:fb:{question_id}:u"),
        InlineKeyboardButton(texts.BTN_USELESS, callback_data=f"qa:fb:{question_id}:x"),
    ]
    rows = [row]
    if answered and has_source:
        rows.append([InlineKeyboardButton(texts.BTN_SOURCE, callback_data=f"qa:src:{question_id}")])
    if not answered:
        rows = [[InlineKeyboardButton(texts.BTN_PASS_TO_STAFF, callback_data=f"qa:staff:{question_id}")]]
    return InlineKeyboardMarkup(rows)


async def answer_question(update: Update, context: BotContext, member: Member, question: str) -> None:
    """Answer one question and log it with its sources."""
    message = update.effective_message
    if message is None:
        return
    question = question.strip()
    if not question:
        await message.reply_text(texts.ASK_PROMPT)
        return
    if len(question) > MAX_QUESTION:
        await message.reply_text(texts.QUESTION_TOO_LONG.format(length=len(question), limit=MAX_QUESTION))
        return
    if (chat := small_talk(question)) is not None:
        await message.reply_text(chat)
        return
    if member.is_staff and (action := typed_review_action(question)) is not None:
        await message.reply_text(texts.PROPOSAL_REVIEW_TYPED_ACTION.format(action=action))
        return
    now = context.now()
    match = (await _faq_matcher(context)).match(question)
    faq_id: int | None = None
    sources: list[dict[str, Any]] = []
    mode = questions_repo.MODE_REFUSED
    kb_mode: str | None = None
    if match is not None:
        faq_id = int(match.pair.id)  # the matcher is built from FAQ rows, whose ids are ints
        answered, text, mode = True, f"{match.pair.answer}\n{texts.FAQ_ANSWER_SOURCE}", questions_repo.MODE_FAQ
        await questions_repo.count_faq_hit(context.session, faq_id=faq_id)
    elif context.services.knowledge is None:
        answered, text, mode = False, texts.KB_UNAVAILABLE, questions_repo.MODE_UNAVAILABLE
    else:
        history = context.chat_data.get(HISTORY_KEY) if context.chat_data is not None else None
        await context.before_network()  # the model may take seconds: no transaction waits with it
        result = await context.services.knowledge.aanswer(question, history=history)
        answered, text, mode = result.answered, result.text, outcome(result)
        kb_mode = result.decision if result.decision in questions_repo.KB_MODES else questions_repo.MODE_REFUSAL
        cited = (result.citations if answered
                 else result.candidates if kb_mode == questions_repo.MODE_CANDIDATES else [])
        sources = [{"source": c.source, "title": c.title, "article": c.label} for c in cited]
    entry = await questions_repo.log_question(
        context.session, member_id=member.id, chat_id=message.chat_id, question=question,
        answered=answered, answer=text, sources=sources, at=now, faq_id=faq_id, mode=mode, kb_mode=kb_mode,
    )
    await context.commit()
    if context.chat_data is not None:
        context.chat_data[HISTORY_KEY] = [(question, text)] if answered else []
    if kb_mode == questions_repo.MODE_CANDIDATES and sources:
        keyboard = _candidates_keyboard(entry.id, sources)
    else:
        has_source = any(s.get("article") for s in sources)
        keyboard = _answer_keyboard(entry.id, answered=answered, has_source=has_source)
    await message.reply_text(text[:MAX_MESSAGE], reply_markup=keyboard)


@require_member
async def ask_command(update: Update, context: BotContext, member: Member) -> None:
    """/ask [question]: answer the question, or explain how to ask."""
    await answer_question(update, context, member, " ".join(context.args or []))


@require_member
async def plain_question(update: Update, context: BotContext, member: Member) -> None:
    """Any text no other feature claimed is treated as a question."""
    message = update.effective_message
    await answer_question(update, context, member, message.text if message and message.text else "")


def _parse_id(data: str, position: int) -> int | None:
    parts = data.split(":")
    return parse_id(parts[position]) if position < len(parts) else None


@require_member
async def on_feedback(update: Update, context: BotContext, member: Member) -> None:
    """有用 / 没用 on an answer."""
    query = update.callback_query
    assert query is not None and query.data is not None
    question_id = _parse_id(query.data, 2)
    kind = query.data.rsplit(":", 1)[-1]
    if question_id is None or kind not in ("u", "x"):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    feedback = questions_repo.FEEDBACK_USEFUL if kind == "u" else questions_repo.FEEDBACK_USELESS
    ok = await questions_repo.set_feedback(
        context.session, question_id=question_id, member_id=member.id, feedback=feedback
    )
    if not ok:
        await query.answer(texts.NOT_YOUR_QUESTION, show_alert=True)
        return
    await context.commit()
    await query.answer(texts.FEEDBACK_THANKS_USEFUL if kind == "u" else texts.FEEDBACK_THANKS_USELESS)


@require_member
async def on_source(update: Update, context: BotContext, member: Member) -> None:
    """查看原文: the full text of each cited article."""
    query = update.callback_query
    assert query is not None and query.data is not None
    question_id = _parse_id(query.data, 2)
    entry = None
    if question_id is not None:
        entry = await questions_repo.get_question(context.session, question_id=question_id)
    if entry is None or entry.member_id != member.id:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    kb = context.services.knowledge
    sent = 0
    for source in entry.sources[:3]:
        article = source.get("article")
        full = kb.article_text(source["source"], article) if kb is not None and article else None
        if not full:
            continue
        header = texts.SOURCE_HEADER.format(citation=f"《{source['title']}》{article}")
        await context.bot.send_message(query.message.chat.id if query.message else query.from_user.id,
                                       f"{header}\n{full}"[:MAX_MESSAGE])
        sent += 1
    await query.answer(None if sent else texts.SOURCE_NOT_FOUND, show_alert=not sent)


@require_member
async def on_open_candidate(update: Update, context: BotContext, member: Member) -> None:
    """A candidate article of an uncertain answer: send its clause and record which one was opened."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    question_id = _parse_id(query.data, 2)
    rank = parse_id(parts[3]) if len(parts) == 4 else None
    source = None
    if question_id is not None and rank is not None:
        source = await questions_repo.open_candidate(
            context.session, question_id=question_id, member_id=member.id, rank=rank
        )
    kb = context.services.knowledge
    article = source.get("article") if source else None
    full = kb.article_text(source["source"], article) if kb is not None and source and article else None
    if source is None or not full:
        await query.answer(texts.STALE_BUTTON if source is None else texts.SOURCE_NOT_FOUND, show_alert=True)
        return
    await context.commit()
    header = texts.SOURCE_HEADER.format(citation=f"《{source.get('title') or source['source']}》{article}")
    chat_id = query.message.chat.id if query.message else member.telegram_id
    if chat_id is None:  # a bound member always has a telegram_id; keeps the type checker honest
        return
    await context.bot.send_message(chat_id, f"{header}\n{full}"[:MAX_MESSAGE])
    await query.answer()


@require_member
async def on_pass_to_staff(update: Update, context: BotContext, member: Member) -> None:
    """转交工作人员: forward an unanswered question to the staff chat."""
    query = update.callback_query
    assert query is not None and query.data is not None
    question_id = _parse_id(query.data, 2)
    entry, first = None, False
    if question_id is not None:
        entry, first = await questions_repo.mark_passed_to_staff(
            context.session, question_id=question_id, member_id=member.id
        )
    if entry is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if not first:  # one forward per question, however often the button is pressed
        await query.answer(texts.ALREADY_PASSED_TO_STAFF, show_alert=True)
        return
    await context.commit()
    staff_chat = context.services.staff_chat_id
    if staff_chat is not None:
        alert = texts.STAFF_QUESTION_ALERT.format(name=member.name, sector=member.sector or "-",
                                                  question=entry.question)
        try:
            await context.bot.send_message(staff_chat, alert)
        except TelegramError as exc:
            log.warning("could not forward a question to the staff chat: %s", exc)
    await query.answer(texts.PASSED_TO_STAFF, show_alert=True)


@require_staff
async def gaps_command(update: Update, context: BotContext, member: Member) -> None:
    """/gaps: unanswered and 没用 questions, most frequent first."""
    gaps = await questions_repo.gaps(context.session, limit=20)
    if not gaps:
        text = texts.GAPS_EMPTY
    else:
        lines = [texts.GAPS_HEAD] + [
            (texts.GAPS_LINE_UNCERTAIN if g.uncertain else texts.GAPS_LINE).format(
                rank=i, question=g.question[:80], count=g.count, unanswered=g.unanswered,
                useless=g.useless, uncertain=g.uncertain)
            for i, g in enumerate(gaps, start=1)
        ]
        text = "\n".join(lines)
    if update.effective_message is not None:
        await update.effective_message.reply_text(text[:MAX_MESSAGE])


@require_staff
async def faq_command(update: Update, context: BotContext, member: Member) -> None:
    """/faq 问题 | 答案: add or update a staff-curated answer."""
    message = update.effective_message
    if message is None:
        return
    body = (message.text or "").partition(" ")[2]
    question, sep, answer = body.partition("|")
    if not sep or not question.strip() or not answer.strip():
        await message.reply_text(texts.FAQ_USAGE)
        return
    entry = await questions_repo.add_faq(
        context.session, question=question.strip(), answer=answer.strip(), at=context.now(), created_by=member.id
    )
    await audit.record(context.session, actor=member, action="faq.save", at=context.now(), target=f"faq:{entry.id}",
                       detail={"question": entry.question[:200], "via": "telegram"})
    await context.commit()
    invalidate_faq(context)
    await message.reply_text(texts.FAQ_SAVED.format(id=entry.id))


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("ask", ask_command, filters=private))
    app.add_handler(CommandHandler("gaps", gaps_command, filters=private))
    app.add_handler(CommandHandler("faq", faq_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_feedback, pattern=r"^qa:fb:"))
    app.add_handler(CallbackQueryHandler(on_source, pattern=r"^qa:src:"))
    app.add_handler(CallbackQueryHandler(on_open_candidate, pattern=r"^qa:open:"))
    app.add_handler(CallbackQueryHandler(on_pass_to_staff, pattern=r"^qa:staff:"))


def register_catch_all(app: BotApplication) -> None:
    """Registered after every feature that claims text patterns, before the fallback."""
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, plain_question))


FEATURE = Feature(
    name="ask",
    register=register,
    commands=(CommandInfo("ask"), CommandInfo("gaps", staff=True), CommandInfo("faq", staff=True)),
)
CATCH_ALL = Feature(name="ask-text", register=register_catch_all)
