"""Housekeeping jobs: forget processed update ids once Telegram can no longer redeliver them."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.context import BotApplication, BotContext
from handlers.registry import Feature
from store import updates as updates_repo

log = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; a week is a comfortable margin.
PROCESSED_UPDATE_RETENTION = timedelta(days=7)


async def prune_processed_updates(context: BotContext) -> None:
    """Delete processed-update marks older than the retention period."""
    services = context.services
    async with services.db.session() as session:
        removed = await updates_repo.prune(session, before=services.clock() - PROCESSED_UPDATE_RETENTION)
    if removed:
        log.info("pruned %d processed update ids", removed)


def register(app: BotApplication) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(prune_processed_updates, interval=timedelta(hours=6), first=timedelta(minutes=5),
                                    name="prune-processed-updates")


FEATURE = Feature(name="maintenance", register=register)
