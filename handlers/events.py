"""Offline events (线下活动): staff /event with code, link and QR; members check in by code or deep link."""

from __future__ import annotations

import io
import re
from datetime import UTC
from typing import TypedDict

import segno
from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.credits_common import cap_reason, first_in_group, fmt_time, local_now, rules_of
from handlers.guards import reply, require_member, require_staff
from handlers.registry import CommandInfo, Feature
from store import members as members_repo
from store.credits import events as events_repo
from store.credits.rules import CreditRules
from store.models import CreditEvent, Member
from store.timeparse import parse_when

LOCATION_PENDING_KEY = "credits_location_pending"


class EventCodeFilter(filters.MessageFilter):
    """A text that is just an event code (``EVT-HY01`` or ``HY01``)."""

    def filter(self, message: Message) -> bool:
        return events_repo.normalise_code(message.text or "") is not None


class LocationPendingFilter(filters.MessageFilter):
    """A location from a member who was just asked for one after an event check-in."""

    def __init__(self, pending: set[int]) -> None:
        super().__init__(name="LocationPendingFilter")
        self.pending = pending

    def filter(self, message: Message) -> bool:
        return message.from_user is not None and message.from_user.id in self.pending


def _pending(app: BotApplication) -> set[int]:
    return app.bot_data.setdefault(LOCATION_PENDING_KEY, set())


def _type_names(rules: CreditRules) -> str:
    return "、".join(rule.label for rule in rules.event_types().values())


def resolve_type(rules: CreditRules, text: str) -> str | None:
    """A type typed by staff: a rule id or (part of) its label, e.g. 会议, 培训, 读书, 调研."""
    value = text.strip()
    event_types = rules.event_types()
    if value in event_types:
        return value
    for rule_id, rule in event_types.items():
        if value == rule.label:
            return rule_id
    for rule_id, rule in event_types.items():
        if value and (value in rule.label or rule.label in value):
            return rule_id
    return None


class SpecError(Exception):
    def __init__(self, code: str, value: str = "") -> None:
        super().__init__(code)
        self.code, self.value = code, value


class _SpecOptions(TypedDict, total=False):
    """The optional ``EventSpec`` fields that ``/event … | 积分=… | 地点=… | 代码=…`` may set."""

    points: int
    place: str
    latitude: float
    longitude: float
    radius_m: int
    code: str


def parse_spec(text: str, *, rules: CreditRules, context: BotContext) -> events_repo.EventSpec:
    """``标题 | 类型 | 开始 | 结束 [| 积分=5] [| 地点=名 纬度,经度 半径] [| 代码=HY01]``."""
    parts = [p.strip() for p in re.split(r"[|｜]", text)]
    if len(parts) < 4:
        raise SpecError("fields")
    title, kind, start_text, end_text, *options = parts
    if not 1 <= len(title) <= 100:
        raise SpecError("title")
    rule_id = resolve_type(rules, kind)
    if rule_id is None:
        raise SpecError("bad_type", kind)
    now = local_now(context)
    starts = parse_when(start_text, now=now)
    if starts is None:
        raise SpecError("start", start_text)
    ends = parse_when(end_text, now=now)
    if ends is None:
        raise SpecError("end", end_text)
    if ends <= starts:
        raise SpecError("bad_times")
    values: _SpecOptions = {}
    for option in options:
        key, _, value = option.partition("=")
        key, value = key.strip(), value.strip()
        if key in ("积分", "points"):
            if not (value.isascii() and value.isdigit()) or int(value) > 100:
                raise SpecError("points", value)
            values["points"] = int(value)
        elif key in ("地点", "place"):
            match = re.fullmatch(r"(.+?)\s+(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s+(\d{1,5})\s*米?", value)
            if (not match or abs(float(match.group(2))) > 90 or abs(float(match.group(3))) > 180
                    or len(match.group(1).strip()) > 100):  # the column holds 200; PostgreSQL enforces it
                raise SpecError("place")
            values.update({"place": match.group(1).strip(), "latitude": float(match.group(2)),
                           "longitude": float(match.group(3)), "radius_m": int(match.group(4))})
        elif key in ("代码", "code"):
            code = events_repo.normalise_code(value)
            if code is None:
                raise SpecError("bad_code", value)
            values["code"] = code
        elif option:
            raise SpecError("option", option)
    return events_repo.EventSpec(
        title=title, rule_id=rule_id, starts_at=starts.astimezone(UTC), ends_at=ends.astimezone(UTC),
        **values,
    )


def deep_link(context: BotContext, code: str) -> str | None:
    username = context.services.bot_username or context.bot.username
    return f"https://t.me/{username.lstrip('@')}?start={events_repo.display_code(code)}" if username else None


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


