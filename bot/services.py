"""Builds the service objects handlers use, from settings. The only place that wires implementations."""

from __future__ import annotations

import logging

from bot.broadcast_wiring import approval_config, broadcast_config
from bot.credits_wiring import credit_rules
from bot.learning_wiring import learning_push_config
from bot.proposals_wiring import proposals_config
from bot.settings import Settings
from handlers.console import ConsoleLinks
from handlers.context import FeatureConfigs, KnowledgeService, Services
from handlers.events import EventTokenSecret
from store.db import Database

log = logging.getLogger(__name__)


def open_knowledge(settings: Settings) -> KnowledgeService | None:
    """Open the knowledge base, or return None (with a warning) when it cannot be opened."""
    try:
        from bot.knowledge_wiring import open_knowledge_base
    except ImportError:
        return None
    try:
        return open_knowledge_base(settings)
    except Exception:  # the bot must still bind members and take check-ins
        log.exception("knowledge base unavailable; questions will be refused")
        return None


def build_services(
    settings: Settings, *, knowledge: KnowledgeService | None = None, with_knowledge: bool = True
) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    if knowledge is None and with_knowledge:
        knowledge = open_knowledge(settings)
    broadcasts = broadcast_config(settings)
    rules = credit_rules(settings)
    return Services(
        db=db,
        tz=settings.tz,
        staff_chat_id=settings.staff_chat_id,
        bot_username=settings.bot_username,
        knowledge=knowledge,
        configs=FeatureConfigs(proposals_config(settings, credit_rules=rules), rules, broadcasts,
                               EventTokenSecret.from_setting(settings.event_token_secret),
                               ConsoleLinks(base_url=settings.console_url, secret=settings.console_secret),
                               learning_push_config(settings), approval_config(settings)),
        prefs_defaults=broadcasts.defaults,
    )
