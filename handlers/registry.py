"""Feature registry: each feature module declares its commands and how to register its handlers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from handlers import texts
from handlers.context import BotApplication


@dataclass(frozen=True)
class CommandInfo:
    """A slash command shown in the menu and in /help."""

    name: str
    staff: bool = False

    @property
    def description(self) -> str:
        return texts.COMMAND_DESCRIPTIONS.get(self.name, self.name)


@dataclass(frozen=True)
class Feature:
    """One feature module: its commands and a function adding its handlers to the application."""

    name: str
    register: Callable[[BotApplication], None]
    commands: Sequence[CommandInfo] = field(default_factory=tuple)


def _in_menu_order(commands: list[CommandInfo]) -> list[CommandInfo]:
    """Menu order follows ``texts.COMMAND_DESCRIPTIONS`` (most used first), not registration order."""
    order = {name: i for i, name in enumerate(texts.COMMAND_DESCRIPTIONS)}
    return sorted(commands, key=lambda c: order.get(c.name, len(order)))


def member_commands(features: Sequence[Feature]) -> list[CommandInfo]:
    return _in_menu_order([c for f in features for c in f.commands if not c.staff])


def staff_commands(features: Sequence[Feature]) -> list[CommandInfo]:
    return _in_menu_order([c for f in features for c in f.commands if c.staff])
