"""What the credit handlers share: the rules in force, local dates and times, cap reasons."""

from __future__ import annotations

from datetime import date, datetime

from handlers import texts
from handlers.context import BotContext
from store.credits.awards import AwardResult
from store.credits.rules import CreditRules


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
