"""/broadcast (staff): compose → media → audience → schedule → preview (测试发送 / 确认 / 取消); 收到 receipts;
the JobQueue sender that drains the outbox and edits the staff's progress message.

The draft lives in the database (``store.broadcasts.drafts``), so a restart mid-dialogue loses nothing.
Callback data: ``bc:<action>[:<arg>]``; every staff action is checked by ``require_staff``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers import broadcast_review, pending, texts
from handlers.broadcast_sender import (
    ACK_PREFIX,
    BroadcastConfig,
    BroadcastSender,
    SendReport,
    recover_dead_senders,
    render_text,
)
from handlers.broadcast_status import (
    ask_withdraw,
    progress_text,
    show,
    status_button,
    status_markup,
    status_view,
    withdraw_button,
    withdraw_markup,
)
from handlers.context import BotApplication, BotContext, Services, services_of
from handlers.guards import parse_id, reply, require_member, require_staff
from handlers.registry import CommandInfo, Feature
from store import audit
from store.broadcasts import approval, audience, drafts, outbox, sender_lock
from store.broadcasts.approval import ApprovalConfig
from store.broadcasts.text import split_for_media, split_text
from store.models import Broadcast, BroadcastDraft, Member
from store.pending import BROADCAST, Waiting
from store.timeparse import parse_future

log = logging.getLogger(__name__)

PREFIX = "bc"
TEXT_STEPS = frozenset({"text", "time"})
REMIND_CYCLE = (None, 120, 1440)  # minutes: off, 2 h, 24 h
STATE_KEY = "broadcast_sender_state"

# ---- draft plumbing -------------------------------------------------------------------------------


def takes(waiting: Waiting, message: Message) -> bool:
    """A message the sender's broadcast draft is waiting for (text, or media at the media step)."""
    if message.text is not None and not message.text.startswith("/"):
        return waiting.step in TEXT_STEPS or waiting.step == "media"
    return waiting.step == "media" and bool(message.photo or message.document)


def _toggle_labels(label: str) -> list[str]:
    return [label.format(state=state) for state in (texts.BROADCAST_YES, texts.BROADCAST_NO)]


