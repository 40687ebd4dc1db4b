"""Sends the member notice outbox (``store.member_notices``): messages the console queued for members
(a dispute decided, an adjustment), each once, drained every few seconds by whichever worker claims them.
A notice due in the member's quiet hours waits until they end, like every other non-urgent push."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from handlers.context import BotApplication, BotContext, Services
from handlers.registry import Feature
from store import member_notices, outbox
from store.models import Member, MemberNotice

log = logging.getLogger(__name__)
JOB = "member-notices"
INTERVAL = timedelta(seconds=3)


async def send_pending(bot: Bot, services: Services) -> int:
    """Send what is due (claimed under a lease, committed before any Bot API call); returns how many went out."""
    now = services.clock()
    async with services.db.session() as session:
        claimed = await outbox.claim_sendable(  # a member in quiet hours gets theirs when they end
            session, MemberNotice, now=now, member_of=lambda row: row.member_id, defaults=services.prefs_defaults,
            tz=services.tz,
        )
        outgoing: list[tuple[int, int | None, str]] = []
        for row in claimed:
            member = await session.get(Member, row.member_id)
            chat_id = member.telegram_id if member is not None and member.active else None
            outgoing.append((row.id, chat_id, row.text))
    sent = 0
    for notice_id, chat_id, text in outgoing:
        error, give_up = None, False
        if chat_id is None:
            error, give_up = "no bound, active Telegram account", True
        else:
            try:
                await bot.send_message(chat_id, text)
                sent += 1
            except Forbidden as exc:
                error, give_up = f"blocked: {exc}", True
            except TelegramError as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            log.warning("member notice %s not sent: %s", notice_id, error)
        async with services.db.session() as session:
            await member_notices.mark(session, notice_id=notice_id, now=services.clock(), error=error,
                                      give_up=give_up)
    return sent


async def deliver_job(context: BotContext) -> None:
    """Job: drain the member notice outbox."""
    await send_pending(context.bot, context.services)


def register(app: BotApplication) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(deliver_job, interval=INTERVAL, first=timedelta(seconds=1), name=JOB)


FEATURE = Feature(name="member_notices", register=register)
