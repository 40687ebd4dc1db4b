"""/credits (a member's own standing, chart, disputes, reminder opt-out), staff /stats, and the reminder job."""

from __future__ import annotations

import logging
from datetime import datetime, time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers import pending, texts
from handlers.charts import bar_chart
from handlers.context import BotApplication, BotContext, services_of
from handlers.credits_common import local_today, rules_of
from handlers.guards import parse_id, reply, require_member, require_staff
from handlers.learn import learning_stats_lines
from handlers.maintenance import claim_job_run
from handlers.rate_limit import bulk_sends
from handlers.registry import CommandInfo, Feature
from store import members as members_repo
from store import preferences
from store.credits import ledger, reports
from store.credits.rules import CreditRules
from store.models import CreditEntry, Member
from store.pending import DISPUTE, Waiting

log = logging.getLogger(__name__)
PREFIX = "cr"
STAFF_PREFIX = "crs"


def _entry_line(entry: CreditEntry, rules: CreditRules) -> str:
    note = ""
    if entry.capped_reason:
        note = f"（{texts.CREDIT_CAP_REASONS.get(entry.capped_reason, entry.capped_reason)}）"
    elif entry.source_type == "adjustment" and entry.note:
        note = f"（{entry.note[:30]}）"
    return texts.CREDITS_RECENT_LINE.format(
        id=entry.id, day=entry.activity_date.strftime("%m-%d"), label=rules.label(entry.rule_id),
        title=entry.title if entry.title and entry.source_type != "adjustment" else "", points=entry.points,
        note=note,
    )


def _parts(by_type: dict[str, int], rules: CreditRules) -> str:
    return " · ".join(f"{rules.label(k)} {v}" for k, v in by_type.items() if v)


def _menu(reminders_on: bool) -> InlineKeyboardMarkup:
    toggle = (InlineKeyboardButton(texts.BTN_REMINDERS_OFF, callback_data=f"{PREFIX}:remind:off") if reminders_on
              else InlineKeyboardButton(texts.BTN_REMINDERS_ON, callback_data=f"{PREFIX}:remind:on"))
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(texts.BTN_CREDITS_CHART, callback_data=f"{PREFIX}:chart"),
         InlineKeyboardButton(texts.BTN_CREDITS_DISPUTE, callback_data=f"{PREFIX}:disp")],
        [toggle],
    ])


@require_member
async def credits_command(update: Update, context: BotContext, member: Member) -> None:
    """/credits: this year's total against the target, by type, the last entries and a private band."""
    rules, today = rules_of(context), local_today(context)
    standing = await reports.standing(context.session, rules=rules, member_id=member.id, today=today)
    recent = await reports.recent_entries(context.session, member_id=member.id)
    reminders_on = await ledger.reminders_enabled(context.session, member_id=member.id)
    percent = round(100 * standing.total / standing.target) if standing.target else 0
    lines = [texts.CREDITS_VIEW.format(year=standing.year, total=standing.total, target=standing.target,
                                       percent=percent)]
    if standing.by_type:
        lines.append(texts.CREDITS_BY_TYPE.format(parts=_parts(standing.by_type, rules)))
    if recent:
        lines += ["", texts.CREDITS_RECENT_HEAD, *(_entry_line(e, rules) for e in recent)]
    else:
        lines += ["", texts.CREDITS_NONE]
    lines += ["", texts.CREDITS_BANDS[standing.band] + texts.CREDITS_PRIVATE]
    if update.effective_message is not None:
        await update.effective_message.reply_text("\n".join(lines), reply_markup=_menu(reminders_on))


async def _send_chart(update: Update, context: BotContext, member: Member) -> None:
    today = local_today(context)
    months = await reports.monthly_points(context.session, member_id=member.id, year=today.year)
    chat = update.effective_chat
    if chat is None:
        return
    png = bar_chart(texts.CHART_MONTHS, months, title=texts.CREDITS_CHART_TITLE.format(year=today.year),
                    ylabel=texts.CHART_AXIS_POINTS)
    await context.bot.send_photo(
        chat.id, photo=png, caption=texts.CREDITS_CHART_CAPTION.format(year=today.year, total=sum(months))
    )


