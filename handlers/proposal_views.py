"""Rendering of proposal cards, lists, notifications and keyboards (texts come from handlers.texts)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers import texts
from store.models import Proposal, ProposalEvent
from store.proposals.text import MAX_PHOTOS
from store.proposals.warning import Warning

PREFIX = "wjy"
CALLBACK_RE = re.compile(r"^wjy:([a-z]{1,6}):([0-9]{1,9})(?::([a-z0-9]{1,12}))?$")
PREVIEW_CHARS = 60


@dataclass(frozen=True)
class Callback:
    action: str
    id: int
    arg: str | None


def callback(action: str, item_id: int, arg: str | int | None = None) -> str:
    data = f"{PREFIX}:{action}:{item_id}" + (f":{arg}" if arg is not None else "")
    assert len(data.encode()) <= 64
    return data


def parse_callback(data: str | None) -> Callback | None:
    """``wjy:<action>:<id>[:<arg>]`` or None for anything else (forged or malformed)."""
    match = CALLBACK_RE.match(data or "")
    if match is None:
        return None
    return Callback(match.group(1), int(match.group(2)), match.group(3))


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                 for row in rows if row])


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_label(status: str) -> str:
    return texts.PROPOSAL_STATUS_LABELS.get(status, status)


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value else ""


# --- drafts -------------------------------------------------------------------------------------


def card_text(data: dict[str, Any]) -> str:
    return texts.PROPOSAL_CARD.format(
        title=data.get("title", ""),
        category=data.get("category", ""),
        place=data.get("place") or texts.PROPOSAL_NO_PLACE,
        photos=len(data.get("photos") or []),
        content=data.get("content", ""),
    )


Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


def card_buttons(draft_id: int) -> Buttons:
    return [[
        (texts.BTN_CONFIRM, callback("ok", draft_id)),
        (texts.BTN_EDIT, callback("ed", draft_id)),
        (texts.BTN_CANCEL, callback("no", draft_id)),
    ]]


def offer_buttons(draft_id: int) -> Buttons:
    return [[
        (texts.BTN_PROPOSAL_RECORD, callback("go", draft_id)),
        (texts.BTN_PROPOSAL_NOT_NOW, callback("no", draft_id)),
    ]]


def category_buttons(draft_id: int, categories: Sequence[str]) -> Buttons:
    buttons = [(name, callback("cat", draft_id, i)) for i, name in enumerate(categories)]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def field_buttons(draft_id: int) -> Buttons:
    fields = [(label, callback("f", draft_id, name)) for name, label in texts.PROPOSAL_FIELD_LABELS.items()]
    return [fields[:3], fields[3:], [(texts.BTN_PROPOSAL_BACK, callback("skip", draft_id))]]


def place_buttons(draft_id: int) -> Buttons:
    return [[(texts.BTN_PROPOSAL_SKIP, callback("skip", draft_id))]]


def photos_buttons(draft_id: int) -> Buttons:
    return [[
        (texts.BTN_PROPOSAL_DONE, callback("skip", draft_id)),
        (texts.BTN_PROPOSAL_CLEAR_PHOTOS, callback("clr", draft_id)),
    ]]


def reminder_buttons(draft_id: int) -> Buttons:
    return [[
        (texts.BTN_PROPOSAL_CONTINUE, callback("card", draft_id)),
        (texts.BTN_PROPOSAL_DISCARD, callback("no", draft_id)),
    ]]


def similar_buttons(draft_id: int, proposal_ids: Sequence[int]) -> Buttons:
    supports = [(texts.BTN_PROPOSAL_SUPPORT.format(n=n), callback("sup", draft_id, pid))
                for n, pid in enumerate(proposal_ids, start=1)]
    return [supports, [
        (texts.BTN_PROPOSAL_SUBMIT_ANYWAY, callback("sub", draft_id)),
        (texts.BTN_CANCEL, callback("no", draft_id)),
    ]]


def card_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(card_buttons(draft_id))


def offer_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(offer_buttons(draft_id))


def category_keyboard(draft_id: int, categories: Sequence[str]) -> InlineKeyboardMarkup:
    return keyboard(category_buttons(draft_id, categories))


def field_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(field_buttons(draft_id))


def place_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(place_buttons(draft_id))


def photos_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(photos_buttons(draft_id))


def reminder_keyboard(draft_id: int) -> InlineKeyboardMarkup:
    return keyboard(reminder_buttons(draft_id))


def similar_text(items: Sequence[Proposal]) -> str:
    lines = [texts.PROPOSAL_SIMILAR_HEAD]
    for n, p in enumerate(items, start=1):
        lines.append(texts.PROPOSAL_SIMILAR_LINE.format(
            n=n, number=p.number, title=p.title, status=status_label(p.status), supporters=len(p.supporters)))
    return "\n".join(lines)


def similar_keyboard(draft_id: int, items: Sequence[Proposal]) -> InlineKeyboardMarkup:
    return keyboard(similar_buttons(draft_id, [p.id for p in items]))


def photo_added_text(count: int) -> str:
    return texts.PROPOSAL_PHOTO_ADDED.format(count=count, max=MAX_PHOTOS)


# --- items --------------------------------------------------------------------------------------


def item_text(p: Proposal, *, tz: tzinfo, warning: Warning | None, merged_number: str | None = None,
              events: bool = True) -> str:
    lines = [texts.PROPOSAL_VIEW.format(
        number=p.number, title=p.title, status=status_label(p.status), category=p.category,
        name=p.member.name, place=p.place or texts.PROPOSAL_NO_PLACE, content=p.content,
    )]
    if p.unit:
        lines.append(texts.PROPOSAL_VIEW_UNIT.format(unit=p.unit))
    if p.deadline and p.status in ("accepted", "assigned"):
        lines.append(texts.PROPOSAL_VIEW_DEADLINE.format(
            deadline=fmt_date(p.deadline), icon=texts.PROPOSAL_WARNING_ICONS[warning.value if warning else None]))
    if p.reply:
        lines.append(texts.PROPOSAL_VIEW_REPLY.format(reply=p.reply))
    if p.rating:
        lines.append(texts.PROPOSAL_VIEW_RATING.format(rating=texts.PROPOSAL_RATING_LABELS.get(p.rating, p.rating)))
    if merged_number:
        lines.append(texts.PROPOSAL_VIEW_MERGED.format(number=merged_number))
    if p.supporters:
        lines.append(texts.PROPOSAL_VIEW_SUPPORTERS.format(count=len(p.supporters)))
    if events:
        lines.append(texts.PROPOSAL_VIEW_EVENTS)
        for e in p.events:
            lines.append(event_line(e, tz=tz))
    return "\n".join(lines)


def event_line(e: ProposalEvent, *, tz: tzinfo) -> str:
    note = f"：{preview(e.note, 40)}" if e.note else ""
    return texts.PROPOSAL_VIEW_EVENT.format(
        at=e.at.astimezone(tz).strftime("%m-%d %H:%M"), status=status_label(e.status), actor=e.actor, note=note)


def rating_keyboard(proposal_id: int) -> InlineKeyboardMarkup:
    return keyboard([[(label, callback("rt", proposal_id, key)) for key, label in
                      texts.PROPOSAL_RATING_LABELS.items()]])


def notification(event: ProposalEvent, proposal: Proposal, *, role: str, into: str | None = None
                 ) -> tuple[str, InlineKeyboardMarkup | None]:
    """The plain-Chinese message telling a member about one transition."""
    key = event.action
    if key == "rate" and event.status == "assigned":
        key = "reassign"
    data = event.data or {}
    deadline = data.get("deadline") or fmt_date(proposal.deadline)
    text = texts.PROPOSAL_NOTIFY[key].format(
        who=texts.PROPOSAL_WHO.get(role, texts.PROPOSAL_WHO["author"]), number=proposal.number,
        title=proposal.title, note=event.note or "", unit=data.get("unit") or proposal.unit or "",
        deadline=deadline, into=into or data.get("into", ""),
    ).rstrip()
    markup = None
    if key == "answer" and role == "author" and proposal.status == "answered":
        text += "\n" + texts.PROPOSAL_ASK_RATING
        markup = rating_keyboard(proposal.id)
    return text, markup
