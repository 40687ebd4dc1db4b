"""Background work of the proposal feature (PTB JobQueue; each job opens its own session).

* the member notification outbox, drained every few seconds (also what ``proposals update`` fills);
* one reminder per abandoned draft;
* the daily three-colour digest to the staff chat;
* the outbound webhook, when PROPOSALS_WEBHOOK_URL is set;
* photos of submitted items downloaded into the data dir (``store.proposals.photos``), for the console.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import time, timedelta
from pathlib import Path

import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError

from handlers import proposal_views as views
from handlers import texts
from handlers.context import BotApplication, BotContext, Services
from handlers.maintenance import claim_job_run
from store import outbox, preferences
from store.models import Member, ProposalNotification
from store.proposals import photos, webhook
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.warning import Warning

log = logging.getLogger(__name__)

OUTBOX_JOB = "proposals-outbox"
REMINDER_JOB = "proposals-draft-reminders"
REMINDER_EVERY_SECONDS = 30 * 60  # one reminder round per half hour, by whichever worker comes first
DIGEST_JOB = "proposals-digest"
WEBHOOK_JOB = "proposals-webhook"
PHOTOS_JOB = "proposals-photos"
PHOTOS_INTERVAL = timedelta(seconds=3)
PHOTO_MAX_BYTES = 20 * 1024 * 1024  # the Bot API's own download limit
OUTBOX_INTERVAL = timedelta(seconds=3)
DIGEST_AT = time(9, 0)
DIGEST_LIMIT = 15


async def deliver_notifications(context: BotContext) -> int:
    """Job: send pending member notifications once each; returns how many were sent."""
    return await send_pending(context.bot, context.services)


async def send_pending(bot: Bot, services: Services) -> int:
    """Send the notification outbox (claimed under a lease, so a concurrent sender never doubles it)."""
    now = services.clock()
    async with services.db.session() as session:
        claimed = await outbox.claim_sendable(  # a member in quiet hours gets theirs when they end
            session, ProposalNotification, now=now, member_of=lambda row: row.member_id,
            defaults=services.prefs_defaults, tz=services.tz,
        )
        outgoing: list[tuple[int, int | None, str, InlineKeyboardMarkup | None]] = []  # id, chat, text, buttons
        for row in claimed:
            event = row.event
            proposal = await repo.get(session, proposal_id=event.proposal_id)
            member = await session.get(Member, row.member_id)
            if proposal is None or member is None or member.telegram_id is None or not member.active:
                outgoing.append((row.id, None, "", None))
                continue
            into = None
            if event.action == "merge" and proposal.merged_into_id:
                target = await repo.get(session, proposal_id=proposal.merged_into_id)
                into = target.number if target else None
            text, markup = views.notification(event, proposal, role=row.role, into=into)
            outgoing.append((row.id, member.telegram_id, text, markup))
    sent = 0
    for notification_id, chat_id, text, markup in outgoing:
        error, give_up = None, False
        if chat_id is None:
            error, give_up = "no bound Telegram account", True
        else:
            try:
                await bot.send_message(chat_id, text, reply_markup=markup)
                sent += 1
            except Forbidden as exc:
                error, give_up = f"blocked: {exc}", True
            except TelegramError as exc:
                error = f"{type(exc).__name__}: {exc}"
        async with services.db.session() as session:
            await repo.mark_notification(session, notification_id=notification_id, now=services.clock(),
                                         error=error, give_up=give_up)
    return sent


def _write_atomically(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    part.write_bytes(data)
    os.replace(part, folder / name)


async def fetch_photos(bot: Bot, services: Services) -> int:
    """Download photos of submitted items into the photo folder of the data dir; returns how many.

    Rows are claimed (committed) first, then each photo is fetched with no transaction open; a failure
    keeps the file id and the item, and the photo is tried again later (the console shows it as
    unavailable meanwhile)."""
    folder = services.config(ProposalsConfig).photo_dir
    if folder is None:
        return 0
    async with services.db.session() as session:
        claimed = await photos.claim_downloads(session, now=services.clock())
    stored = 0
    for item in claimed:
        try:
            file = await bot.get_file(item.file_id)
            if file.file_size is not None and file.file_size > PHOTO_MAX_BYTES:
                raise ValueError("photo too large")
            data = bytes(await file.download_as_bytearray())
            await asyncio.to_thread(_write_atomically, folder, item.name, data)
        except (TelegramError, OSError, ValueError) as exc:
            log.info("photo %s of proposal %s not downloaded: %s", item.photo_id, item.proposal_id, exc)
            async with services.db.session() as session:
                await photos.download_failed(session, photo_id=item.photo_id, now=services.clock())
            continue
        async with services.db.session() as session:
            await photos.record_download(session, photo_id=item.photo_id, name=item.name)
        stored += 1
    return stored


async def download_photos(context: BotContext) -> int:
    """Job: download the photos of newly submitted items (claimed rows, so one worker fetches each)."""
    return await fetch_photos(context.bot, context.services)


async def remind_drafts(context: BotContext) -> int:
    """Remind each member once about a draft left untouched for a day; the draft is kept."""
    services = context.services
    config = services.config(ProposalsConfig)
    now = services.clock()
    if not await claim_job_run(services, job=REMINDER_JOB, slot=int(now.timestamp() // REMINDER_EVERY_SECONDS)):
        return 0  # another worker has this round
    async with services.db.session() as session:
        drafts = await repo.drafts_to_remind(session, idle_since=now - timedelta(hours=config.draft_reminder_hours))
        held = await preferences.deferred_until(
            session, member_ids={d.member_id for d in drafts}, defaults=services.prefs_defaults, now=now,
            tz=services.tz,
        )
        due = []
        for draft in drafts:
            if draft.member_id in held:  # quiet hours: remind on a later run
                continue
            member = await session.get(Member, draft.member_id)
            draft.reminded_at = now  # once, whether or not the message gets through
            if draft.step == "offered" or member is None or member.telegram_id is None:
                continue
            preview = views.preview(draft.data.get("content") or draft.data.get("title") or "")
            due.append((member.telegram_id, texts.PROPOSAL_DRAFT_REMINDER.format(preview=preview), draft.id))
    for chat_id, text, draft_id in due:
        try:
            await context.bot.send_message(chat_id, text, reply_markup=views.reminder_keyboard(draft_id))
        except TelegramError as exc:
            log.info("draft reminder to %s failed: %s", chat_id, exc)
    return len(due)


async def digest_text(services: Services) -> str | None:
    config = services.config(ProposalsConfig)
    now = services.clock()
    async with services.db.session() as session:
        queue = await repo.review_queue(session, now=now, tz=services.tz, config=config, limit=1000)
    if not queue:
        return None
    counts = {w: sum(1 for _, x in queue if x is w) for w in (Warning.RED, Warning.YELLOW, Warning.GREEN)}
    waiting = sum(1 for p, _ in queue if p.status == "submitted")
    lines = [texts.PROPOSAL_DIGEST.format(
        date=now.astimezone(services.tz).date().isoformat(), total=len(queue), red=counts[Warning.RED],
        yellow=counts[Warning.YELLOW], green=counts[Warning.GREEN], waiting=waiting)]
    for p, warning in queue[:DIGEST_LIMIT]:
        if warning in (Warning.RED, Warning.YELLOW):
            lines.append(texts.PROPOSAL_DIGEST_LINE.format(
                icon=texts.PROPOSAL_WARNING_ICONS[warning.value], number=p.number, title=p.title,
                unit=f"{p.unit}，" if p.unit else "", deadline=views.fmt_date(p.deadline)))
    return "\n".join(lines)


async def send_digest(context: BotContext) -> bool:
    """The daily three-colour digest to the staff chat (nothing when the queue is empty)."""
    services = context.services
    if services.staff_chat_id is None:
        return False
    today = services.clock().astimezone(services.tz).date()
    if not await claim_job_run(services, job=DIGEST_JOB, slot=today.toordinal()):
        return False  # another worker sends today's digest
    text = await digest_text(services)
    if text is None:
        return False
    try:
        await context.bot.send_message(services.staff_chat_id, text)
    except TelegramError as exc:
        log.warning("could not send the proposal digest: %s", exc)
        return False
    return True


async def deliver_webhooks(context: BotContext) -> int:
    services = context.services
    config = services.config(ProposalsConfig)
    if not config.webhook_url:
        return 0
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await webhook.deliver_due(services.db.sessionmaker, client=client, url=config.webhook_url,
                                         secret=config.webhook_secret, now=services.clock())


def deliver_on_start(app: BotApplication) -> None:
    """Chain onto ``post_init``: notifications queued while the bot was down (e.g. by ``proposals update``)
    go out before the first update is handled."""
    previous = app.post_init

    async def post_init(application: BotApplication) -> None:
        if previous is not None:
            await previous(application)
        try:
            await send_pending(application.bot, application.bot_data["services"])
        except Exception:  # start-up must not fail because of one notification; the job retries
            log.exception("could not deliver pending proposal notifications at start-up")

    app.post_init = post_init


def schedule(app: BotApplication) -> None:
    deliver_on_start(app)
    jobs = app.job_queue
    if jobs is None:
        return
    services: Services = app.bot_data["services"]
    jobs.run_repeating(deliver_notifications, interval=OUTBOX_INTERVAL, first=timedelta(seconds=1), name=OUTBOX_JOB)
    jobs.run_repeating(remind_drafts, interval=timedelta(seconds=REMINDER_EVERY_SECONDS), first=timedelta(minutes=1),
                       name=REMINDER_JOB)
    jobs.run_repeating(download_photos, interval=PHOTOS_INTERVAL, first=timedelta(seconds=2), name=PHOTOS_JOB)
    jobs.run_daily(send_digest, time=DIGEST_AT.replace(tzinfo=services.tz), name=DIGEST_JOB)
    if services.config(ProposalsConfig).webhook_url:
        jobs.run_repeating(deliver_webhooks, interval=timedelta(seconds=5), first=timedelta(seconds=2),
                           name=WEBHOOK_JOB)
