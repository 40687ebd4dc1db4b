"""Learning library (学习资料库): /learn, browsing by topic, new, required and 继续学习, reading page by page
inside Telegram, and 学完打卡 through the credit rules."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import date
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import pending, texts
from handlers.context import BotApplication, BotContext
from handlers.credits_common import local_today, rules_of
from handlers.guards import answer_press, notify, parse_id, reply, require_member, show
from handlers.registry import CommandInfo, Feature
from knowledge.loaders import SUPPORTED_SUFFIXES, LoaderError, load
from store import audit
from store.credits import reports
from store.learning import materials as materials_repo
from store.learning import reading as reading_repo
from store.learning import stats as learning_stats
from store.models import LearningMaterial, MaterialReading, Member
from store.pending import LEARNING, Waiting

PREFIX = "learn"
UPLOAD_MAX_MB = 10
LISTS = ("continue", "required", "new")
MAX_BUTTON_TITLE = 24


def _markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows if row])


def _catalogue(context: BotContext) -> tuple[str, ...]:
    return context.services.prefs_defaults.topics_catalogue


def _home_buttons() -> list[list[tuple[str, str]]]:
    return [[(texts.BTN_LEARN_CONTINUE, f"{PREFIX}:continue:0"), (texts.BTN_LEARN_REQUIRED, f"{PREFIX}:required:0")],
            [(texts.BTN_LEARN_NEW, f"{PREFIX}:new:0"), (texts.BTN_LEARN_TOPICS, f"{PREFIX}:topics:0")]]


async def _home(update: Update, context: BotContext, *, edit: bool) -> None:
    count = len(await materials_repo.all_materials(context.session, active_only=True))
    await context.commit()
    if count == 0:
        await (show(update, texts.LEARN_EMPTY) if edit else reply(update, texts.LEARN_EMPTY))
        return
    text, markup = texts.LEARN_MENU.format(count=count), _markup(_home_buttons())
    if edit:
        await show(update, text, markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


@require_member
async def learn_command(update: Update, context: BotContext, member: Member) -> None:
    """/learn: the library's menu (继续学习, 必学, 最新, 按主题)."""
    await _home(update, context, edit=False)


def _state(material: LearningMaterial, reading: MaterialReading | None, today: date) -> str:
    parts = []
    if materials_repo.is_required(material, today=today):
        parts.append(texts.LEARN_STATE_REQUIRED.format(label=material.required_label or texts.LEARN_REQUIRED_DEFAULT))
    if reading is not None and reading.finished_at is not None:
        parts.append(texts.LEARN_STATE_DONE)
    elif reading is not None:
        pages = len(materials_repo.pages_of(material))
        parts.append(texts.LEARN_STATE_AT.format(page=min(reading.last_page, pages), pages=pages))
    return "".join(parts)


def _short(title: str) -> str:
    return title if len(title) <= MAX_BUTTON_TITLE else title[: MAX_BUTTON_TITLE - 1] + "…"


async def _show_list(update: Update, context: BotContext, member: Member, which: str, topic: str | None) -> None:
    today = local_today(context)
    session = context.session
    readings = await reading_repo.readings_of(session, member_id=member.id)
    if which == "continue":
        found = [await materials_repo.get_material(session, material_id=r.material_id)
                 for r in await reading_repo.in_progress(session, member_id=member.id)]
        items = [m for m in found if m is not None]
    elif which == "required":
        items = await materials_repo.required(session, today=today)
    elif which == "new":
        items = await materials_repo.newest(session)
    else:
        items = await materials_repo.by_topic(session, topic=topic or "")
    await context.commit()
    key = "topic" if which == "topic" else which
    back = [(texts.BTN_LEARN_BACK, f"{PREFIX}:home:0")]
    if not items:
        await show(update, texts.LEARN_LIST_EMPTY[key].format(topic=topic), _markup([back]))
        return
    lines = [texts.LEARN_LIST_HEAD[key].format(topic=topic)]
    rows: list[list[tuple[str, str]]] = []
    for n, material in enumerate(items, start=1):
        reading = readings.get(material.id)
        lines.append(texts.LEARN_LINE.format(n=n, title=material.title, minutes=material.estimated_minutes,
                                             state=_state(material, reading, today)))
        page = reading.last_page if reading is not None and reading.finished_at is None else 1
        page = min(page, len(materials_repo.pages_of(material)))
        rows.append([(f"{n}. {_short(material.title)}", f"{PREFIX}:page:{material.id}:{page}")])
    await show(update, "\n".join(lines), _markup([*rows, back]))


