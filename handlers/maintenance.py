"""Housekeeping jobs: forget processed update ids once Telegram can no longer redeliver them.

Also ``claim_job_run``: several bot processes (webhook workers) each run every scheduled job; a job that
must happen once per period (a daily digest, a reminder round) asks it first.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.context import BotApplication, BotContext, Services
from handlers.registry import Feature
from store import app_state
from store import updates as updates_repo

log = logging.getLogger(__name__)

# Telegram keeps undelivered updates for 24 hours; a week is a comfortable margin.
PROCESSED_UPDATE_RETENTION = timedelta(days=7)


async def claim_job_run(services: Services, *, job: str, slot: int) -> bool:
    """True for the one process that runs period ``slot`` of ``job`` (committed before the job's work)."""
    async with services.db.session() as session:
        claimed = await app_state.claim_run(session, name=f"job:{job}", slot=slot, now=services.clock())
    if not claimed:
        log.info("%s: run %s was taken by another process", job, slot)
    return claimed


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
