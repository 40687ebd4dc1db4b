"""The error handler: log the traceback, tell the user in Chinese, alert the staff chat, roll back."""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.error import Forbidden, TelegramError

from handlers import texts
from handlers.application import mark_current_failed
from handlers.context import BotContext, current_uow
from store import members as members_repo

log = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


def redact(text: str) -> str:
    """Hide anything shaped like a bot token."""
    return _TOKEN_RE.sub("<token>", text)


async def _user_blocked_us(update: object, context: BotContext, error: Forbidden) -> None:
    """Not a bug: the user blocked the bot (or left Telegram). Mark them inactive; no staff alert."""
    user = update.effective_user if isinstance(update, Update) else None
    chat = update.effective_chat if isinstance(update, Update) else None
    log.info("could not reply to user %s: %s", user.id if user else "-", error.message)
    about_sender = any(s in error.message.lower() for s in ("blocked by the user", "user is deactivated"))
    if user is None or chat is None or chat.type != "private" or not about_sender:
        return  # e.g. kicked from a group, or a third user: not the sender's doing
    db, telegram_id, clock = context.services.db, user.id, context.services.clock

    async def deactivate() -> None:
        async with db.session() as session:
            if await members_repo.deactivate_by_telegram_id(session, telegram_id=telegram_id, now=clock()):
                log.info("member with telegram id %s marked inactive (bot blocked)", telegram_id)

    # The update's own unit of work is being rolled back (and may hold SQLite's write lock until then):
    # record this in a fresh session once that transaction is over.
    uow = current_uow()
    if uow is not None:
        uow.after.append(deactivate)
    else:
        await deactivate()


async def error_handler(update: object, context: BotContext) -> None:
    """Never lets an exception escape: the user hears back and staff are alerted."""
    error = context.error
    mark_current_failed()
    if isinstance(error, Forbidden):
        await _user_blocked_us(update, context, error)
        return
    log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(texts.ERROR[:190], show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, texts.ERROR)
    except Forbidden:
        pass
    except TelegramError as exc:
        log.warning("could not tell the user about the error: %s", exc)
    staff_chat = context.services.staff_chat_id
    if staff_chat is None:
        return
    user = update.effective_user
    alert = texts.STAFF_ALERT.format(
        error_type=type(error).__name__,
        user=f"{user.full_name} ({user.id})" if user else "-",
        update_id=update.update_id,
        detail=redact(str(error))[:500],
    )
    try:
        await context.bot.send_message(staff_chat, alert)
    except TelegramError as exc:
        log.warning("could not alert the staff chat: %s", exc)