async def _announce(update: Update, context: BotContext, event: CreditEvent, rules: CreditRules) -> None:
    opens, closes = events_repo.window(event, rules)
    code = events_repo.display_code(event.code)
    place = (texts.EVENT_PLACE_LINE.format(place=event.place, radius=event.radius_m) if event.has_place else "")
    link = deep_link(context, event.code)
    text = texts.EVENT_CREATED.format(
        title=event.title, kind=rules.label(event.rule_id), points=event.points,
        starts=fmt_time(context, event.starts_at), ends=fmt_time(context, event.ends_at), place=place, code=code,
        opens=fmt_time(context, opens), closes=fmt_time(context, closes),
    )
    if link:
        text += "\n" + texts.EVENT_LINK_LINE.format(link=link)
    await reply(update, text)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_photo(
            chat.id, photo=qr_png(link or code), caption=texts.EVENT_QR_CAPTION.format(title=event.title, code=code)
        )


async def _show_attendance(update: Update, context: BotContext, event: CreditEvent) -> None:
    rows = await events_repo.attendance_list(context.session, event_id=event.id)
    code = events_repo.display_code(event.code)
    if not rows:
        await reply(update, texts.EVENT_ATTENDANCE_EMPTY.format(title=event.title, code=code))
        return
    lines = [texts.EVENT_ATTENDANCE_HEAD.format(title=event.title, code=code, count=len(rows))]
    for n, (attendance, member) in enumerate(rows, start=1):
        distance = (texts.EVENT_DISTANCE.format(distance=round(attendance.distance_m))
                    if attendance.distance_m is not None else "")
        lines.append(texts.EVENT_ATTENDANCE_LINE.format(
            n=n, name=member.name, at=fmt_time(context, attendance.at),
            method=texts.EVENT_METHODS.get(attendance.method, attendance.method), distance=distance,
            flag=texts.EVENT_FLAG if attendance.out_of_radius else "",
        ))
    await reply(update, "\n".join(lines))


async def _mark(update: Update, context: BotContext, staff: Member, event: CreditEvent, rest: str) -> None:
    rules = rules_of(context)
    name, _, reason = rest.strip().partition(" ")
    if not name or not reason.strip():
        await reply(update, texts.EVENT_MARK_USAGE)
        return
    found = [m for m in await members_repo.search(context.session, text=name) if m.name == name]
    if len(found) != 1:
        await reply(update, texts.EVENT_MARK_NO_MEMBER.format(name=name))
        return
    member = found[0]
    result = await events_repo.mark_attendance(
        context.session, rules=rules, event=event, member=member, staff=staff, reason=reason.strip(),
        now=context.now(), tz=context.services.tz,
    )
    await context.commit()
    if result.outcome is events_repo.CheckinOutcome.ALREADY:
        await reply(update, texts.EVENT_MARK_ALREADY.format(name=member.name, title=event.title))
        return
    points = result.award.points if result.award else 0
    await reply(update, texts.EVENT_MARKED.format(name=member.name, title=event.title, points=points))


@require_staff
async def event_command(update: Update, context: BotContext, staff: Member) -> None:
    """/event: create an event, list its check-ins (/event CODE) or mark one by hand (/event CODE 补签 …)."""
    rules = rules_of(context)
    text = " ".join(context.args or []).strip()
    if not text:
        events = await events_repo.recent_events(context.session)
        usage = texts.EVENT_USAGE.format(types=_type_names(rules))
        if events:
            usage += "\n\n" + "\n".join([texts.EVENT_LIST_HEAD] + [
                texts.EVENT_LIST_LINE.format(code=events_repo.display_code(e.code), title=e.title,
                                             starts=fmt_time(context, e.starts_at)) for e in events])
        await reply(update, usage)
        return
    first, _, rest = text.partition(" ")
    code = events_repo.normalise_code(first)
    if code is not None and "|" not in text and "｜" not in text:
        event = await events_repo.get_by_code(context.session, code=code)
        if event is None:
            await reply(update, texts.EVENT_NOT_FOUND.format(code=first))
        elif rest.strip().startswith("补签"):
            await _mark(update, context, staff, event, rest.strip().removeprefix("补签"))
        else:
            await _show_attendance(update, context, event)
        return
    try:
        spec = parse_spec(text, rules=rules, context=context)
        event = await events_repo.create_event(context.session, rules=rules, spec=spec, creator=staff,
                                               now=context.now())
    except SpecError as exc:
        problem = texts.EVENT_PROBLEMS[exc.code].format(value=exc.value, types=_type_names(rules))
        await reply(update, texts.EVENT_BAD.format(problem=problem))
        return
    except events_repo.EventError as exc:
        value = (spec.code or "") if exc.code == "code_taken" else ""
        problem = texts.EVENT_PROBLEMS[exc.code].format(value=value, types=_type_names(rules))
        await reply(update, texts.EVENT_BAD.format(problem=problem))
        return
    await context.commit()
    await _announce(update, context, event, rules)


