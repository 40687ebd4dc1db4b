"""A broadcast's progress card (``/broadcast status [ID]``, 刷新) and 撤回: its author or an admin withdraws a
notice that has not finished (``store.broadcasts.withdrawal``), after a confirmation on the same card.

Callback data: ``bc:st:<id>`` (refresh), ``bc:wd:<id>`` (ask), ``bc:wdy:<id>`` (withdraw).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from handlers import texts
from handlers.context import BotContext
from handlers.guards import parse_id, reply, require_staff
from store.broadcasts import outbox, withdrawal
from store.broadcasts.withdrawal import WithdrawOutcome
from store.models import Member

PREFIX = "bc"


def _button(label: str, action: str, broadcast_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"{PREFIX}:{action}:{broadcast_id}")


def progress_bar(done: int, total: int, width: int = 10) -> str:
    filled = width if total == 0 else round(width * done / total)
    return "▓" * filled + "░" * (width - filled)


def progress_text(status: outbox.Status) -> str:
    deferred = texts.BROADCAST_PROGRESS_DEFERRED.format(count=status.deferred) if status.deferred else ""
    return texts.BROADCAST_PROGRESS.format(
        id=status.id, state=texts.BROADCAST_STATES.get(status.state, status.state),
        bar=progress_bar(status.done, status.total), done=status.done, total=status.total, sent=status.sent,
        failed=status.failed, blocked=status.blocked, pending=status.pending, acknowledged=status.acknowledged,
        deferred=deferred,
    )


def status_markup(broadcast_id: int, state: str) -> InlineKeyboardMarkup:
    """刷新, and 撤回通知 while the notice can still be withdrawn (who may is checked on the press)."""
    row = [_button(texts.BTN_BC_REFRESH, "st", broadcast_id)]
    if state in withdrawal.WITHDRAWABLE:
        row.append(_button(texts.BTN_BC_WITHDRAW, "wd", broadcast_id))
    return InlineKeyboardMarkup([row])


def withdraw_markup(broadcast_id: int) -> InlineKeyboardMarkup:
    """The one button under a notice awaiting review (nothing to refresh yet)."""
    return InlineKeyboardMarkup([[_button(texts.BTN_BC_WITHDRAW, "wd", broadcast_id)]])


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message whose button was pressed, or send a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.answer()
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise
        return
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def status_view(update: Update, context: BotContext, broadcast_id: int | None) -> None:
    if broadcast_id is None:
        recent = await outbox.recent(context.session, limit=8)
        if not recent:
            await reply(update, texts.BROADCAST_LIST_EMPTY)
            return
        lines = [texts.BROADCAST_LIST_HEAD]
        for b in recent:
            st = await outbox.status(context.session, broadcast_id=b.id)
            assert st is not None
            lines.append(texts.BROADCAST_LIST_LINE.format(
                id=b.id, state=texts.BROADCAST_STATES.get(b.state, b.state), audience=b.audience_label,
                sent=st.sent, total=st.total, acknowledged=st.acknowledged))
        await reply(update, "\n".join(lines))
        return
    status = await outbox.status(context.session, broadcast_id=broadcast_id)
    if status is None:
        await reply(update, texts.BROADCAST_NOT_FOUND.format(id=broadcast_id))
        return
    await show(update, progress_text(status), status_markup(broadcast_id, status.state))


def _pressed_id(update: Update) -> int | None:
    data = update.callback_query.data if update.callback_query else None
    return parse_id((data or "").split(":")[-1])


@require_staff
async def status_button(update: Update, context: BotContext, member: Member) -> None:
    """刷新 on a broadcast's progress message."""
    broadcast_id = _pressed_id(update)
    if broadcast_id is None:
        await reply(update, texts.STALE_BUTTON)
        return
    await status_view(update, context, broadcast_id)


async def ask_withdraw(update: Update, context: BotContext, member: Member, broadcast_id: int | None) -> None:
    """The confirmation card (from the 撤回通知 button, or ``/broadcast 撤回 ID``)."""
    if broadcast_id is None:
        await reply(update, texts.BROADCAST_WITHDRAW_USAGE)
        return
    broadcast = await outbox.get(context.session, broadcast_id=broadcast_id)
    if broadcast is None:
        await reply(update, texts.BROADCAST_NOT_FOUND.format(id=broadcast_id))
        return
    state = texts.BROADCAST_STATES.get(broadcast.state, broadcast.state)
    if not withdrawal.may_withdraw(member, broadcast):
        await reply(update, texts.BROADCAST_WITHDRAW_NOT_ALLOWED)
        return
    if not withdrawal.withdrawable(broadcast):
        await reply(update, texts.BROADCAST_WITHDRAW_TOO_LATE.format(id=broadcast_id, state=state))
        return
    await show(update, texts.BROADCAST_WITHDRAW_ASK.format(id=broadcast_id, state=state), InlineKeyboardMarkup([[
        _button(texts.BTN_BC_WITHDRAW_YES, "wdy", broadcast_id), _button(texts.BTN_BC_WITHDRAW_NO, "st", broadcast_id),
    ]]))


@require_staff
async def withdraw_button(update: Update, context: BotContext, member: Member) -> None:
    """撤回通知 (ask) and 确认撤回 (withdraw) on a broadcast's card."""
    broadcast_id = _pressed_id(update)
    data = update.callback_query.data if update.callback_query else ""
    if broadcast_id is None:
        await reply(update, texts.STALE_BUTTON)
        return
    if not (data or "").startswith(f"{PREFIX}:wdy:"):
        await ask_withdraw(update, context, member, broadcast_id)
        return
    done = await withdrawal.withdraw(context.session, broadcast_id=broadcast_id, actor=member, now=context.now())
    if done.outcome is WithdrawOutcome.UNKNOWN or done.broadcast is None:
        await reply(update, texts.BROADCAST_NOT_FOUND.format(id=broadcast_id))
        return
    if done.outcome is WithdrawOutcome.NOT_ALLOWED:
        await reply(update, texts.BROADCAST_WITHDRAW_NOT_ALLOWED)
        return
    if done.outcome is WithdrawOutcome.ALREADY:
        state = texts.BROADCAST_STATES.get(done.broadcast.state, done.broadcast.state)
        await reply(update, texts.BROADCAST_WITHDRAW_TOO_LATE.format(id=broadcast_id, state=state))
        return
    status = await outbox.status(context.session, broadcast_id=broadcast_id)
    await context.commit()  # recorded before any Bot API call
    detail = (texts.BROADCAST_WITHDRAWN_PART.format(sent=done.sent, cancelled=done.cancelled) if done.sent
              else texts.BROADCAST_WITHDRAWN_NONE)
    text = texts.BROADCAST_WITHDRAWN.format(id=broadcast_id, detail=detail)
    if status is not None and status.total:
        text += "\n\n" + progress_text(status)
    await show(update, text, status_markup(broadcast_id, done.broadcast.state) if status and status.total else None)
