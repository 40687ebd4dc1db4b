"""Last-resort replies: unknown commands, unsupported media, stale buttons. Registered last."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.guards import reply
from handlers.registry import CommandInfo, Feature


def media_kind(update: Update) -> str:
    message = update.effective_message
    if message is None:
        return texts.MEDIA_DEFAULT
    for attribute, label in texts.MEDIA_KINDS.items():
        if getattr(message, attribute, None):
            return label
    return texts.MEDIA_DEFAULT


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any conversation: nothing to cancel."""
    await reply(update, texts.NOTHING_TO_CANCEL)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command no feature knows."""
    message = update.effective_message
    command = (message.text or "").split()[0] if message and message.text else "/"
    await reply(update, texts.UNKNOWN_COMMAND.format(command=command[:40]))


async def unsupported(update: Update, context: BotContext) -> None:
    """Media or other content no feature handles."""
    await reply(update, texts.UNSUPPORTED_MEDIA.format(kind=media_kind(update)))


async def plain_text(update: Update, context: BotContext) -> None:
    """Text no feature claimed."""
    message = update.effective_message
    if message is not None and not (message.text or "").strip():
        await reply(update, texts.EMPTY_TEXT)
        return
    await reply(update, texts.NOT_UNDERSTOOD)


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose data no handler recognises (old, or forged)."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.STALE_BUTTON, show_alert=True)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("cancel", cancel, filters=private))
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & filters.TEXT, plain_text))
    app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, unsupported))
    app.add_handler(CallbackQueryHandler(stale_button))


FEATURE = Feature(name="fallback", register=register, commands=(CommandInfo("cancel"),))
