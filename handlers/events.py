"""Offline events (线下活动): staff /event with code and a rotating QR page; members check in by scanning it,
by the typed code (limited, flagged to staff), and with a location where the event requires one."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

import segno
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InputMediaPhoto, KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers import pending, start, texts
from handlers.context import BotApplication, BotContext, Services, services_of
from handlers.credits_common import cap_reason, fmt_time, local_now, rules_of
from handlers.guards import parse_id, reply, require_member, require_staff
from handlers.registry import CommandInfo, Feature
from store import members as members_repo
from store import secrets as secrets_repo
from store.credits import events as events_repo
from store.credits.rules import CreditRules
from store.models import CreditEvent, Member
from store.pending import LOCATION, Waiting
from store.timeparse import parse_when

log = logging.getLogger(__name__)

PREFIX = "ev"


@dataclass
class EventTokenSecret:
    """The key signing QR tokens (a feature configuration): EVENT_TOKEN_SECRET, or, once read, the database's."""

    value: bytes | None = None

    @classmethod
    def from_setting(cls, setting: str | None) -> EventTokenSecret:
        return cls(setting.encode() if setting else None)


TOKEN_SECRET_NAME = "event-checkin-token"
QR_JOB = "event-qr-pages"
QR_WORDS = ("二维码", "qr", "QR")


class EventCodeFilter(filters.MessageFilter):
    """A text that is just an event code (``EVT-HY01`` or ``HY01``)."""

    def filter(self, message: Message) -> bool:
        return events_repo.normalise_code(message.text or "") is not None


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
    require_location: bool
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
        elif key in ("定位", "location"):
            if value not in ("必需", "必须", "需要", "required"):
                raise SpecError("location", value)
            values["require_location"] = True
        elif key in ("代码", "code"):
            code = events_repo.normalise_code(value)
            if code is None:
                raise SpecError("bad_code", value)
            values["code"] = code
        elif option:
            raise SpecError("option", option)
    if values.get("require_location") and "latitude" not in values:
        raise SpecError("location_needs_place")
    return events_repo.EventSpec(
        title=title, rule_id=rule_id, starts_at=starts.astimezone(UTC), ends_at=ends.astimezone(UTC),
        **values,
    )


def deep_link(username: str | None, payload: str) -> str | None:
    return f"https://t.me/{username.lstrip('@')}?start={payload}" if username else None


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


# --- the rotating QR page ------------------------------------------------------------------------------


async def token_secret(services: Services, session: AsyncSession | None = None) -> bytes:
    """The key signing QR tokens: EVENT_TOKEN_SECRET, else a random one kept in the database (all processes agree)."""
    config = services.config(EventTokenSecret)
    if config.value is not None:
        return config.value
    if session is None:
        async with services.db.session() as own:
            value, _ = await secrets_repo.get_or_create(own, name=TOKEN_SECRET_NAME, now=services.clock())
            await own.commit()
        created = False
    else:
        value, created = await secrets_repo.get_or_create(session, name=TOKEN_SECRET_NAME, now=services.clock())
    if not created:  # a secret made in an update's transaction is remembered once it is surely committed
        config.value = value.encode()
    return value.encode()


def _qr_picture(services: Services, username: str | None, secret: bytes, event: CreditEvent, now: datetime
                ) -> tuple[bytes, str]:
    token = events_repo.checkin_token(secret, event_id=event.id, code=event.code, at=now)
    caption = texts.EVENT_QR_CAPTION.format(title=event.title, code=events_repo.display_code(event.code),
                                            at=now.astimezone(services.tz).strftime("%H:%M:%S"))
    return qr_png(deep_link(username, token) or token), caption


def _username(app: BotApplication, services: Services) -> str | None:
    return services.bot_username or app.bot.username


async def _send_qr_page(context: BotContext, event: CreditEvent, chat_id: int) -> None:
    """Show the event's QR code in ``chat_id`` and keep renewing it in place while check-in is open."""
    services, now = context.services, context.now()
    secret = await token_secret(services, context.session)
    png, caption = _qr_picture(services, _username(context.application, services), secret, event, now)
    message = await context.bot.send_photo(chat_id, photo=png, caption=caption)
    await events_repo.add_qr_page(context.session, event_id=event.id, chat_id=chat_id,
                                  message_id=message.message_id, now=now)
    await context.commit()
    ensure_qr_job(context.application)


