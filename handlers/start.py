"""Binding (/start CODE, deep link or a bare code), /help, and the gate that turns unbound users away."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, CommandHandler, TypeHandler

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.guards import is_private, reply
from handlers.menu import features_of, publish_staff_menu
from handlers.registry import CommandInfo, Feature, member_commands, staff_commands
from store import members as members_repo

MAX_TEXT = 4096  # Telegram's own limit for one message
PAYLOADS_KEY = "start_payloads"
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
MAX_FAILED_CODES = members_repo.MAX_FAILED_BINDS_PER_ACCOUNT  # failed attempts are counted in the database


async def _bind(update: Update, context: BotContext, code: str) -> None:
    user = update.effective_user
    if user is None:
        return
    result = await members_repo.bind(context.session, code=code, telegram_id=user.id, now=context.now())
    outcome = result.outcome
    if outcome is members_repo.BindOutcome.BOUND and result.member is not None:
        context.uow.member, context.uow.member_loaded = result.member, True
        await context.commit()
        await reply(update, texts.BOUND_WELCOME.format(name=result.member.name))
        if result.member.is_staff:
            await publish_staff_menu(context.application, [user.id])
        return
    if outcome is members_repo.BindOutcome.ALREADY_BOUND and result.member is not None:
        await reply(update, texts.ALREADY_BOUND.format(name=result.member.name))
        return
    await context.commit()  # the failed attempt counts, whatever happens next
    # Unknown, used and inactive codes get one reply: it must not tell a guesser that a code exists.
    await reply(update, texts.CODE_TOO_MANY if outcome is members_repo.BindOutcome.TOO_MANY else texts.CODE_UNKNOWN)


def _addressed_command(update: Update, bot_username: str | None) -> bool:
    """Is this group message a command meant for us (``/cmd`` or ``/cmd@ourbot``)?"""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return False
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return False
    command = message.text[: first.length]
    if "@" not in command:
        return True
    return bot_username is not None and command.split("@", 1)[1].lower() == bot_username.lower()


async def gate(update: Update, context: BotContext) -> None:
    """Runs first for every update: groups, unbound users and oversized texts stop here."""
    chat = update.effective_chat
    if update.edited_message is not None or update.edited_channel_post is not None:
        raise ApplicationHandlerStop
    if chat is not None and chat.type != ChatType.PRIVATE:
        if update.callback_query is not None:
            await update.callback_query.answer(texts.PRIVATE_ONLY)
        elif chat.type != ChatType.CHANNEL and _addressed_command(update, context.bot.username):
            await reply(update, texts.PRIVATE_ONLY)  # never in a channel: every subscriber would see it
        raise ApplicationHandlerStop
    message = update.message
    if message is not None and message.text is not None and len(message.text) > MAX_TEXT:
        await reply(update, texts.TOO_LONG.format(length=len(message.text), limit=MAX_TEXT))
        raise ApplicationHandlerStop
    if update.effective_user is None or await context.member(update) is not None:
        return
    # Unbound user in a private chat: only binding is possible.
    if message is not None and message.text is not None:
        text = message.text.strip()
        if text.startswith("/start"):
            return  # handled by the /start handler below
        if members_repo.looks_like_code(text):
            await _bind(update, context, text)
            raise ApplicationHandlerStop
    if update.callback_query is not None or update.message is not None:
        await reply(update, texts.UNBOUND)
    raise ApplicationHandlerStop


async def start(update: Update, context: BotContext) -> None:
    """/start [CODE]: bind with an invite code (typed or from a deep link), or greet."""
    if not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return
    if context.args:
        payloads: dict[str, Callback] = context.application.bot_data.get(PAYLOADS_KEY, {})
        handler = next((cb for prefix, cb in payloads.items() if context.args[0].startswith(prefix)), None)
        if handler is not None:
            await handler(update, context)
        else:
            await _bind(update, context, context.args[0])
        return
    member = await context.member(update)
    if member is None:
        await reply(update, texts.UNBOUND)
    else:
        await reply(update, texts.WELCOME_BACK.format(name=member.name))


def add_payload(app: BotApplication, prefix: str, callback: Callback) -> None:
    """Deep links whose payload starts with ``prefix`` (e.g. ``EVT`` for event check-ins) go to ``callback``,
    not to invite-code binding."""
    app.bot_data.setdefault(PAYLOADS_KEY, {})[prefix] = callback


def help_text(app: BotApplication, *, staff: bool) -> str:
    features = features_of(app)
    lines = [texts.HELP_STAFF_INTRO if staff else texts.HELP_MEMBER_HEAD]
    lines += [f"/{c.name} {c.description}" for c in member_commands(features)]
    if staff:
        lines += ["", texts.HELP_STAFF_HEAD]
        lines += [f"/{c.name} {c.description}" for c in staff_commands(features)]
    lines += ["", texts.HELP_TAIL]
    return "\n".join(lines)


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot can do for this user's role."""
    member = await context.member(update)
    if member is None:
        await reply(update, texts.HELP_UNBOUND)
        return
    await reply(update, help_text(context.application, staff=member.is_staff))


def register(app: BotApplication) -> None:
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))


FEATURE = Feature(
    name="start",
    register=register,
    commands=(CommandInfo("start"), CommandInfo("help")),
)
