"""What the credit handlers share: the rules in force, local dates, and who is typing an answer to us."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import Message
from telegram.ext import BaseHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from store.credits.awards import AwardResult
from store.credits.rules import CreditRules

AWAITING_KEY = "credits_awaiting"


def rules_of(context: BotContext) -> CreditRules:
    """The credit rules in force (``bot`` loads them from CREDIT_RULES_FILE)."""
    return context.services.config(CreditRules)


def local_now(context: BotContext) -> datetime:
    return context.now().astimezone(context.services.tz)


def local_today(context: BotContext) -> date:
    return local_now(context).date()


def fmt_time(context: BotContext, at: datetime) -> str:
    local = at.astimezone(context.services.tz)
    return local.strftime("%H:%M") if local.date() == local_today(context) else local.strftime("%m-%d %H:%M")


def cap_reason(result: AwardResult | None) -> str | None:
    if result is None or result.capped_reason is None:
        return None
    return texts.CREDIT_CAP_REASONS.get(result.capped_reason, result.capped_reason)


# --- typed answers (a draft field, a dispute reason) ------------------------------------------------
# Which users owe us a typed answer is kept in the database (drafts, disputes); this in-memory index
# lets a synchronous filter route their next text here without stealing other users' texts. It is
# rebuilt from the database at start-up (see ``warm_awaiting``).


def awaiting_index(app: BotApplication) -> dict[int, str]:
    index: dict[int, str] = app.bot_data.setdefault(AWAITING_KEY, {})
    return index


def set_awaiting(context: BotContext, telegram_id: int, kind: str | None) -> None:
    index = awaiting_index(context.application)
    if kind is None:
        index.pop(telegram_id, None)
    else:
        index[telegram_id] = kind


class AwaitingFilter(filters.MessageFilter):
    """Matches messages from users who owe a typed answer of ``kind``."""

    def __init__(self, index: dict[int, str], kind: str) -> None:
        super().__init__(name=f"AwaitingFilter({kind})")
        self.index, self.kind = index, kind

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and self.index.get(user.id) == self.kind


def first_in_group(app: BotApplication, handler: BaseHandler[Any, Any, Any], group: int = 0) -> None:
    """Register ``handler`` ahead of the handlers already in ``group`` (e.g. before /start's)."""
    app.add_handler(handler, group)
    handlers = app.handlers[group]
    handlers.insert(0, handlers.pop())