async def refresh_qr_pages(app: BotApplication, now: datetime) -> int:
    """Renew every QR page whose event is open for check-in (a new signed token); returns how many were edited.

    A page whose check-in window has ended says so once and is forgotten; when none is left the job stops."""
    services = services_of(app)
    rules = services_of(app).config(CreditRules)
    username = _username(app, services)
    edited, left = 0, 0
    async with services.db.session() as session:
        secret = await token_secret(services)
        for page, event in await events_repo.qr_pages(session):
            opens, closes = events_repo.window(event, rules)
            if now < opens:  # renewed from the opening of check-in (an event next week is not edited all week)
                left += 1
                continue
            if now > closes:
                closed = texts.EVENT_QR_CLOSED.format(
                    title=event.title, closes=closes.astimezone(services.tz).strftime("%m-%d %H:%M"))
                try:
                    await app.bot.edit_message_caption(page.chat_id, page.message_id, caption=closed)
                except TelegramError as exc:
                    log.info("QR page %s could not be closed: %s", page.id, exc)
                await events_repo.drop_qr_page(session, page_id=page.id)
                continue
            png, caption = _qr_picture(services, username, secret, event, now)
            try:
                await app.bot.edit_message_media(InputMediaPhoto(png, caption=caption), chat_id=page.chat_id,
                                                 message_id=page.message_id)
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    left += 1
                    continue
                log.info("QR page %s is gone (%s); not renewing it", page.id, exc)
                await events_repo.drop_qr_page(session, page_id=page.id)
                continue
            except TelegramError as exc:  # flood control or a network error: try again next time
                log.warning("QR page %s not renewed: %s", page.id, exc)
                left += 1
                continue
            edited += 1
            left += 1
        await session.commit()
    if not left and app.job_queue is not None:
        for job in app.job_queue.get_jobs_by_name(QR_JOB):
            job.schedule_removal()
    return edited


async def qr_job(context: BotContext) -> None:
    """Every 30 seconds while a QR page is open: renew it."""
    await refresh_qr_pages(context.application, context.services.clock())


def ensure_qr_job(app: BotApplication) -> None:
    if app.job_queue is not None and not app.job_queue.get_jobs_by_name(QR_JOB):
        app.job_queue.run_repeating(qr_job, interval=events_repo.TOKEN_STEP_SECONDS,
                                    first=events_repo.TOKEN_STEP_SECONDS, name=QR_JOB)


async def warm_events(context: BotContext) -> None:
    """At start-up: resume renewing QR pages."""
    app, services = context.application, context.services
    async with services.db.session() as session:
        pages = await events_repo.qr_pages(session)
    if pages:
        ensure_qr_job(app)


async def _announce(update: Update, context: BotContext, event: CreditEvent, rules: CreditRules) -> None:
    opens, closes = events_repo.window(event, rules)
    code = events_repo.display_code(event.code)
    place_line = texts.EVENT_PLACE_REQUIRED_LINE if event.require_location else texts.EVENT_PLACE_LINE
    place = place_line.format(place=event.place, radius=event.radius_m) if event.has_place else ""
    text = texts.EVENT_CREATED.format(
        title=event.title, kind=rules.label(event.rule_id), points=event.points,
        starts=fmt_time(context, event.starts_at), ends=fmt_time(context, event.ends_at), place=place, code=code,
        opens=fmt_time(context, opens), closes=fmt_time(context, closes),
    )
    await reply(update, text)
    chat = update.effective_chat
    if chat is not None:
        await _send_qr_page(context, event, chat.id)


