"""Online study check-ins (学习打卡): /checkin, plain-text check-ins, confirm / edit / cancel."""

from __future__ import annotations

import re
from datetime import date
from typing import TypedDict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import pending, texts
from handlers.context import BotApplication, BotContext, services_of
from handlers.credits_common import cap_reason, local_today, rules_of
from handlers.guards import answer_press, notify, parse_id, reply, require_member, show
from handlers.registry import CommandInfo, Feature
from store.credits import checkins as checkins_repo
from store.credits import reports
from store.credits.parsing import Declined, ParsedCheckin, parse_checkin, parse_day, parse_minutes
from store.credits.rules import CreditRules
from store.models import CheckinDraft, Member
from store.pending import CHECKIN, CHECKIN_CARD, CHECKIN_EDIT, Waiting

PREFIX = "ck"
_PROPOSAL_LIKE = re.compile(r"^\s*(?:建议|希望|反映|呼吁|提议)")
_FILTER_TODAY = date(2000, 6, 15)  # the filter only asks "is this a check-in?", which needs no real date


class _Limits(TypedDict):
    """The rules' bounds, as ``parse_checkin`` takes them."""

    min_minutes: int
    max_minutes: int
    note_min_chars: int


def _limits(rules: CreditRules) -> _Limits:
    found = rules.first_of("checkin")
    note = rules.first_of("note")
    return {
        "min_minutes": found[1].min_minutes if found else 10,
        "max_minutes": found[1].max_minutes if found else 720,
        "note_min_chars": note[1].min_chars if note else 200,
    }


class CheckinTextFilter(filters.MessageFilter):
    """Claims plain texts that read as a study check-in (or nearly: those get an example)."""

    def __init__(self, rules: CreditRules) -> None:
        super().__init__(name="CheckinTextFilter")
        self.limits = _limits(rules)

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        if not text.strip() or text.startswith("/") or _PROPOSAL_LIKE.match(text):
            return False
        result = parse_checkin(text, today=_FILTER_TODAY, **self.limits)
        return isinstance(result, ParsedCheckin) or result.checkin_like


def _card_buttons(draft_id: int) -> list[tuple[str, str]]:
    return [(texts.BTN_CONFIRM, f"{PREFIX}:ok:{draft_id}"), (texts.BTN_EDIT, f"{PREFIX}:edit:{draft_id}"),
            (texts.BTN_CANCEL, f"{PREFIX}:no:{draft_id}")]


def _field_buttons(draft_id: int, *, note: bool) -> list[list[tuple[str, str]]]:
    fields = [("date", texts.BTN_EDIT_DATE)] if note else [
        ("title", texts.BTN_EDIT_TITLE), ("minutes", texts.BTN_EDIT_MINUTES), ("date", texts.BTN_EDIT_DATE)]
    return [[(label, f"{PREFIX}:f:{draft_id}:{name}") for name, label in fields],
            [(texts.BTN_CANCEL, f"{PREFIX}:no:{draft_id}")]]


def _markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows])


def _buttons(draft: CheckinDraft) -> InlineKeyboardMarkup:
    return _markup([_card_buttons(draft.id)])


def _minutes_text(minutes: int | None) -> str:
    return texts.CHECKIN_MINUTES.format(minutes=minutes) if minutes is not None else "-"


def _preview(draft: CheckinDraft, rules: CreditRules, today: date) -> str:
    points = checkins_repo.preview_points(draft, rules)
    day = draft.study_date or today
    if draft.kind == "note":
        body = draft.body or ""
        return texts.CHECKIN_PREVIEW_NOTE.format(
            length=len(body), preview=body[:60] + ("…" if len(body) > 60 else ""), day=day.isoformat(),
            points=points,
        )
    found = rules.first_of("checkin")
    return texts.CHECKIN_PREVIEW.format(
        kind=found[1].label if found else "",
        title=draft.title or texts.CHECKIN_NO_TITLE,
        minutes=_minutes_text(draft.minutes),
        day=day.isoformat(),
        backfill=texts.CHECKIN_BACKFILL if day < today else "",
        points=points,
    )


def _decline_text(reason: str, minutes: int | None, rules: CreditRules) -> str:
    """Why we cannot record it: a ``Declined.reason`` of the parser or a ``CheckinError.code``."""
    limits = _limits(rules)
    template = texts.CHECKIN_DECLINES.get(reason)
    if template is None:
        return texts.CHECKIN_EXAMPLE
    return template.format(
        min=limits["min_minutes"], max=limits["max_minutes"], minutes=minutes,
        chars=limits["note_min_chars"], length=minutes or 0, days=rules.backfill_days,
    )


