"""Learning pushes (学习推送): the weekly plan, the sender of due pushes, and 不再推送此主题.

* Planning: a job every hour; the first run of each week (claimed once across workers) plans the week
  (``store.learning.pushes.plan_and_save``). Staff preview next week's plan in the console and with
  ``cppcc-bot learning plan --week next`` (the same store function, nothing saved).
* Sending: a job every ``tick_seconds`` claims the due rows (a committed conditional UPDATE, so two workers
  never send one push twice), checks quiet hours again at send time (a push due in them moves to their
  end), and sends each through the bot's shared rate limiter as a bulk call (behind every reply).
* Each push carries 开始阅读 (the library's reader, ``learn:page:<material>:1``) and 不再推送此主题
  (``lpush:stop:<push id>``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler

from handlers import texts
from handlers.broadcast_sender import new_token
from handlers.context import BotApplication, BotContext, Services, services_of
from handlers.guards import parse_id, reply, require_member
from handlers.maintenance import claim_job_run
from handlers.rate_limit import bulk_sends
from handlers.registry import Feature
from store import members as members_repo
from store import preferences
from store.learning import pushes
from store.learning.planner import week_start
from store.models import Member

log = logging.getLogger(__name__)

PREFIX = "lpush"
READ_PREFIX = "learn:page"  # the library's reader (handlers/learn.py): learn:page:<material id>:<page>
PLAN_JOB = "learning-push-plan"
SEND_JOB = "learning-push-send"
PLAN_EVERY = timedelta(hours=1)


def message(due: pushes.DuePush) -> tuple[str, InlineKeyboardMarkup]:
    """The push as members see it, with 开始阅读 and (when it has a topic) 不再推送此主题."""
    template = texts.LEARNING_PUSH_REASONS.get(due.reason, texts.LEARNING_PUSH_REASONS["new"])
    why = template.format(topic=due.topic or "", label=due.required_label or texts.LEARNING_PUSH_REQUIRED_LABEL)
    text = texts.LEARNING_PUSH_MESSAGE.format(title=due.title, minutes=due.estimated_minutes, why=why)
    rows = [[InlineKeyboardButton(texts.BTN_LEARNING_PUSH_READ, callback_data=f"{READ_PREFIX}:{due.material_id}:1")]]
    if due.topic:
        rows.append([InlineKeyboardButton(texts.BTN_LEARNING_PUSH_STOP, callback_data=f"{PREFIX}:stop:{due.push_id}")])
    return text, InlineKeyboardMarkup(rows)


async def plan_current_week(services: Services) -> int | None:
    """Plan this week once (the first worker to claim it); None when another worker has it."""
    now = services.clock()
    week_from = week_start(now, services.tz)
    if not await claim_job_run(services, job=PLAN_JOB, slot=int(week_from.timestamp())):
        return None
    config = services.config(pushes.LearningPushConfig)
    async with services.db.session() as session:
        count = await pushes.plan_and_save(
            session, week_from=week_from, now=now, config=config, defaults=services.prefs_defaults, tz=services.tz,
            wrong_topics=config.wrong_topics,
        )
        await session.commit()
    log.info("learning pushes: planned %d for the week of %s", count, week_from.date())
    return count


async def plan_job(context: BotContext) -> None:
    """JobQueue: plan the week at its first run in the week."""
    await plan_current_week(context.services)


async def send_due(bot: Bot, services: Services) -> int:
    """Send the pushes due now (quiet hours checked again); returns how many were sent."""
    config = services.config(pushes.LearningPushConfig)
    now = services.clock()
    token = new_token()
    async with services.db.session() as session:
        await pushes.recover_stale(session, now=now, stale_after=config.stale_after)
        due = await pushes.claim_due(session, now=now, token=token, limit=config.batch)
        held = await preferences.deferred_until(
            session, member_ids={d.member_id for d in due}, defaults=services.prefs_defaults, now=now, tz=services.tz,
        )
        outgoing = []
        for item in due:
            if item.member_id in held:
                await pushes.defer(session, push_id=item.push_id, token=token, until=held[item.member_id])
            elif not item.pushable:
                await pushes.record(session, push_id=item.push_id, token=token, status="skipped", now=now)
            else:
                outgoing.append(item)
        await session.commit()  # claims and deferrals are committed before any send
    sent = 0
    for item in outgoing:
        text, markup = message(item)
        status, error, blocked = "sent", None, False
        assert item.chat_id is not None
        try:
            with bulk_sends():
                await bot.send_message(item.chat_id, text, reply_markup=markup)
            sent += 1
        except Forbidden as exc:
            status, error, blocked = "failed", f"blocked: {exc}", True
        except TelegramError as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        async with services.db.session() as session:
            await pushes.record(session, push_id=item.push_id, token=token, status=status, now=services.clock(),
                                error=error)
            if blocked:
                await members_repo.deactivate_by_telegram_id(session, telegram_id=item.chat_id, now=services.clock())
            await session.commit()
    return sent


async def send_job(context: BotContext) -> None:
    """JobQueue: send the due learning pushes."""
    await send_due(context.bot, context.services)


@require_member
async def stop_button(update: Update, context: BotContext, member: Member) -> None:
    """不再推送此主题 on a push: stop pushes on its topic for this member."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    push_id = parse_id(parts[2]) if len(parts) == 3 and parts[1] == "stop" else None
    push = await pushes.push_of(context.session, push_id=push_id, member_id=member.id) if push_id else None
    if push is None:
        await reply(update, texts.STALE_BUTTON)
        return
    if not push.topic:
        await reply(update, texts.LEARNING_PUSH_NO_TOPIC)
        return
    topic = push.topic
    added = await pushes.block_topic(context.session, member_id=member.id, topic=topic, now=context.now())
    await context.commit()
    done = texts.LEARNING_PUSH_STOPPED if added else texts.LEARNING_PUSH_ALREADY_STOPPED
    if update.effective_message is None:  # a press on a message the bot no longer has: answer in an alert
        await reply(update, done.format(topic=topic))
        return
    await query.answer()
    await update.effective_message.reply_text(done.format(topic=topic))


def register(app: BotApplication) -> None:
    app.add_handler(CallbackQueryHandler(stop_button, pattern=rf"^{PREFIX}:"))
    if app.job_queue is not None:
        config = services_of(app).config(pushes.LearningPushConfig)
        app.job_queue.run_repeating(plan_job, interval=PLAN_EVERY, first=timedelta(seconds=30), name=PLAN_JOB)
        app.job_queue.run_repeating(send_job, interval=config.tick_seconds, first=timedelta(seconds=5),
                                    name=SEND_JOB)


FEATURE = Feature(name="learning_push", register=register)