async def _show_attendance(update: Update, context: BotContext, event: CreditEvent) -> None:
    rows = await events_repo.attendance_list(context.session, event_id=event.id)
    code = events_repo.display_code(event.code)
    if not rows:
        await reply(update, texts.EVENT_ATTENDANCE_EMPTY.format(title=event.title, code=code))
        return
    lines = [texts.EVENT_ATTENDANCE_HEAD.format(title=event.title, code=code, count=len(rows))]
    typed = sum(1 for attendance, _ in rows if attendance.method == "code")
    if typed:
        lines.append(texts.EVENT_TYPED_NOTE.format(count=typed))
    for n, (attendance, member) in enumerate(rows, start=1):
        distance = (texts.EVENT_DISTANCE.format(distance=round(attendance.distance_m))
                    if attendance.distance_m is not None else "")
        flag = (texts.EVENT_TYPED_FLAG if attendance.method == "code" else "") + (
            texts.EVENT_FLAG if attendance.out_of_radius else "")
        lines.append(texts.EVENT_ATTENDANCE_LINE.format(
            n=n, name=member.name, at=fmt_time(context, attendance.at),
            method=texts.EVENT_METHODS.get(attendance.method, attendance.method), distance=distance, flag=flag,
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
        elif rest.strip() in QR_WORDS and update.effective_chat is not None:
            await _send_qr_page(context, event, update.effective_chat.id)
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


async def _check_in(update: Update, context: BotContext, member: Member, raw: str, *, scanned: bool) -> None:
    """A check-in by the typed code, or by the QR code's deep link (``scanned``): check, record, answer."""
    rules, tz, now = rules_of(context), context.services.tz, context.now()
    if scanned and events_repo.parse_token(raw) is not None:
        secret = await token_secret(context.services, context.session)
        result = await events_repo.check_in_by_token(context.session, rules=rules, secret=secret, text=raw,
                                                     member_id=member.id, now=now, tz=tz)
    else:  # a typed code, or an old-style link carrying the bare code: limited like typing it
        result = await events_repo.check_in_by_code(context.session, rules=rules, text=raw, member_id=member.id,
                                                    now=now, tz=tz)
    await context.commit()  # the attempt counts (and any points are recorded) before we answer
    outcome, event = result.outcome, result.event
    Outcome = events_repo.CheckinOutcome
    if outcome is Outcome.NOT_FOUND or event is None:
        text = {Outcome.LOCKED: texts.EVENT_CODE_LOCKED, Outcome.INVALID: texts.EVENT_QR_INVALID,
                }.get(outcome, texts.EVENT_NOT_FOUND.format(code=raw.strip()[:20]))
        await reply(update, text)
        return
    opens, closes = events_repo.window(event, rules)
    if outcome is Outcome.ALREADY and result.attendance is not None:
        await reply(update, texts.EVENT_ALREADY.format(at=fmt_time(context, result.attendance.at), title=event.title))
    elif outcome is Outcome.TOO_EARLY:
        await reply(update, texts.EVENT_TOO_EARLY.format(title=event.title, opens=fmt_time(context, opens)))
    elif outcome is Outcome.CLOSED:
        await reply(update, texts.EVENT_CLOSED.format(title=event.title, closes=fmt_time(context, closes)))
    elif outcome is Outcome.LOCKED:
        await reply(update, texts.EVENT_CODE_LOCKED)
    elif outcome is Outcome.EXPIRED:
        await reply(update, texts.EVENT_QR_EXPIRED)
    elif outcome is Outcome.INVALID:
        await reply(update, texts.EVENT_QR_INVALID)
    elif outcome is Outcome.NEED_LOCATION:
        await _ask_location(update, context, texts.EVENT_LOCATION_REQUIRED)
    elif outcome is Outcome.RECORDED:
        text = _checked_in_text(result, event)
        if event.has_place:
            await _ask_location(update, context, text + "\n" + texts.EVENT_ASK_LOCATION)
        else:
            await reply(update, text)


def _checked_in_text(result: events_repo.EventCheckin, event: CreditEvent) -> str:
    points = result.award.points if result.award else 0
    reason = cap_reason(result.award)
    return (texts.EVENT_CHECKED_IN_CAPPED.format(title=event.title, points=points, reason=reason) if reason
            else texts.EVENT_CHECKED_IN.format(title=event.title, points=points))


def _location_keyboard() -> ReplyKeyboardMarkup:
    """发送位置 shares the location; 不用了 (a text button: tapping it sends its label) stops asking."""
    return ReplyKeyboardMarkup([[KeyboardButton(texts.BTN_SEND_LOCATION, request_location=True),
                                 KeyboardButton(texts.BTN_LOCATION_SKIP)]],
                               one_time_keyboard=True, resize_keyboard=True)


async def _ask_location(update: Update, context: BotContext, text: str) -> None:
    """Ask for a location; the wait is in the database (the attempt or the check-in), see ``store.pending``."""
    message = update.effective_message
    if message is None:
        await reply(update, text)
        return
    await message.reply_text(text, reply_markup=_location_keyboard())


def _location_buttons(event_id: int) -> list[tuple[str, str]]:
    return [(texts.BTN_SEND_LOCATION, f"{PREFIX}:loc:{event_id}"),
            (texts.BTN_LOCATION_SKIP, f"{PREFIX}:skip:{event_id}")]


async def location_card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    return _location_buttons(waiting.ref_id)


async def press_location(update: Update, context: BotContext, member: Member, data: str) -> None:
    """A label of the location keyboard typed (or its text button tapped): 不用了 stops asking; 发送位置 typed
    cannot carry a location, so the keyboard is shown again."""
    parts = data.split(":")
    event_id = parse_id(parts[2]) if len(parts) == 3 and parts[0] == PREFIX else None
    message = update.effective_message
    if event_id is None or message is None:
        await reply(update, texts.STALE_BUTTON)
        return
    if parts[1] == "loc":
        await message.reply_text(texts.EVENT_LOCATION_USE_BUTTON, reply_markup=_location_keyboard())
        return
    await _decline(update, context, member, event_id)


async def _decline(update: Update, context: BotContext, member: Member, event_id: int) -> None:
    await events_repo.decline_location(context.session, member_id=member.id, event_id=event_id, now=context.now())
    await context.commit()
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.EVENT_LOCATION_SKIPPED, reply_markup=ReplyKeyboardRemove())


async def cancel_location(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while a location is asked for: stop asking."""
    await _decline(update, context, member, waiting.ref_id)


def takes_location(waiting: Waiting, message: Message) -> bool:
    return message.location is not None


@require_member
async def code_text(update: Update, context: BotContext, member: Member) -> None:
    """A member sends an event code."""
    message = update.effective_message
    if message is not None and message.text:
        await _check_in(update, context, member, message.text, scanned=False)


@require_member
async def start_event(update: Update, context: BotContext, member: Member) -> None:
    """/start EVT-… from the projected QR code: check in."""
    await _check_in(update, context, member, (context.args or [""])[0], scanned=True)


async def location(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """A shared location after an event check-in: completes one that requires it, else records the distance."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    lat, lon, now = message.location.latitude, message.location.longitude, context.now()
    required = await events_repo.check_in_with_location(
        context.session, rules=rules_of(context), member_id=member.id, latitude=lat, longitude=lon, now=now,
        tz=context.services.tz,
    )
    if required is not None and required.event is not None:
        await context.commit()
        await _answer_required_location(update, context, required, required.event)
        return
    found = await events_repo.record_location(
        context.session, member_id=member.id, latitude=lat, longitude=lon, now=now,
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


async def _answer_required_location(
    update: Update, context: BotContext, result: events_repo.EventCheckin, event: CreditEvent
) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    Outcome = events_repo.CheckinOutcome
    distance = round(result.distance_m or 0)
    if result.outcome is Outcome.FAR:  # they may try again from the venue: the check-in still waits
        await message.reply_text(texts.EVENT_LOCATION_REQUIRED_FAR.format(distance=distance, radius=event.radius_m),
                                 reply_markup=_location_keyboard())
        return
    if result.outcome is Outcome.RECORDED:
        text = _checked_in_text(result, event) + "\n" + texts.EVENT_LOCATION_OK.format(distance=distance)
    elif result.outcome is Outcome.CLOSED:
        closes = events_repo.window(event, rules_of(context))[1]
        text = texts.EVENT_CLOSED.format(title=event.title, closes=fmt_time(context, closes))
    else:
        text = texts.EVENT_LOCATION_LOCKED
    await message.reply_text(text, reply_markup=ReplyKeyboardRemove())


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    # Deep links (/start EVT-XXXX) are /start's to dispatch, ahead of its invite codes, whatever the order.
    start.add_payload(app, "EVT", start_event)
    pending.add_flow(app, pending.Flow(LOCATION, card=location_card, press=press_location, takes=takes_location,
                                       on_input=location, cancel=cancel_location))
    app.add_handler(CommandHandler("event", event_command, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND & EventCodeFilter(), code_text))
    if app.job_queue is not None:
        app.job_queue.run_once(warm_events, 0, name="events-warm")


FEATURE = Feature(name="events", register=register, commands=(CommandInfo("event", staff=True),))