async def _show_topics(update: Update, context: BotContext) -> None:
    catalogue = _catalogue(context)
    topics = await materials_repo.topics_in_use(context.session, catalogue=catalogue)
    await context.commit()
    back = [(texts.BTN_LEARN_BACK, f"{PREFIX}:home:0")]
    indexed = [(catalogue.index(t), t) for t in topics if t in catalogue]  # the button names the topic's index
    if not indexed:
        await show(update, texts.LEARN_NO_TOPICS, _markup([back]))
        return
    rows = [[(name, f"{PREFIX}:topic:{index}") for index, name in indexed[i:i + 3]] for i in range(0, len(indexed), 3)]
    await show(update, texts.LEARN_TOPICS_HEAD, _markup([*rows, back]))


def page_text(material: LearningMaterial, pages: list[str], page: int) -> str:
    """One page as the member sees it: the source cited above and below, page k/n."""
    text = texts.LEARN_PAGE.format(source=material.source_label, page=page, pages=len(pages), body=pages[page - 1])
    if material.link_url and page == len(pages) and pages[page - 1] != material.link_url:
        text += "\n" + texts.LEARN_PAGE_LINK.format(url=material.link_url)
    return text


def page_buttons(material_id: int, page: int, pages: int, *, finished: bool) -> list[list[tuple[str, str]]]:
    turn = []
    if page > 1:
        turn.append((texts.BTN_LEARN_PREV, f"{PREFIX}:page:{material_id}:{page - 1}"))
    if page < pages:
        turn.append((texts.BTN_LEARN_NEXT, f"{PREFIX}:page:{material_id}:{page + 1}"))
    last = [(texts.BTN_LEARN_DONE, f"{PREFIX}:done:{material_id}")] if page == pages and not finished else []
    return [turn, last, [(texts.BTN_LEARN_BACK, f"{PREFIX}:home:0")]]


async def _show_page(update: Update, context: BotContext, member: Member, material_id: int, page: int) -> None:
    material = await materials_repo.get_material(context.session, material_id=material_id)
    pages = materials_repo.pages_of(material) if material is not None else []
    if material is None or not 1 <= page <= len(pages):
        await context.commit()
        await reply(update, texts.STALE_BUTTON)
        return
    reading = await reading_repo.open_page(context.session, member_id=member.id, material=material, page=page,
                                           now=context.now())
    finished = reading.finished_at is not None
    await context.commit()
    await answer_press(update)
    await show(update, page_text(material, pages, page),
               _markup(page_buttons(material.id, page, len(pages), finished=finished)))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return texts.LEARN_DURATION_SEC.format(seconds=seconds)
    return texts.LEARN_DURATION_MIN.format(minutes=round(seconds / 60))


async def _finish(update: Update, context: BotContext, member: Member, material_id: int) -> None:
    material = await materials_repo.get_material(context.session, material_id=material_id)
    if material is None:
        await context.commit()
        await reply(update, texts.STALE_BUTTON)
        return
    rules, today = rules_of(context), local_today(context)
    try:
        done = await reading_repo.finish(context.session, member_id=member.id, material=material, rules=rules,
                                         now=context.now(), today=today)
    except reading_repo.ReadingError as exc:
        reading = await reading_repo.get_reading(context.session, member_id=member.id, material_id=material.id)
        await context.commit()
        if exc.code == "already" and reading is not None and reading.finished_at is not None:
            day = reading.finished_at.astimezone(context.services.tz).date().isoformat()
            await reply(update, texts.LEARN_ALREADY_DONE.format(day=day))
        elif exc.code == "not_at_end":
            await reply(update, texts.LEARN_NOT_AT_END)
        elif exc.code == "no_rule":
            await reply(update, texts.LEARN_NO_RULE)
        else:
            await reply(update, texts.STALE_BUTTON)
        return
    total = await reports.year_total(context.session, member_id=member.id, year=today.year)
    await context.commit()
    points, duration = done.award.points, _duration(done.read_seconds)
    if done.full:
        text = texts.LEARN_RECORDED.format(title=material.title, duration=duration, points=points)
    else:
        percent = int(100 * done.read_seconds / (material.estimated_minutes * 60))
        text = texts.LEARN_RECORDED_SHORT.format(title=material.title, duration=duration, points=points,
                                                 minutes=material.estimated_minutes, percent=percent)
    if done.award.capped_reason:
        reason = texts.CREDIT_CAP_REASONS.get(done.award.capped_reason, done.award.capped_reason)
        text += texts.LEARN_RECORDED_CAPPED.format(reason=reason)
    text += "\n" + texts.CHECKIN_YEAR_TOTAL.format(total=total, target=rules.annual_target)
    await answer_press(update)
    await notify(update, text)


