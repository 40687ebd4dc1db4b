"""/settings (members): topics of interest (targeting of learning pushes) and quiet hours."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers import texts
from handlers.broadcast_sender import BroadcastConfig
from handlers.context import BotApplication, BotContext
from handlers.guards import parse_id, reply, require_member
from handlers.registry import CommandInfo, Feature
from store import preferences
from store.models import Member

PREFIX = "pref"
QUIET_OPTIONS = ("22:00-08:00", "23:00-07:00", "21:00-07:00", "12:00-14:00")


def _card(prefs: preferences.Prefs, catalogue: tuple[str, ...]) -> tuple[str, InlineKeyboardMarkup]:
    topics = "、".join(prefs.topics) or texts.SETTINGS_NO_TOPICS
    quiet = preferences.format_window(prefs.window) if prefs.quiet_enabled else texts.SETTINGS_QUIET_OFF
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
    current = quiet if prefs.quiet_enabled else None
    rows.append([InlineKeyboardButton(("✓ " if w == current else "") + w, callback_data=f"{PREFIX}:q:{i}")
                 for i, w in enumerate(QUIET_OPTIONS[:2])])
    rows.append([InlineKeyboardButton(("✓ " if w == current else "") + w, callback_data=f"{PREFIX}:q:{i + 2}")
                 for i, w in enumerate(QUIET_OPTIONS[2:])])
    rows.append([InlineKeyboardButton(("✓ " if current is None else "") + texts.BTN_SETTINGS_QUIET_OFF,
                                      callback_data=f"{PREFIX}:q:off")])
    return texts.SETTINGS_CARD.format(topics=topics, quiet=quiet), InlineKeyboardMarkup(rows)


@require_member
async def settings_command(update: Update, context: BotContext, member: Member) -> None:
    """/settings: show the member's notification settings with buttons to change them."""
    config = context.services.config(BroadcastConfig)
    prefs = await preferences.get(context.session, member_id=member.id, defaults=config.defaults)
    text, markup = _card(prefs, config.topics)
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


@require_member
async def settings_button(update: Update, context: BotContext, member: Member) -> None:
    """A topic or quiet-hours button on the /settings card."""
    query = update.callback_query
    assert query is not None
    config = context.services.config(BroadcastConfig)
    _, action, arg = ((query.data or "") + "::").split(":")[:3]
    now, index = context.now(), parse_id(arg)
    if action == "t" and index is not None and index < len(config.topics):
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
    text, markup = _card(prefs, config.topics)
    await query.answer(texts.SETTINGS_SAVED)
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
