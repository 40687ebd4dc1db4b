"""Command menus per scope. Scopes only change the menu; permissions are enforced by guards."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from handlers.context import BotApplication
from handlers.registry import CommandInfo, Feature, member_commands, staff_commands

log = logging.getLogger(__name__)


def _bot_commands(infos: Iterable[CommandInfo]) -> list[BotCommand]:
    return [BotCommand(info.name, info.description) for info in infos]


def features_of(app: BotApplication) -> Sequence[Feature]:
    return app.bot_data.get("features", ())


async def publish_default_menu(app: BotApplication) -> None:
    await app.bot.set_my_commands(_bot_commands(member_commands(features_of(app))), scope=BotCommandScopeDefault())


async def publish_staff_menu(app: BotApplication, chat_ids: Iterable[int]) -> None:
    features = features_of(app)
    commands = _bot_commands([*member_commands(features), *staff_commands(features)])
    for chat_id in chat_ids:
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:  # a staff member who never opened the chat
            log.warning("could not set staff menu for chat %s: %s", chat_id, exc)
