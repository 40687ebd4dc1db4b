"""The two-person rule in Telegram (通知审核): reviewers (把关人) get each broadcast awaiting approval, composed
in Telegram or in the console, with 批准 / 退回; 退回 asks for the reason as the next message (a
``handlers.pending`` flow, kept in ``broadcast_return_prompts``). The author is told the outcome.

The rule itself (who may decide, first decision wins, audit) is ``store.broadcasts.approval``, the same
functions the console calls. Telling reviewers and authors is part of the broadcast sender's pass
(``notify``): the console cannot talk to Telegram, so whatever it records, the bot's next pass announces.
Callback data: ``bcr:ok:<id>`` and ``bcr:no:<id>``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler

from handlers import pending, texts
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, BotContext, services_of
from handlers.guards import parse_id, reply, require_staff
from handlers.registry import Feature
from store import members as members_repo
from store.broadcasts import approval, audience, outbox
from store.broadcasts.approval import ReviewOutcome
from store.broadcasts.states import BroadcastState
from store.models import Broadcast, Member
from store.pending import BROADCAST_RETURN, Waiting

log = logging.getLogger(__name__)

PREFIX = "bcr"
_DATA = re.compile(rf"^{PREFIX}:(ok|no):(\d{{1,10}})$")
REFUSALS = {
    ReviewOutcome.ALREADY: texts.BROADCAST_REVIEW_ALREADY,
    ReviewOutcome.OWN: texts.BROADCAST_REVIEW_OWN,
    ReviewOutcome.NOT_REVIEWER: texts.BROADCAST_REVIEW_NOT_REVIEWER,
    ReviewOutcome.NO_REASON: texts.BROADCAST_RETURN_REASON_NEEDED,
}


def review_markup(broadcast_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.BTN_BC_APPROVE, callback_data=f"{PREFIX}:ok:{broadcast_id}"),
        InlineKeyboardButton(texts.BTN_BC_RETURN, callback_data=f"{PREFIX}:no:{broadcast_id}"),
    ]])


def review_text(broadcast: Broadcast, *, author: str, count: int, when: str) -> str:
    text = broadcast.text
    excerpt = text if len(text) <= 600 else text[:600] + "……"
    media = texts.BROADCAST_MEDIA_KINDS.get(broadcast.media_kind or "", texts.BROADCAST_NONE)
    return texts.BROADCAST_REVIEW_REQUEST.format(
        id=broadcast.id, author=author, audience=broadcast.audience_label, count=count, when=when, media=media,
        receipt=texts.BROADCAST_YES if broadcast.receipt else texts.BROADCAST_NO,
        urgent=texts.BROADCAST_YES if broadcast.urgent else texts.BROADCAST_NO, excerpt=excerpt,
    )


def refusal(outcome: ReviewOutcome, broadcast_id: int) -> str:
    return REFUSALS.get(outcome, texts.STALE_BUTTON).format(id=broadcast_id)


# ---- telling reviewers and authors (the sender's pass) ------------------------------------------------


@dataclass(frozen=True)
class _Notice:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None


async def notify(app: BotApplication) -> int:
    """Tell reviewers of new broadcasts awaiting approval, and authors of decisions; returns messages sent.

    Each broadcast is marked as announced (committed) before the messages go out, so two processes never
    announce it twice; a message that fails is logged, not retried (the console queue still shows it)."""
    services = services_of(app)
    now = services.clock()
    notices: list[_Notice] = []
    async with services.db.session() as session:
        for b in await approval.claim_reviewer_notices(session, now=now):
            people = await approval.names(session, member_ids={b.created_by} if b.created_by else set())
            count = len(await audience.resolve(session, spec=b.audience))
            when = (b.scheduled_at.astimezone(services.tz).strftime("%Y-%m-%d %H:%M")
                    if b.scheduled_at else texts.BROADCAST_NOW)
            text = review_text(b, author=people.get(b.created_by or 0, texts.UNKNOWN_NAME), count=count, when=when)
            for reviewer in await approval.reviewers(session, exclude_member_id=b.created_by):
                if reviewer.telegram_id is not None:
                    notices.append(_Notice(reviewer.telegram_id, text, review_markup(b.id)))
        for b in await approval.claim_author_notices(session, now=now):
            ids = {i for i in (b.created_by, b.reviewed_by) if i}
            people = await approval.names(session, member_ids=ids)
            author = await members_repo.get(session, member_id=b.created_by) if b.created_by else None
            if author is None or author.telegram_id is None or not author.active:
                continue
            decided_by = people.get(b.reviewed_by or 0, texts.UNKNOWN_NAME)
            if b.state == BroadcastState.RETURNED.value:
                text = texts.BROADCAST_AUTHOR_RETURNED.format(id=b.id, reviewer=decided_by,
                                                              reason=b.review_note or "")
            else:
                status = await outbox.status(session, broadcast_id=b.id)
                total = status.total if status is not None else 0
                text = texts.BROADCAST_AUTHOR_APPROVED.format(id=b.id, reviewer=decided_by, count=total)
            notices.append(_Notice(author.telegram_id, text))
    sent = 0
    for notice in notices:  # the transaction above is committed: no network call inside it
        try:
            await app.bot.send_message(notice.chat_id, notice.text, reply_markup=notice.markup)
            sent += 1
        except TelegramError:
            log.warning("could not send a broadcast review notice to %s", notice.chat_id, exc_info=True)
    return sent


# ---- the buttons ------------------------------------------------------------------------------------


async def _edit(update: Update, text: str) -> None:
    query = update.callback_query
    if query is None:
        await reply(update, text)
        return
    await query.answer()
    try:
        await query.edit_message_text(text)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


@require_staff
async def review_button(update: Update, context: BotContext, member: Member) -> None:
    """批准 / 退回 on a broadcast awaiting approval."""
    found = _DATA.match(update.callback_query.data or "") if update.callback_query else None
    broadcast_id = parse_id(found.group(2)) if found else None
    if found is None or broadcast_id is None:
        await reply(update, texts.STALE_BUTTON)
        return
    services, now = context.services, context.now()
    if found.group(1) == "ok":
        review = await approval.approve(context.session, broadcast_id=broadcast_id, reviewer=member, now=now,
                                        tz=services.tz, defaults=services.config(BroadcastConfig).defaults)
        if review.outcome is not ReviewOutcome.APPROVED:
            await reply(update, refusal(review.outcome, broadcast_id))
            return
        await context.commit()
        await _edit(update, texts.BROADCAST_APPROVED_BY_YOU.format(id=broadcast_id, count=review.recipients))
        _kick(context)
        return
    checked = await approval.check(context.session, broadcast_id=broadcast_id, reviewer=member)
    if checked.outcome is not ReviewOutcome.APPROVED:
        await reply(update, refusal(checked.outcome, broadcast_id))
        return
    await approval.ask_reason(context.session, member_id=member.id, broadcast_id=broadcast_id, now=now)
    await context.commit()
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, texts.BROADCAST_ASK_RETURN_REASON.format(id=broadcast_id))


# ---- the reason typed after 退回 (a pending flow) ---------------------------------------------------------


def takes(waiting: Waiting, message: Message) -> bool:
    """Any text that is not a command is the reason."""
    return message.text is not None and not message.text.startswith("/")


async def reason_input(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """The reason for returning the broadcast the reviewer pressed 退回 on."""
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if not text:
        await reply(update, texts.BROADCAST_RETURN_REASON_NEEDED)
        return
    broadcast_id = waiting.ref_id
    review = await approval.return_to_author(context.session, broadcast_id=broadcast_id, reviewer=member,
                                             reason=text, now=context.now())
    if review.outcome is not ReviewOutcome.RETURNED:
        await approval.drop_prompt(context.session, member_id=member.id)
        await reply(update, refusal(review.outcome, broadcast_id))
        return
    await context.commit()
    await reply(update, texts.BROADCAST_RETURNED_BY_YOU.format(id=broadcast_id))
    _kick(context)


def _kick(context: BotContext) -> None:
    """Start a sender pass now (it sends the approved notice and tells the author), not at the next tick."""
    from handlers.broadcast import kick  # handlers.broadcast calls ``notify`` from its pass: imported late

    kick(context.application)


async def cancel_return(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while a return reason is asked for: the broadcast keeps waiting."""
    await approval.drop_prompt(context.session, member_id=member.id)
    await reply(update, texts.BROADCAST_RETURN_CANCELLED.format(id=waiting.ref_id))


async def press(update: Update, context: BotContext, member: Member, callback: str) -> None:
    """The reason prompt has no buttons of its own; a stray press is stale."""
    await reply(update, texts.STALE_BUTTON)


def register(app: BotApplication) -> None:
    pending.add_flow(app, pending.Flow(BROADCAST_RETURN, card=pending.no_buttons, press=press, takes=takes,
                                       on_input=reason_input, cancel=cancel_return, staff=True))
    app.add_handler(CallbackQueryHandler(review_button, pattern=rf"^{PREFIX}:"))


FEATURE = Feature(name="broadcast_review", register=register)