def _median(seconds: int | None) -> str:
    return texts.LEARN_STATS_NONE if seconds is None else _duration(seconds)


async def learning_stats_lines(context: BotContext, *, today: date, top: int = 5) -> list[str]:
    """The library's figures for staff /stats: totals, members missing required reading, the most opened."""
    overview = await learning_stats.overview(context.session, today=today)
    per_material = await learning_stats.material_stats(context.session)
    lines = [texts.LEARN_STATS_HEAD.format(materials=overview.materials, opened=overview.opened,
                                           finished=overview.finished, median=_median(overview.median_seconds)),
             texts.LEARN_STATS_MISSING.format(count=overview.required_missing_members)]
    for item in sorted(per_material, key=lambda s: (-s.opened, -s.material.id))[:top]:
        if item.opened:
            line = texts.LEARN_STATS_MATERIAL.format(title=item.material.title, opened=item.opened,
                                                     finished=item.finished, median=_median(item.median_seconds))
            if item.quiz is not None and item.quiz.share is not None:
                line += texts.LEARN_STATS_QUIZ.format(share=round(100 * item.quiz.share), answered=item.quiz.answered)
            lines.append(line)
    return lines


@require_member
async def learn_button(update: Update, context: BotContext, member: Member) -> None:
    """Every button of the library: lists, topics, pages, 学完打卡."""
    query = update.callback_query
    parts = ((query.data if query else None) or "").split(":")
    action = parts[1] if len(parts) >= 3 and parts[0] == PREFIX else ""
    first = parse_id(parts[2]) if len(parts) >= 3 else None
    if action == "home" and len(parts) == 3:
        await answer_press(update)
        await _home(update, context, edit=True)
    elif action in LISTS and len(parts) == 3:
        await answer_press(update)
        await _show_list(update, context, member, action, None)
    elif action == "topics" and len(parts) == 3:
        await answer_press(update)
        await _show_topics(update, context)
    elif action == "topic" and len(parts) == 3 and parts[2].isdigit() and int(parts[2]) < len(_catalogue(context)):
        await answer_press(update)
        await _show_list(update, context, member, "topic", _catalogue(context)[int(parts[2])])
    elif action == "page" and len(parts) == 4 and first is not None and parts[3].isdigit():
        await _show_page(update, context, member, first, int(parts[3]))
    elif action == "done" and len(parts) == 3 and first is not None:
        await _finish(update, context, member, first)
    elif action in ("pub", "drop") and len(parts) == 3 and first is not None and member.is_staff:
        await _draft_press(update, context, member, action, first)
    else:
        await reply(update, texts.STALE_BUTTON)


# --- staff: a file sent to the bot becomes a draft material, published with 确认 --------------------------


def parse_caption(caption: str) -> tuple[str, list[str], int | None]:
    """``标题 | 主题、主题 | 30分钟`` → (title, topics, minutes); topics and minutes may be left out."""
    parts = [p.strip() for p in re.split(r"[|｜]", caption)]
    title = parts[0] if parts else ""
    topics = [t for t in re.split(r"[、,，\s]+", parts[1]) if t] if len(parts) > 1 else []
    minutes = None
    if len(parts) > 2 and parts[2]:
        digits = re.fullmatch(r"(\d{1,4})\s*(?:分钟|分|min)?", parts[2])
        minutes = int(digits.group(1)) if digits else 0
    return title, topics, minutes