async def _offer(update: Update, context: BotContext, member: Member, text: str, *, prompted: bool) -> None:
    """Parse ``text``; show the check-in for confirmation, or say what is missing."""
    rules = rules_of(context)
    today = local_today(context)
    result = parse_checkin(text, today=today, assume_study=prompted, **_limits(rules))
    if isinstance(result, Declined):
        declined = _decline_text(result.reason, result.minutes, rules) if result.checkin_like else texts.CHECKIN_EXAMPLE
        await reply(update, declined)
        return
    if not checkins_repo.backfill_allowed(result.day, today=today, rules=rules):
        await reply(update, texts.CHECKIN_DECLINES["outside_window"].format(days=rules.backfill_days))
        return
    draft = await checkins_repo.start_draft(context.session, member_id=member.id, now=context.now(), parsed=result)
    await context.commit()
    if update.effective_message is not None:
        await update.effective_message.reply_text(_preview(draft, rules, today), reply_markup=_buttons(draft))


@require_member
async def checkin_command(update: Update, context: BotContext, member: Member) -> None:
    """/checkin [text]: start a check-in (asks for the text when none is given)."""
    if context.args:
        await _offer(update, context, member, " ".join(context.args), prompted=True)
        return
    rules = rules_of(context)
    await checkins_repo.start_draft(context.session, member_id=member.id, now=context.now())
    await context.commit()
    note = rules.first_of("note")
    await reply(update, texts.CHECKIN_PROMPT.format(
        days=rules.backfill_days, chars=note[1].min_chars if note else 200))


@require_member
async def checkin_text(update: Update, context: BotContext, member: Member) -> None:
    """A plain message that reads as a check-in."""
    message = update.effective_message
    if message is not None and message.text:
        await _offer(update, context, member, message.text, prompted=False)