@require_member
async def credits_button(update: Update, context: BotContext, member: Member) -> None:
    """Buttons under /credits: chart, dispute, reminders on/off, and the entry picked for a dispute."""
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    rules = rules_of(context)
    if action == "chart" and len(parts) == 2:
        await query.answer()
        await _send_chart(update, context, member)
    elif action == "remind" and len(parts) == 3 and parts[2] in ("on", "off"):
        await ledger.set_reminders(context.session, member_id=member.id, enabled=parts[2] == "on")
        await context.commit()
        await query.answer(texts.REMINDERS_ON if parts[2] == "on" else texts.REMINDERS_OFF, show_alert=True)
    elif action == "disp" and len(parts) == 2:
        entries = [e for e in await reports.recent_entries(context.session, member_id=member.id)
                   if e.source_type != "adjustment" and e.reverses_id is None]
        corrected = await ledger.corrected_ids(context.session, entry_ids=[e.id for e in entries])
        recent = [e for e in entries if e.id not in corrected]
        await query.answer()
        if not recent:
            await reply_text(update, texts.DISPUTE_NONE)
            return
        keyboard = [[InlineKeyboardButton(texts.DISPUTE_BUTTON.format(id=e.id), callback_data=f"{PREFIX}:d:{e.id}")]
                    for e in recent]
        await reply_text(update, texts.DISPUTE_PICK + "\n" + "\n".join(_entry_line(e, rules) for e in recent),
                         InlineKeyboardMarkup(keyboard))
    elif action == "d" and len(parts) == 3 and (entry_id := parse_id(parts[2])) is not None:
        entry = await reports.get_entry(context.session, entry_id=entry_id)
        if entry is None or entry.member_id != member.id:
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        try:
            dispute = await ledger.open_dispute(context.session, entry=entry, member_id=member.id, now=context.now())
        except ledger.DisputeError as exc:
            await query.answer(texts.DISPUTE_REFUSED.get(exc.code, texts.STALE_BUTTON), show_alert=True)
            return
        await context.commit()
        await query.answer()
        buttons = [InlineKeyboardButton(label, callback_data=data) for label, data in _reason_buttons(dispute.id)]
        await reply_text(update, texts.DISPUTE_ASK_REASON, InlineKeyboardMarkup([buttons]))
    elif action == "dx" and len(parts) == 3:
        await press_dispute(update, context, member, query.data or "")
    else:
        await query.answer(texts.STALE_BUTTON, show_alert=True)