def _read_file(name: str, data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("upload" + Path(name).suffix.lower())
        path.write_bytes(data)
        return load(path).text


async def staff_document(update: Update, context: BotContext) -> None:
    """A document with a caption: from staff, a draft learning material to confirm; from anyone else, the
    reply any unsupported message gets."""
    message = update.effective_message
    member = await context.member(update)
    if message is None or message.document is None:
        return
    if member is None or not member.is_staff:
        await reply(update, texts.UNBOUND if member is None else
                    texts.UNSUPPORTED_MEDIA.format(kind=texts.MEDIA_KINDS["document"]))
        return
    document = message.document
    name = document.file_name or ""
    title, topics, minutes = parse_caption(message.caption or "")
    catalogue = _catalogue(context)
    if not title or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        await reply(update, texts.LEARN_UPLOAD_HOWTO)
        return
    unknown = next((t for t in topics if t not in catalogue), None)
    if unknown is not None:
        await reply(update, texts.LEARN_UPLOAD_BAD_TOPIC.format(topic=unknown, topics="、".join(catalogue)))
        return
    if minutes is not None and not 1 <= minutes <= materials_repo.MAX_MINUTES:
        await reply(update, texts.LEARN_UPLOAD_BAD_MINUTES)
        return
    if (document.file_size or 0) > UPLOAD_MAX_MB * 1024 * 1024:
        await reply(update, texts.LEARN_UPLOAD_TOO_BIG.format(limit=UPLOAD_MAX_MB))
        return
    await context.before_network()
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        body = await asyncio.to_thread(_read_file, name, data)
    except (TelegramError, LoaderError, OSError):
        await reply(update, texts.LEARN_UPLOAD_UNREADABLE)
        return
    try:
        material = await materials_repo.create_material(
            context.session, created_by=member.id, now=context.now(), catalogue=catalogue, draft=True,
            data=materials_repo.MaterialInput(
                title=title, kind="file", body=body, topics=topics, file_name=name[:255],
                estimated_minutes=minutes or materials_repo.estimate_minutes(body)),
        )
    except materials_repo.MaterialError:
        await reply(update, texts.LEARN_UPLOAD_UNREADABLE)
        return
    await context.commit()
    text = texts.LEARN_DRAFT.format(
        title=material.title, source=material.source_label, minutes=material.estimated_minutes,
        topics="、".join(material.topics) or texts.LEARN_DRAFT_NO_TOPICS,
        pages=len(materials_repo.pages_of(material)))
    await message.reply_text(text, reply_markup=_markup([_draft_buttons(material.id)]))


async def _draft_press(update: Update, context: BotContext, staff: Member, action: str, material_id: int) -> None:
    draft = await materials_repo.get_draft(context.session, material_id=material_id, created_by=staff.id)
    if draft is None:
        await context.commit()
        await reply(update, texts.STALE_BUTTON)
        return
    title = draft.title
    if action == "pub":
        done = await materials_repo.publish_draft(context.session, material_id=material_id, created_by=staff.id,
                                                  now=context.now())
    else:
        done = await materials_repo.drop_draft(context.session, material_id=material_id, created_by=staff.id)
    if not done:  # the other tap (perhaps on another worker) handled it first
        await context.commit()
        await reply(update, texts.STALE_BUTTON)
        return
    if action == "pub":
        await audit.record(context.session, actor=staff, action="learning.add", at=context.now(),
                           target=f"material:{material_id}", detail={"title": title[:200], "via": "telegram"})
    await context.commit()
    await answer_press(update)
    await show(update, texts.LEARN_DRAFT_PUBLISHED.format(title=title) if action == "pub"
               else texts.LEARN_DRAFT_DROPPED)


def _draft_buttons(material_id: int) -> list[tuple[str, str]]:
    return [(texts.BTN_CONFIRM, f"{PREFIX}:pub:{material_id}"), (texts.BTN_CANCEL, f"{PREFIX}:drop:{material_id}")]


async def draft_card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    """The draft card's buttons: 确认 / 取消 typed mean them."""
    return _draft_buttons(waiting.ref_id)


async def draft_press(update: Update, context: BotContext, member: Member, data: str) -> None:
    """A button of the draft card, tapped or typed."""
    parts = data.split(":")
    material_id = parse_id(parts[2]) if len(parts) == 3 and parts[1] in ("pub", "drop") else None
    if material_id is None:
        await reply(update, texts.STALE_BUTTON)
        return
    await _draft_press(update, context, member, parts[1], material_id)


async def draft_cancel(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while a draft material waits: drop it."""
    await _draft_press(update, context, member, "drop", waiting.ref_id)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    pending.add_flow(app, pending.Flow(LEARNING, card=draft_card, press=draft_press, cancel=draft_cancel, staff=True))
    app.add_handler(CommandHandler("learn", learn_command, filters=private))
    app.add_handler(MessageHandler(private & filters.Document.ALL & filters.CAPTION, staff_document))
    app.add_handler(CallbackQueryHandler(learn_button, pattern=rf"^{PREFIX}:"))


FEATURE = Feature(name="learn", register=register, commands=(CommandInfo("learn"),))
