"""/settings (members): topics of interest (targeting of learning pushes), quiet hours, and the learning-push
topics they stopped with 不再推送此主题 (恢复推送 lifts the stop)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers import texts
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, BotContext
from handlers.guards import parse_id, reply, require_member
from handlers.registry import CommandInfo, Feature
from store import preferences
from store.learning import pushes
from store.models import Member

PREFIX = "pref"
QUIET_OPTIONS = ("22:00-08:00", "23:00-07:00", "21:00-07:00", "12:00-14:00")
CALLBACK_MAX = 64  # bytes of callback data Telegram accepts


def _unblock_data(topic: str, index: int) -> str:
    """The topic itself when it fits (a stale card still names the right one), else its position."""
    data = f"{PREFIX}:u:{topic}"
    return data if len(data.encode()) <= CALLBACK_MAX else f"{PREFIX}:ui:{index}"


def _card(prefs: preferences.Prefs, catalogue: tuple[str, ...], blocked: list[str]) -> tuple[str, InlineKeyboardMarkup]:
    topics = "、".join(prefs.topics) or texts.SETTINGS_NO_TOPICS
    quiet = preferences.format_window(prefs.window) if prefs.quiet_active else texts.SETTINGS_QUIET_OFF
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for i, topic in enumerate(catalogue):
        label = ("✓ " if topic in prefs.topics else "") + topic
        row.append(InlineKeyboardButton(label, callback_data=f"{PREFIX}:t:{i}"))
        if len(row) == 3:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    current = quiet if prefs.quiet_active else None
    rows.append([InlineKeyboardButton(("✓ " if w == current else "") + w, callback_data=f"{PREFIX}:q:{i}")
                 for i, w in enumerate(QUIET_OPTIONS[:2])])
    rows.append([InlineKeyboardButton(("✓ " if w == current else "") + w, callback_data=f"{PREFIX}:q:{i + 2}")
                 for i, w in enumerate(QUIET_OPTIONS[2:])])
    rows.append([InlineKeyboardButton(("✓ " if current is None else "") + texts.BTN_SETTINGS_QUIET_OFF,
                                      callback_data=f"{PREFIX}:q:off")])
    rows += [[InlineKeyboardButton(texts.BTN_SETTINGS_UNBLOCK.format(topic=topic),
                                   callback_data=_unblock_data(topic, i))] for i, topic in enumerate(blocked)]
    text = texts.SETTINGS_CARD.format(topics=topics, quiet=quiet)
    if blocked:
        text += texts.SETTINGS_BLOCKED.format(topics="、".join(blocked))
    return text, InlineKeyboardMarkup(rows)


@require_member
async def settings_command(update: Update, context: BotContext, member: Member) -> None:
    """/settings: show the member's notification settings with buttons to change them."""
    config = context.services.config(BroadcastConfig)
    prefs = await preferences.get(context.session, member_id=member.id, defaults=config.defaults)
    blocked = await pushes.blocked_topics(context.session, member_id=member.id)
    text, markup = _card(prefs, config.topics, blocked)
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


@require_member
async def settings_button(update: Update, context: BotContext, member: Member) -> None:
    """A topic, quiet-hours or 恢复推送 button on the /settings card."""
    query = update.callback_query
    assert query is not None
    config = context.services.config(BroadcastConfig)
    action, _, arg = (query.data or "").removeprefix(f"{PREFIX}:").partition(":")
    now, index = context.now(), parse_id(arg)
    saved = texts.SETTINGS_SAVED
    if action in ("u", "ui"):
        blocked = await pushes.blocked_topics(context.session, member_id=member.id)
        topic = arg if action == "u" else (blocked[index] if index is not None and index < len(blocked) else "")
        if topic in blocked:
            await pushes.unblock_topic(context.session, member_id=member.id, topic=topic)
        saved = texts.SETTINGS_UNBLOCKED.format(topic=topic) if topic else texts.SETTINGS_SAVED
    elif action == "t" and index is not None and index < len(config.topics):
        await preferences.toggle_topic(context.session, member_id=member.id, topic=config.topics[index], now=now)
    elif action == "q" and arg == "off":
        await preferences.set_quiet_hours(context.session, member_id=member.id, window=None, now=now)
    elif action == "q" and index is not None and index < len(QUIET_OPTIONS):
        window = preferences.parse_window(QUIET_OPTIONS[index])
        await preferences.set_quiet_hours(context.session, member_id=member.id, window=window, now=now)
    else:
        await reply(update, texts.STALE_BUTTON)
        return
    await context.commit()
    prefs = await preferences.get(context.session, member_id=member.id, defaults=config.defaults)
    text, markup = _card(prefs, config.topics, await pushes.blocked_topics(context.session, member_id=member.id))
    await query.answer(saved)
    if not isinstance(query.message, Message):  # a card too old for the bot to edit: a fresh one (private chat)
        await context.bot.send_message(query.from_user.id, text, reply_markup=markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            raise


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("settings", settings_command, filters=private))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=rf"^{PREFIX}:"))


FEATURE = Feature(name="settings", register=register, commands=(CommandInfo("settings"),))