async def reply_text(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    chat = update.effective_chat
    message = update.effective_message
    if message is not None and chat is not None:
        await message.get_bot().send_message(chat.id, text, reply_markup=markup)


def _reason_buttons(dispute_id: int) -> list[tuple[str, str]]:
    return [(texts.BTN_CANCEL, f"{PREFIX}:dx:{dispute_id}")]


async def _drop_dispute(update: Update, context: BotContext, member: Member, dispute_id: int | None) -> None:
    dispute = await ledger.drafting_dispute(context.session, member_id=member.id)
    if dispute is None or dispute.id != dispute_id:
        await reply(update, texts.STALE_BUTTON)
        return
    await ledger.drop_dispute(context.session, dispute=dispute)
    await context.commit()
    if update.callback_query is not None:
        await update.callback_query.answer()
        await reply_text(update, texts.CANCELLED)
    else:
        await reply(update, texts.CANCELLED)


async def press_dispute(update: Update, context: BotContext, member: Member, data: str) -> None:
    """取消 under the question for a dispute's reason (tapped or typed): drop the dispute."""
    parts = data.split(":")
    await _drop_dispute(update, context, member, parse_id(parts[2]) if len(parts) == 3 else None)


async def cancel_dispute(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while the reason of a dispute is asked for."""
    await _drop_dispute(update, context, member, waiting.ref_id)


async def dispute_card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    return _reason_buttons(waiting.ref_id)


def takes_reason(waiting: Waiting, message: Message) -> bool:
    return message.text is not None and not message.text.startswith("/")


async def dispute_reason(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """The reason for a dispute: submit it and tell the staff chat."""
    message = update.effective_message
    if message is None:
        return
    dispute = await ledger.drafting_dispute(context.session, member_id=member.id)
    if dispute is None:
        await reply(update, texts.STALE_BUTTON)
        return
    text = (message.text or "").strip()
    try:
        await ledger.submit_dispute(context.session, dispute=dispute, reason=text)
    except ledger.DisputeError as exc:
        if exc.code == "gone":  # the same reason sent twice at once: the other update submitted it
            await reply(update, texts.STALE_BUTTON)
            return
        await ledger.drop_dispute(context.session, dispute=dispute)
        await context.commit()
        await reply(update, texts.DISPUTE_REFUSED.get(exc.code, texts.STALE_BUTTON))
        return
    entry = await reports.get_entry(context.session, entry_id=dispute.entry_id)
    await context.commit()
    await reply(update, texts.DISPUTE_SUBMITTED.format(id=dispute.id))
    if entry is None:
        return
    rules = rules_of(context)
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.BTN_DISPUTE_UPHOLD, callback_data=f"{STAFF_PREFIX}:uphold:{dispute.id}"),
        InlineKeyboardButton(texts.BTN_DISPUTE_CORRECT, callback_data=f"{STAFF_PREFIX}:correct:{dispute.id}"),
    ]])
    notice = texts.DISPUTE_STAFF.format(
        id=dispute.id, name=member.name, entry=entry.id, day=entry.activity_date.strftime("%m-%d"),
        label=rules.label(entry.rule_id), title=entry.title or "", points=entry.points, reason=dispute.reason,
    )
    # Buttons go to staff in private chats (group chats are not served); the first to decide resolves it.
    for staff_id in await members_repo.staff_telegram_ids(context.session):
        try:
            await context.bot.send_message(staff_id, notice, reply_markup=keyboard)
        except TelegramError as exc:
            log.warning("could not tell staff %s about dispute %s: %s", staff_id, dispute.id, exc)


@require_staff
async def dispute_button(update: Update, context: BotContext, staff: Member) -> None:
    """Staff resolve a dispute: uphold the entry or reverse its points."""
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")
    dispute_id = parse_id(parts[2]) if len(parts) == 3 and parts[1] in ("uphold", "correct") else None
    if dispute_id is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    dispute = await ledger.get_dispute(context.session, dispute_id=dispute_id)
    if dispute is None or dispute.status != "open":
        await query.answer(texts.DISPUTE_GONE, show_alert=True)
        return
    try:
        await ledger.resolve_dispute(
            context.session, rules=rules_of(context), dispute=dispute, staff=staff, correct=parts[1] == "correct",
            now=context.now(), day=local_today(context),
        )
    except ledger.DisputeError as exc:  # corrected once already: a second reversal is refused
        await query.answer(texts.DISPUTE_REFUSED.get(exc.code, texts.STALE_BUTTON), show_alert=True)
        return
    member = await context.session.get(Member, dispute.member_id)
    await context.commit()
    result = texts.DISPUTE_RESULTS[dispute.status]
    await query.answer()
    await query.edit_message_text(texts.DISPUTE_RESOLVED_STAFF.format(id=dispute.id, result=result))
    if member is not None and member.telegram_id is not None:
        try:
            await context.bot.send_message(member.telegram_id,
                                           texts.DISPUTE_RESOLVED_MEMBER.format(id=dispute.id, result=result))
        except TelegramError as exc:
            log.warning("could not tell member %s about dispute %s: %s", member.id, dispute.id, exc)


@require_staff
async def stats_command(update: Update, context: BotContext, staff: Member) -> None:
    """/stats [period]: totals by sector and district, members below target, and a chart."""
    rules, today = rules_of(context), local_today(context)
    try:
        period = reports.parse_period(context.args[0] if context.args else None, today=today)
    except ValueError:
        await reply(update, texts.STATS_BAD_PERIOD)
        return
    data = await reports.stats(context.session, rules=rules, period=period, today=today)
    average = data.total / data.members if data.members else 0.0
    lines = [texts.STATS_HEAD.format(period=period.label, members=data.members, total=data.total, average=average)]
    if any(data.by_type.values()):
        lines.append(texts.STATS_TYPES.format(parts=_parts(data.by_type, rules)))
    for head, groups in ((texts.STATS_SECTOR_HEAD, data.by_sector), (texts.STATS_DISTRICT_HEAD, data.by_district)):
        lines += ["", head] + [texts.STATS_GROUP_LINE.format(
            name=g.name, members=g.members, average=g.average, below=g.below_target) for g in groups]
    lines += ["", texts.STATS_BELOW_HEAD.format(count=len(data.below))]
    lines += [texts.STATS_BELOW_LINE.format(name=r.member.name, sector=r.member.sector or "-", total=r.total)
              for r in data.below[:20]]
    if len(data.below) > 20:
        lines.append(texts.STATS_BELOW_MORE.format(count=len(data.below) - 20))
    lines += ["", *await learning_stats_lines(context, today=today)]
    await reply(update, "\n".join(lines))
    chat = update.effective_chat
    if chat is not None and data.by_sector:
        png = bar_chart([g.name for g in data.by_sector], [round(g.average, 1) for g in data.by_sector],
                        title=texts.STATS_CHART_TITLE, ylabel=texts.CHART_AXIS_POINTS)
        await context.bot.send_photo(chat.id, photo=png,
                                     caption=texts.STATS_CHART_CAPTION.format(period=period.label))


# --- reminders ----------------------------------------------------------------------------------------


async def send_reminders(app: BotApplication, now: datetime) -> int:
    """Nudge members below pace (opt-out and quiet hours respected); returns how many were sent."""
    services = services_of(app)
    rules = services.config(CreditRules)
    local = now.astimezone(services.tz)
    if rules.reminders.is_quiet(local.time()):
        return 0
    sent = 0
    async with services.db.session() as session:
        due = await ledger.members_to_nudge(session, rules=rules, today=local.date(), now=now)
        held = await preferences.deferred_until(
            session, member_ids={n.member.id for n in due}, defaults=services.prefs_defaults, now=now,
            tz=services.tz,
        )
        for nudge in due:
            if nudge.member.telegram_id is None or nudge.member.id in held:
                continue
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
                texts.BTN_REMINDERS_OFF, callback_data=f"{PREFIX}:remind:off")]])
            try:
                await app.bot.send_message(nudge.member.telegram_id, texts.REMINDER_TEXT.format(
                    total=nudge.total, expected=nudge.expected, target=rules.annual_target), reply_markup=keyboard)
            except Forbidden:
                await ledger.set_reminders(session, member_id=nudge.member.id, enabled=False)
                continue
            except TelegramError as exc:
                log.warning("reminder to member %s failed: %s", nudge.member.id, exc)
                continue
            await ledger.mark_reminded(session, member_id=nudge.member.id, now=now)
            await session.commit()
            sent += 1
    return sent


async def reminder_job(context: BotContext) -> None:
    """Daily job: credit reminders (one worker per day), sent behind every reply, like a broadcast."""
    services = context.services
    now = services.clock()
    if await claim_job_run(services, job="credits-reminders", slot=now.astimezone(services.tz).date().toordinal()):
        with bulk_sends():
            await send_reminders(context.application, now)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    pending.add_flow(app, pending.Flow(DISPUTE, card=dispute_card, press=press_dispute, takes=takes_reason,
                                       on_input=dispute_reason, cancel=cancel_dispute))
    app.add_handler(CommandHandler("credits", credits_command, filters=private))
    app.add_handler(CommandHandler("stats", stats_command, filters=private))
    app.add_handler(CallbackQueryHandler(credits_button, pattern=rf"^{PREFIX}:"))
    app.add_handler(CallbackQueryHandler(dispute_button, pattern=rf"^{STAFF_PREFIX}:"))
    services = services_of(app)
    rules = services.config(CreditRules)
    if app.job_queue is not None and rules.reminders.enabled:
        app.job_queue.run_daily(
            reminder_job,
            time=time(rules.reminders.hour, 0, tzinfo=services.tz),
            name="credits-reminders",
        )


FEATURE = Feature(
    name="credits",
    register=register,
    commands=(CommandInfo("credits"), CommandInfo("stats", staff=True)),
)