async def _check_in(update: Update, context: BotContext, member: Member, raw_code: str, method: str) -> None:
    rules = rules_of(context)
    code = events_repo.normalise_code(raw_code)
    event = await events_repo.get_by_code(context.session, code=code) if code else None
    if event is None:
        await reply(update, texts.EVENT_NOT_FOUND.format(code=raw_code.strip()[:20]))
        return
    result = await events_repo.check_in(
        context.session, rules=rules, event=event, member_id=member.id, now=context.now(), method=method,
        tz=context.services.tz,
    )
    opens, closes = events_repo.window(event, rules)
    outcome = result.outcome
    if outcome is events_repo.CheckinOutcome.ALREADY and result.attendance is not None:
        await reply(update, texts.EVENT_ALREADY.format(at=fmt_time(context, result.attendance.at), title=event.title))
        return
    if outcome is events_repo.CheckinOutcome.TOO_EARLY:
        await reply(update, texts.EVENT_TOO_EARLY.format(title=event.title, opens=fmt_time(context, opens)))
        return
    if outcome is events_repo.CheckinOutcome.CLOSED:
        await reply(update, texts.EVENT_CLOSED.format(title=event.title, closes=fmt_time(context, closes)))
        return
    await context.commit()
    points = result.award.points if result.award else 0
    reason = cap_reason(result.award)
    text = (texts.EVENT_CHECKED_IN_CAPPED.format(title=event.title, points=points, reason=reason) if reason
            else texts.EVENT_CHECKED_IN.format(title=event.title, points=points))
    message = update.effective_message
    if not event.has_place or message is None or update.effective_user is None:
        await reply(update, text)
        return
    _pending(context.application).add(update.effective_user.id)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton(texts.BTN_SEND_LOCATION, request_location=True)]],
                                   one_time_keyboard=True, resize_keyboard=True)
    await message.reply_text(text + "\n" + texts.EVENT_ASK_LOCATION, reply_markup=keyboard)


@require_member
async def code_text(update: Update, context: BotContext, member: Member) -> None:
    """A member sends an event code."""
    message = update.effective_message
    if message is not None and message.text:
        await _check_in(update, context, member, message.text, "code")


@require_member
async def start_event(update: Update, context: BotContext, member: Member) -> None:
    """/start EVT-XXXX from the QR code or link: check in."""
    await _check_in(update, context, member, (context.args or [""])[0], "link")


@require_member
async def location(update: Update, context: BotContext, member: Member) -> None:
    """A shared location right after an event check-in: record the distance, flag if out of radius."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.location is None or user is None:
        return
    _pending(context.application).discard(user.id)
    found = await events_repo.record_location(
        context.session, member_id=member.id, latitude=message.location.latitude,
        longitude=message.location.longitude, now=context.now(),
    )
    if found is None:
        await message.reply_text(texts.EVENT_LOCATION_NONE, reply_markup=ReplyKeyboardRemove())
        return
    event, attendance = found
    await context.commit()
    distance = round(attendance.distance_m or 0)
    if not attendance.out_of_radius:
        await message.reply_text(texts.EVENT_LOCATION_OK.format(distance=distance), reply_markup=ReplyKeyboardRemove())
        return
    await message.reply_text(texts.EVENT_LOCATION_FAR.format(distance=distance, radius=event.radius_m),
                             reply_markup=ReplyKeyboardRemove())
    staff_chat = context.services.staff_chat_id
    if staff_chat is not None:
        try:
            await context.bot.send_message(staff_chat, texts.EVENT_STAFF_FAR.format(
                name=member.name, title=event.title, code=events_repo.display_code(event.code), distance=distance,
                radius=event.radius_m))
        except TelegramError:
            pass  # the flag is stored; staff also see it in /event CODE


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    # Deep links (/start EVT-XXXX) must win over /start's invite-code handler, whatever the feature order.
    first_in_group(app, CommandHandler("start", start_event, filters=private & filters.Regex(r"^/start\S*\s+EVT")))
    app.add_handler(CommandHandler("event", event_command, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND & EventCodeFilter(), code_text))
    app.add_handler(MessageHandler(private & filters.LOCATION & LocationPendingFilter(_pending(app)), location))


FEATURE = Feature(name="events", register=register, commands=(CommandInfo("event", staff=True),))
