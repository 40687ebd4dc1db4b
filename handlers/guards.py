"""Access checks: every member or staff action is checked in code, not only by menu scopes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from handlers import texts
from handlers.context import BotContext
from store.models import Member

# PTB's handlers take coroutine functions (``HandlerCallback``), not any callable returning an awaitable.
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
MemberCallback = Callable[[Update, BotContext, Member], Coroutine[Any, Any, Any]]


async def reply(update: Update, text: str) -> None:
    """Answer in the chat the update came from (or answer the button press)."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
        return
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def notify(update: Update, text: str) -> None:
    """A new message in the update's chat, also after its button press was answered (a press can be answered once)."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def answer_press(update: Update) -> None:
    """Answer the button press (a typed label of the button has no press to answer)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the card whose button was pressed; a typed label of the button gets the new card as a reply."""
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_text(text, reply_markup=markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


def is_private(update: Update) -> bool:
    """A private chat, or a button press with no message (answered only by an alert to the presser)."""
    chat = update.effective_chat
    if chat is None:
        return update.callback_query is not None
    return chat.type == ChatType.PRIVATE


MAX_ID = 2**31 - 1  # ids are INTEGER columns (32-bit on PostgreSQL)


def parse_id(text: str | None) -> int | None:
    """An id carried in button data or typed as an argument: ASCII digits within range, else None.

    ``str.isdigit`` alone is not enough: it accepts "²" (``int`` then fails) and 60-digit numbers
    (the database driver then fails); forged data must get ``texts.STALE_BUTTON``, not an error.
    """
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def require_member(func: MemberCallback) -> Callback:
    """Run ``func`` only for a bound, active member in a private chat; turn others away politely."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: BotContext) -> Any:
        if not is_private(update):
            await reply(update, texts.PRIVATE_ONLY)
            return None
        member = await context.member(update)
        if member is None:
            await reply(update, texts.UNBOUND)
            return None
        return await func(update, context, member)

    return wrapper


def require_staff(func: MemberCallback) -> Callback:
    """Run ``func`` only for bound staff or admins; everyone else is refused whatever they type."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: BotContext) -> Any:
        member = await context.member(update)
        if member is None:
            await reply(update, texts.UNBOUND if is_private(update) else texts.STAFF_ONLY)
            return None
        if not member.is_staff:
            await reply(update, texts.STAFF_ONLY)
            return None
        return await func(update, context, member)

    return wrapper