async def card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    """The buttons of the card shown at the draft's step (labels of the toggles in either state; at the
    audience step also the values of the kind chosen, read from the draft)."""
    step = waiting.step
    if step == "media":
        return [(texts.BTN_BC_SKIP, f"{PREFIX}:skip")]
    if step == "audience":
        draft = await drafts.get(context.session, member_id=member.id)
        data = draft.data if draft is not None else {}
        values = [(label, f"{PREFIX}:val:{i}")
                  for i, (value, n) in enumerate(zip(data.get("choices") or [], data.get("choice_counts") or [],
                                                     strict=False))
                  for label in (value, f"{value}（{n}）")] if data.get("kind") else []
        return [*values, (texts.BTN_BC_ALL, f"{PREFIX}:all"),
                *((texts.BTN_BC_KINDS[k], f"{PREFIX}:kind:{k}") for k in audience.KINDS),
                (texts.BTN_BC_AUDIENCE_DONE, f"{PREFIX}:next"), (texts.BTN_BC_BACK, f"{PREFIX}:back"),
                (texts.BTN_CANCEL, f"{PREFIX}:cancel")]
    if step == "schedule":
        return [(texts.BTN_BC_NOW, f"{PREFIX}:now"), (texts.BTN_BC_LATER, f"{PREFIX}:later"),
                (texts.BTN_CANCEL, f"{PREFIX}:cancel")]
    if step == "preview":
        reminds = [texts.BTN_BC_REMIND.format(state=state) for state in (
            texts.BROADCAST_REMIND_OFF, *(texts.BROADCAST_REMIND_HOURS.format(hours=m // 60)
                                          for m in REMIND_CYCLE if m))]
        return [*((label, f"{PREFIX}:rc") for label in _toggle_labels(texts.BTN_BC_RECEIPT)),
                *((label, f"{PREFIX}:ur") for label in _toggle_labels(texts.BTN_BC_URGENT)),
                *((label, f"{PREFIX}:rm") for label in reminds),
                (texts.BTN_BC_TEST, f"{PREFIX}:test"), (texts.BTN_CONFIRM, f"{PREFIX}:ok"),
                (texts.BTN_CANCEL, f"{PREFIX}:cancel")]
    return ()


def _button(label: str, action: str, arg: str | int | None = None) -> InlineKeyboardButton:
    data = f"{PREFIX}:{action}" + (f":{arg}" if arg is not None else "")
    return InlineKeyboardButton(label, callback_data=data)


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(rows)


def _spec(data: dict[str, Any]) -> audience.Spec:
    clause = {k: v for k, v in (data.get("clause") or {}).items() if v}
    return [clause] if clause else [{}]


async def _count(context: BotContext, data: dict[str, Any]) -> int:
    return len(await audience.resolve(context.session, spec=_spec(data)))


# ---- the dialogue ----------------------------------------------------------------------------------


@require_staff
async def broadcast_command(update: Update, context: BotContext, member: Member) -> None:
    """/broadcast: start a notice; ``/broadcast status [ID]`` shows delivery counts; ``/broadcast 撤回 ID``
    withdraws one (after a confirmation)."""
    args = context.args or []
    if args and args[0] in ("status", "状态"):
        await status_view(update, context, parse_id(args[1]) if len(args) > 1 else None)
        return
    if args and args[0] in ("withdraw", "撤回"):
        await ask_withdraw(update, context, member, parse_id(args[1]) if len(args) > 1 else None)
        return
    await drafts.save(context.session, member_id=member.id, step="text", data={}, now=context.now())
    await reply(update, texts.BROADCAST_ASK_TEXT)


async def draft_input(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """Typed text or media for the staff member's broadcast draft."""
    message = update.effective_message
    draft = await drafts.get(context.session, member_id=member.id)
    if message is None or draft is None:
        return
    data = dict(draft.data)
    if draft.step == "text":
        if not message.text or not message.text.strip():
            await reply(update, texts.BROADCAST_TEXT_NEEDED)
            return
        data["text"] = message.text
        await drafts.save(context.session, member_id=member.id, step="media", data=data, now=context.now())
        await message.reply_text(texts.BROADCAST_ASK_MEDIA, reply_markup=_markup([[_button(texts.BTN_BC_SKIP,
                                                                                            "skip")]]))
        return
    if draft.step == "media":
        if message.photo:
            data["media"] = ["photo", message.photo[-1].file_id]
        elif message.document:
            data["media"] = ["document", message.document.file_id]
        elif message.text:  # more text while we wait for media: append it to the notice
            data["text"] = (data.get("text", "") + "\n\n" + message.text).strip()
        if "media" in data:
            await reply(update, texts.BROADCAST_MEDIA_SAVED.format(kind=texts.BROADCAST_MEDIA_KINDS[data["media"][0]]))
        await drafts.save(context.session, member_id=member.id, step="audience", data=data, now=context.now())
        await _audience_card(update, context, data)
        return
    if draft.step == "time":
        when = parse_future(message.text or "", now=context.now().astimezone(context.services.tz))
        if when is None:
            await reply(update, texts.BROADCAST_BAD_TIME)
            return
        data["at"] = when.astimezone(UTC).isoformat()
        await drafts.save(context.session, member_id=member.id, step="preview", data=data, now=context.now())
        await _preview(update, context, data)


async def _audience_card(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    spec = _spec(data)
    count = await _count(context, data)
    kinds = [_button(texts.BTN_BC_KINDS[k], "kind", k) for k in audience.KINDS]
    markup = _markup([
        [_button(texts.BTN_BC_ALL, "all"), *kinds[:2]],
        kinds[2:],
        [_button(texts.BTN_BC_AUDIENCE_DONE, "next"), _button(texts.BTN_CANCEL, "cancel")],
    ])
    await show(update, texts.BROADCAST_ASK_AUDIENCE.format(label=audience.describe(spec), count=count), markup)


async def _values_card(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    kind = data["kind"]
    chosen = set((data.get("clause") or {}).get(kind, []))
    rows = [[_button(("✓ " if value in chosen else "") + f"{value}（{n}）", "val", i)]
            for i, (value, n) in enumerate(zip(data["choices"], data["choice_counts"], strict=True))]
    label = texts.BTN_BC_KINDS[kind].removeprefix("按")
    if not rows:
        await show(update, texts.BROADCAST_NO_VALUES.format(kind=label), _markup([[_button(texts.BTN_BC_BACK,
                                                                                              "back")]]))
        return
    rows.append([_button(texts.BTN_BC_BACK, "back")])
    await show(update, texts.BROADCAST_PICK_VALUE.format(kind=label), _markup(rows[:40]))


async def _preview(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    tz = context.services.tz
    count = await _count(context, data)
    when = texts.BROADCAST_NOW
    if data.get("at"):
        when = datetime.fromisoformat(data["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    text = data.get("text", "")
    excerpt = text if len(text) <= 300 else text[:300] + "……"
    media = texts.BROADCAST_MEDIA_KINDS[data["media"][0]] if data.get("media") else texts.BROADCAST_NONE
    remind = data.get("remind")
    body = texts.BROADCAST_PREVIEW.format(
        audience=audience.describe(_spec(data)), count=count, when=when, media=media,
        receipt=texts.BROADCAST_YES if data.get("receipt") else texts.BROADCAST_NO,
        urgent=texts.BROADCAST_YES if data.get("urgent") else texts.BROADCAST_NO, excerpt=excerpt,
    )
    toggles = [
        _button(texts.BTN_BC_RECEIPT.format(state=texts.BROADCAST_YES if data.get("receipt") else texts.BROADCAST_NO),
                "rc"),
        _button(texts.BTN_BC_URGENT.format(state=texts.BROADCAST_YES if data.get("urgent") else texts.BROADCAST_NO),
                "ur"),
    ]
    rows = [toggles]
    if data.get("receipt"):
        state = texts.BROADCAST_REMIND_HOURS.format(hours=remind // 60) if remind else texts.BROADCAST_REMIND_OFF
        rows.append([_button(texts.BTN_BC_REMIND.format(state=state), "rm")])
    rows.append([_button(texts.BTN_BC_TEST, "test"), _button(texts.BTN_CONFIRM, "ok"),
                 _button(texts.BTN_CANCEL, "cancel")])
    await show(update, body, _markup(rows))


@require_staff
async def draft_button(update: Update, context: BotContext, member: Member) -> None:
    """Buttons of the /broadcast dialogue."""
    if update.callback_query is not None:
        await press(update, context, member, update.callback_query.data or "")


async def press(update: Update, context: BotContext, member: Member, callback: str) -> None:
    """A button of the /broadcast dialogue, tapped or its label typed."""
    parts = callback.split(":")
    action, arg = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else None
    draft = await drafts.get(context.session, member_id=member.id)
    if draft is None:
        await reply(update, texts.STALE_BUTTON)
        return
    data, step, now = dict(draft.data), draft.step, context.now()

    async def save(new_step: str) -> None:
        await drafts.save(context.session, member_id=member.id, step=new_step, data=data, now=now)

    if action == "cancel":
        await drafts.discard(context.session, member_id=member.id)
        await show(update, texts.BROADCAST_DRAFT_CANCELLED)
        return
    if action == "skip" and step == "media":
        await save("audience")
        await _audience_card(update, context, data)
    elif action == "all" and step == "audience":
        data["clause"] = {}
        await save("audience")
        await _audience_card(update, context, data)
    elif action == "kind" and step == "audience" and arg in audience.KINDS:
        found = await audience.choices(context.session, kind=arg)
        data.update(kind=arg, choices=[v for v, _ in found], choice_counts=[n for _, n in found])
        await save("audience")
        await _values_card(update, context, data)
    elif action == "val" and step == "audience" and data.get("kind") and (index := parse_id(arg)) is not None \
            and index < len(data.get("choices", [])):
        kind, value = data["kind"], data["choices"][index]
        clause = {k: list(v) for k, v in (data.get("clause") or {}).items()}
        values = clause.setdefault(kind, [])
        values.remove(value) if value in values else values.append(value)
        data["clause"] = clause
        await save("audience")
        await _values_card(update, context, data)
    elif action == "back" and step == "audience":
        await _audience_card(update, context, data)
    elif action == "next" and step == "audience":
        if await _count(context, data) == 0:
            await reply(update, texts.BROADCAST_EMPTY_AUDIENCE)
            return
        await save("schedule")
        await show(update, texts.BROADCAST_ASK_SCHEDULE, _markup([[
            _button(texts.BTN_BC_NOW, "now"), _button(texts.BTN_BC_LATER, "later"),
            _button(texts.BTN_CANCEL, "cancel")]]))
    elif action == "now" and step == "schedule":
        data.pop("at", None)
        await save("preview")
        await _preview(update, context, data)
    elif action == "later" and step == "schedule":
        await save("time")
        await show(update, texts.BROADCAST_ASK_TIME)
    elif action in ("rc", "ur", "rm") and step == "preview":
        if action == "rc":
            data["receipt"] = not data.get("receipt")
        elif action == "ur":
            data["urgent"] = not data.get("urgent")
        else:
            current = data.get("remind")
            data["remind"] = REMIND_CYCLE[(REMIND_CYCLE.index(current) + 1) % len(REMIND_CYCLE)] \
                if current in REMIND_CYCLE else None
        await save("preview")
        await _preview(update, context, data)
    elif action == "test" and step == "preview":
        if update.callback_query is not None:
            await update.callback_query.answer(texts.BROADCAST_TEST_SENT)
        else:
            await reply(update, texts.BROADCAST_TEST_SENT)
        await _send_test(context, member, data)
    elif action == "ok" and step == "preview":
        await _confirm(update, context, member, draft, data)
    else:
        await reply(update, texts.STALE_BUTTON)


async def _send_test(context: BotContext, member: Member, data: dict[str, Any]) -> None:
    """The notice exactly as members will see it, to the staff member only (not through the outbox)."""
    assert member.telegram_id is not None
    preview = Broadcast(text=data.get("text", ""), urgent=bool(data.get("urgent")),
                               receipt=bool(data.get("receipt")))
    body = render_text(preview)
    chat = member.telegram_id
    if data.get("media"):
        kind, file_id = data["media"]
        caption, rest = split_for_media(body)
        if kind == "photo":
            await context.bot.send_photo(chat, file_id, caption=caption or None)
        else:
            await context.bot.send_document(chat, file_id, caption=caption or None)
    else:
        rest = split_text(body)
    for part in rest:
        await context.bot.send_message(chat, part)


async def _confirm(update: Update, context: BotContext, member: Member, draft: BroadcastDraft,
                   data: dict[str, Any]) -> None:
    services, now = context.services, context.now()
    config = services.config(BroadcastConfig)
    media = data.get("media") or [None, None]
    scheduled = datetime.fromisoformat(data["at"]) if data.get("at") else None
    new = outbox.NewBroadcast(
        text=data.get("text", ""), audience=_spec(data), media_kind=media[0], media_ref=media[1],
        topic=((data.get("clause") or {}).get("topic") or [None])[0], urgent=bool(data.get("urgent")),
        receipt=bool(data.get("receipt")), scheduled_at=scheduled,
        remind_after_minutes=data.get("remind") if data.get("receipt") else None, created_by=member.id,
    )
    # The draft is consumed in the transaction that creates the broadcast: of two taps of 确认 (perhaps on
    # two workers), the one that finds it already gone creates nothing.
    if not await drafts.consume(context.session, draft=draft):
        await reply(update, texts.STALE_BUTTON)
        return
    # The two-person rule: a reviewer (not the author) approves before anything is sent (broadcast_review).
    awaiting = await approval.required(context.session, config=services.config(ApprovalConfig))
    broadcast = await outbox.create(context.session, new=new, now=now, tz=services.tz, defaults=config.defaults,
                                    awaiting=awaiting)
    await audit.record(context.session, actor=member, action="broadcast.create", at=now,
                       target=f"broadcast:{broadcast.id}", detail={"audience": broadcast.audience_label})
    if awaiting:
        count = await _count(context, data)
        await context.commit()
        await show(update, texts.BROADCAST_SUBMITTED.format(id=broadcast.id, audience=broadcast.audience_label,
                                                             count=count), withdraw_markup(broadcast.id))
        kick(context.application)  # the sender's pass tells the reviewers
        return
    status = await outbox.status(context.session, broadcast_id=broadcast.id)
    assert status is not None
    await context.commit()
    if scheduled and scheduled > now:
        when = scheduled.astimezone(services.tz).strftime("%Y-%m-%d %H:%M")
        await show(update, texts.BROADCAST_SCHEDULED.format(id=broadcast.id, when=when, count=status.total))
    else:
        await show(update, texts.BROADCAST_QUEUED.format(id=broadcast.id, count=status.total))
    chat = update.effective_chat
    if chat is not None:
        message = await context.bot.send_message(chat.id, progress_text(status),
                                                 reply_markup=status_markup(broadcast.id, status.state))
        await outbox.set_status_message(context.session, broadcast_id=broadcast.id, chat_id=chat.id,
                                        message_id=message.message_id)
        await context.commit()
    kick(context.application)


async def cancel_draft(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while composing a broadcast."""
    await drafts.discard(context.session, member_id=member.id)
    await reply(update, texts.BROADCAST_DRAFT_CANCELLED)


# ---- status and receipts ----------------------------------------------------------------------------


@require_member
async def ack_button(update: Update, context: BotContext, member: Member) -> None:
    """收到 on a notice: recorded once, and only for the member it was sent to."""
    query = update.callback_query
    user = update.effective_user
    arg = (query.data or "").removeprefix(ACK_PREFIX) if query else ""
    delivery_id = parse_id(arg)
    if query is None or user is None or delivery_id is None:
        await reply(update, texts.STALE_BUTTON)
        return
    outcome = await outbox.acknowledge(context.session, delivery_id=delivery_id, telegram_id=user.id,
                                       now=context.now())
    if outcome is outbox.AckOutcome.RECORDED:
        await context.commit()
        await query.answer(texts.BROADCAST_ACK_THANKS)
        try:
            await query.edit_message_reply_markup(None)
        except TelegramError:
            log.info("could not remove the receipt button", exc_info=True)
        return
    await reply(update, {
        outbox.AckOutcome.ALREADY: texts.BROADCAST_ACK_ALREADY,
        outbox.AckOutcome.NOT_YOURS: texts.BROADCAST_ACK_NOT_YOURS,
    }.get(outcome, texts.STALE_BUTTON))


# ---- the JobQueue sender ---------------------------------------------------------------------------


@dataclass
class SenderState:
    task: asyncio.Task[Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one pass at a time per process
    last_edit: dict[int, float] = field(default_factory=dict)


def _state(app: BotApplication) -> SenderState:
    state = app.bot_data.get(STATE_KEY)
    if not isinstance(state, SenderState):
        state = SenderState()
        app.bot_data[STATE_KEY] = state
    return state


async def _edit_progress(app: BotApplication, services: Services, broadcast_id: int) -> None:
    async with services.db.session() as session:
        broadcast = await outbox.get(session, broadcast_id=broadcast_id)
        status = await outbox.status(session, broadcast_id=broadcast_id)
    if broadcast is None or status is None or not broadcast.status_chat_id or not broadcast.status_message_id:
        return
    try:
        await app.bot.edit_message_text(progress_text(status), chat_id=broadcast.status_chat_id,
                                        message_id=broadcast.status_message_id,
                                        reply_markup=status_markup(broadcast_id, status.state))
    except TelegramError as exc:  # "not modified", or the staff deleted the message
        log.debug("progress edit for broadcast %s skipped: %s", broadcast_id, exc)


async def send_reminders(app: BotApplication) -> int:
    """Create follow-ups for receipt broadcasts whose members have not acknowledged in time."""
    services = services_of(app)
    config = services.config(BroadcastConfig)
    created = 0
    async with services.db.session() as session:
        now = services.clock()
        for parent in await outbox.due_reminders(session, now=now):
            reminder = await outbox.create_reminder(
                session, parent=parent, text=texts.BROADCAST_REMINDER_PREFIX + parent.text, now=now,
                tz=services.tz, defaults=config.defaults)
            created += reminder is not None
    return created


async def run_due(app: BotApplication) -> SendReport:
    """One sender pass: recover dead senders' rows, create due reminders, send everything due."""
    state = _state(app)
    async with state.lock:
        return await _run_due(app, state)


async def _run_due(app: BotApplication, state: SenderState) -> SendReport:
    services = services_of(app)
    # Several bot processes on one PostgreSQL database: one of them sends at a time (store/broadcasts/sender_lock.py).
    async with sender_lock.sender_lock(services.db.engine) as lock:
        if not lock.held:
            log.debug("broadcast sender lock held by another process; this pass is skipped")
            return SendReport()
        return await _send_due(app, state, services, exclusive=lock.exclusive)


async def _send_due(app: BotApplication, state: SenderState, services: Services, *, exclusive: bool) -> SendReport:
    config = services.config(BroadcastConfig)
    # Holding the lock exclusively, every row still ``sending`` is a dead sender's: take it back now.
    await recover_dead_senders(services.db, now=services.clock(), stale_after=config.sender.stale_after,
                               force=exclusive)
    await send_reminders(app)
    await broadcast_review.notify(app)  # broadcasts awaiting approval, and decisions, from Telegram or the console

    async def on_result(report: SendReport, result: outbox.Result) -> None:
        bid = result.claimed.broadcast_id
        now = time.monotonic()
        if now - state.last_edit.get(bid, 0.0) >= config.progress_every:
            state.last_edit[bid] = now
            await _edit_progress(app, services, bid)

    sender = BroadcastSender(services.db, app.bot, config=config.sender, clock=services.clock, on_result=on_result,
                             media_dir=config.media_dir)
    report = await sender.run_pass()
    for bid in report.broadcasts:
        await _edit_progress(app, services, bid)
    return report


def kick(app: BotApplication) -> None:
    """Start a sender pass now unless one is running (the repeating job also starts them)."""
    state = _state(app)
    if state.task is not None and not state.task.done():
        return
    state.task = app.create_task(_guarded_pass(app), name="broadcast-sender-pass")


async def wait_idle(app: BotApplication) -> None:
    """Wait for a running sender pass (if any) to finish (shutdown and tests)."""
    task = _state(app).task
    if task is not None and not task.done():
        await asyncio.shield(task)


async def _guarded_pass(app: BotApplication) -> None:
    try:
        await run_due(app)
    except Exception:
        log.exception("broadcast sender pass failed; the next tick retries")


async def sender_tick(context: BotContext) -> None:
    """JobQueue tick: start a sender pass if none is running."""
    kick(context.application)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    pending.add_flow(app, pending.Flow(BROADCAST, card=card, press=press, takes=takes, on_input=draft_input,
                                       cancel=cancel_draft, staff=True))
    app.add_handler(CommandHandler("broadcast", broadcast_command, filters=private))
    app.add_handler(CallbackQueryHandler(ack_button, pattern=rf"^{re.escape(ACK_PREFIX)}\d+$"))
    app.add_handler(CallbackQueryHandler(status_button, pattern=rf"^{PREFIX}:st:"))
    app.add_handler(CallbackQueryHandler(withdraw_button, pattern=rf"^{PREFIX}:wdy?:"))
    app.add_handler(CallbackQueryHandler(draft_button, pattern=rf"^{PREFIX}:"))
    if app.job_queue is not None:
        interval = services_of(app).config(BroadcastConfig).tick_seconds
        app.job_queue.run_repeating(sender_tick, interval=interval, first=1.0,
                                    name="broadcast-sender")


FEATURE = Feature(
    name="broadcast",
    register=register,
    commands=(CommandInfo("broadcast", staff=True),),
)