async def awaited_text(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """The member's answer to our question: the check-in text, or a corrected field."""
    message = update.effective_message
    if message is None:
        return
    text = (message.text or "").strip()
    draft = await checkins_repo.get_draft(context.session, draft_id=waiting.ref_id, member_id=member.id)
    if draft is None or draft.awaiting not in checkins_repo.DRAFT_FIELDS:
        await reply(update, texts.STALE_BUTTON)
        return
    if pending.normalise(text) == pending.normalise(texts.BTN_CANCEL):
        await _discard(update, context, draft)
        return
    if draft.awaiting == "text":
        await _offer(update, context, member, text, prompted=True)
        return
    rules, today = rules_of(context), local_today(context)
    field = draft.awaiting or ""
    if field == "title":
        ok = 1 <= len(text) <= 100
        if ok:
            draft.title = text
    elif field == "minutes":
        minutes = parse_minutes(text)
        limits = _limits(rules)
        ok = minutes is not None and limits["min_minutes"] <= minutes <= limits["max_minutes"]
        if ok:
            draft.minutes = minutes
    else:
        day = parse_day(text, today=today)
        ok = day is not None and checkins_repo.backfill_allowed(day, today=today, rules=rules)
        if ok:
            draft.study_date = day
    if not ok:
        await reply(update, texts.CHECKIN_BAD_FIELD.get(field, texts.CHECKIN_EXAMPLE))
        return
    await checkins_repo.set_awaiting(context.session, draft=draft, awaiting=None, now=context.now())
    await context.commit()
    await message.reply_text(_preview(draft, rules, today), reply_markup=_buttons(draft))


async def _discard(update: Update, context: BotContext, draft: CheckinDraft) -> None:
    await checkins_repo.discard_draft(context.session, draft=draft)
    await context.commit()
    await show(update, texts.CHECKIN_CANCELLED)


async def cancel_draft(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while a check-in draft waits: drop it."""
    draft = await checkins_repo.get_draft(context.session, draft_id=waiting.ref_id, member_id=member.id)
    if draft is None:
        await reply(update, texts.STALE_BUTTON)
        return
    await _discard(update, context, draft)


def _parse_data(data: str | None) -> tuple[str, int, str | None] | None:
    parts = (data or "").split(":")
    draft_id = parse_id(parts[2]) if len(parts) in (3, 4) and parts[0] == PREFIX else None
    if draft_id is None:
        return None
    return parts[1], draft_id, parts[3] if len(parts) == 4 else None


@require_member
async def checkin_button(update: Update, context: BotContext, member: Member) -> None:
    """确认 / 修改 / 取消 and the field choice on a check-in preview."""
    if update.callback_query is not None:
        await press(update, context, member, update.callback_query.data or "")


async def press(update: Update, context: BotContext, member: Member, data: str) -> None:
    """A button of a check-in card, tapped or its label typed."""
    parsed = _parse_data(data)
    draft = (
        await checkins_repo.get_draft(context.session, draft_id=parsed[1], member_id=member.id) if parsed else None
    )
    if parsed is None or draft is None or draft.awaiting == "text":
        await reply(update, texts.STALE_BUTTON)
        return
    action, _, arg = parsed
    fields = ("date",) if draft.kind == "note" else tuple(texts.CHECKIN_ASK_FIELD)
    if action not in ("ok", "no", "edit") and not (action == "f" and arg in fields):
        await reply(update, texts.STALE_BUTTON)  # before answering it a second time below
        return
    rules, today = rules_of(context), local_today(context)
    # The spinner stops before the work (a redelivered press was answered already: CppccBot absorbs the refusal).
    await answer_press(update)
    if action == "ok":
        await _confirm(update, context, member, draft, rules, today)
    elif action == "no":
        await _discard(update, context, draft)
    elif action == "edit":
        await checkins_repo.set_awaiting(context.session, draft=draft, awaiting=CHECKIN_EDIT, now=context.now())
        await context.commit()
        await show(update, texts.CHECKIN_EDIT_WHICH, _markup(_field_buttons(draft.id, note=draft.kind == "note")))
    elif action == "f" and arg is not None:
        await checkins_repo.set_awaiting(context.session, draft=draft, awaiting=arg, now=context.now())
        await context.commit()
        await show(update, texts.CHECKIN_ASK_FIELD[arg])


async def _confirm(
    update: Update, context: BotContext, member: Member, draft: CheckinDraft, rules: CreditRules, today: date
) -> None:
    title, minutes = draft.title or texts.CHECKIN_NO_TITLE, _minutes_text(draft.minutes)
    try:
        recorded = await checkins_repo.confirm_draft(
            context.session, draft=draft, rules=rules, now=context.now(), today=today
        )
    except checkins_repo.CheckinError as exc:
        if exc.code == "stale":  # a second tap (perhaps on another worker) consumed the draft first
            await notify(update, texts.STALE_BUTTON)  # the press is answered; the winner edits the card
            return
        await show(update, _decline_text(exc.code, draft.minutes, rules))
        return
    total = await reports.year_total(context.session, member_id=member.id, year=today.year)
    await context.commit()
    award = recorded.award
    points = award.points if award else 0
    reason = cap_reason(award)
    if draft.kind == "note":
        text = (texts.NOTE_RECORDED_CAPPED.format(points=points, reason=reason) if reason
                else texts.NOTE_RECORDED.format(points=points))
    elif reason:
        text = texts.CHECKIN_RECORDED_CAPPED.format(title=title, minutes=minutes, points=points, reason=reason)
    else:
        text = texts.CHECKIN_RECORDED.format(title=title, minutes=minutes, points=points)
    text += "\n" + texts.CHECKIN_YEAR_TOTAL.format(total=total, target=rules.annual_target)
    await show(update, text)


async def card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    """The buttons in front of the member: the preview's, or the field choice's (修改)."""
    if waiting.step == CHECKIN_CARD:
        return _card_buttons(waiting.ref_id)
    if waiting.step == CHECKIN_EDIT:  # a note offers only its date; pressing another field is refused
        return pending.buttons_of(*_field_buttons(waiting.ref_id, note=False))
    return ()


def takes(waiting: Waiting, message: Message) -> bool:
    """Typed text while the draft asks for the check-in or a field."""
    return message.text is not None and not message.text.startswith("/") \
        and waiting.step in checkins_repo.DRAFT_FIELDS


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    text_filter = CheckinTextFilter(services_of(app).config(CreditRules))
    pending.add_flow(app, pending.Flow(CHECKIN, card=card, press=press, takes=takes, on_input=awaited_text,
                                       cancel=cancel_draft))
    app.add_handler(CommandHandler("checkin", checkin_command, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND & text_filter, checkin_text))
    app.add_handler(CallbackQueryHandler(checkin_button, pattern=rf"^{PREFIX}:"))


FEATURE = Feature(name="checkin", register=register, commands=(CommandInfo("checkin"),))
