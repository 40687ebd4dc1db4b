"""Micro-proposals for members: capture (/propose, "建议…", 随手拍), confirm card, similar items, /my.

The bot offers before it records; the draft lives in the database (``proposal_drafts``), so a
restart loses nothing. Button data is ``wjy:<action>:<id>[:<arg>]`` and is checked against the
draft or item it names and the member pressing it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import pending, proposal_jobs, texts
from handlers import proposal_views as views
from handlers.context import BotApplication, BotContext, Services
from handlers.fallback import media_kind
from handlers.guards import reply, require_member
from handlers.registry import CommandInfo, Feature
from store.models import Member, ProposalDraft
from store.pending import PROPOSAL, Waiting
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Rating
from store.proposals.text import (
    CONTENT_MAX,
    CONTENT_MIN,
    MAX_PHOTOS,
    PLACE_MAX,
    PROPOSAL_PATTERN,
    TITLE_MAX,
    clean,
    content_problem,
    cosine_threshold,
    derive_title,
    place_problem,
    title_problem,
)

log = logging.getLogger(__name__)

KIND = PROPOSAL
# Steps in which a draft takes typed text; photos and locations are taken at any step.
TEXT_STEPS = frozenset({"content", "title", "place", "photos"})
MEDIA_STEPS = TEXT_STEPS  # other media while we wait for input: a precise refusal
MEMBER_ACTIONS = r"^wjy:(go|no|cat|ok|ed|f|skip|clr|sup|sub|card|v|wd|wdy|rt):"


async def embed(services: Services, text: str) -> tuple[list[float] | None, str | None]:
    """The item's vector from the knowledge embedder, or (None, None) for the lexical fallback."""
    embedder = services.knowledge.embedder if services.knowledge is not None else None
    if embedder is None:
        return None, None
    try:
        vector = await asyncio.to_thread(embedder.embed_query, text)
    except Exception:  # an unreachable embeddings endpoint must not stop a submission
        log.warning("proposal embedding failed; using lexical similarity", exc_info=True)
        return None, None
    return [float(x) for x in vector], str(embedder.id)


def content_error(text: str) -> str | None:
    problem = content_problem(text)
    if problem is None:
        return None
    return {
        "empty": texts.PROPOSAL_CONTENT_EMPTY,
        "short": texts.PROPOSAL_CONTENT_SHORT.format(min=CONTENT_MIN),
        "long": texts.PROPOSAL_CONTENT_LONG.format(length=len(clean(text)), max=CONTENT_MAX),
    }[problem]


def photo_ref(message: Message) -> dict[str, str] | None:
    if not message.photo:
        return None
    largest = message.photo[-1]
    return {"file_id": largest.file_id, "file_unique_id": largest.file_unique_id}


async def send(update: Update, text: str, markup: Any = None) -> None:
    """A new message in the member's chat (also after a button press)."""
    chat = update.effective_chat
    if update.callback_query is not None:
        await update.callback_query.answer()
    if chat is not None:
        await chat.send_message(text, reply_markup=markup)


async def show_card(update: Update, draft: ProposalDraft) -> None:
    await send(update, views.card_text(draft.data), views.card_keyboard(draft.id))


async def ask_category(update: Update, context: BotContext, draft: ProposalDraft) -> None:
    categories = context.services.config(ProposalsConfig).categories
    await send(update, texts.PROPOSAL_ASK_CATEGORY, views.category_keyboard(draft.id, categories))


async def after_content(update: Update, context: BotContext, draft: ProposalDraft) -> None:
    """Content is set: choose a category first time, else back to the card."""
    if draft.data.get("category"):
        await repo.save_draft(context.session, draft=draft, now=context.now(), step="card")
        await context.commit()
        await show_card(update, draft)
    else:
        await repo.save_draft(context.session, draft=draft, now=context.now(), step="category")
        await context.commit()
        await ask_category(update, context, draft)


# --- capture ------------------------------------------------------------------------------------


async def _offer(update: Update, context: BotContext, member: Member, text: str, photo: dict[str, str] | None
                 ) -> None:
    if content_problem(text) == "long":
        await reply(update, content_error(text) or "")
        return
    existing = await repo.get_draft(context.session, member_id=member.id, kind=KIND)
    replaces = existing is not None and existing.step != "offered"
    draft = await repo.start_draft(
        context.session, member_id=member.id, step="offered", now=context.now(), kind=KIND,
        data={"content": clean(text), "photos": [photo] if photo else []},
    )
    await context.commit()
    offer = texts.PROPOSAL_OFFER.format(preview=views.preview(text))
    if replaces:
        offer += "\n" + texts.PROPOSAL_OFFER_REPLACES
    await send(update, offer, views.offer_keyboard(draft.id))


@require_member
async def on_suggestion_text(update: Update, context: BotContext, member: Member) -> None:
    """A plain message that reads as a suggestion ("建议…", "希望…", "反映…"): offer to record it."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await _offer(update, context, member, message.text, None)


@require_member
async def on_suggestion_photo(update: Update, context: BotContext, member: Member) -> None:
    """A photo with a caption (随手拍): offer to record it with the photo."""
    message = update.effective_message
    if message is not None:
        await _offer(update, context, member, message.caption or "", photo_ref(message))


@require_member
async def propose_command(update: Update, context: BotContext, member: Member) -> None:
    """/propose [TEXT]: start a draft (with the text, if given)."""
    text = " ".join(context.args or [])
    if text:
        error = content_error(text)
        if error is not None and content_problem(text) == "long":
            await reply(update, error)
            return
    draft = await repo.start_draft(context.session, member_id=member.id, step="content", now=context.now(),
                                   kind=KIND, data={"photos": []})
    if not text:
        await context.commit()
        await send(update, texts.PROPOSAL_ASK_CONTENT)
        return
    await _take_content(update, context, draft, text)


async def _take_content(update: Update, context: BotContext, draft: ProposalDraft, text: str) -> None:
    error = content_error(text)
    if error is not None:
        await repo.save_draft(context.session, draft=draft, now=context.now(), step="content")
        await context.commit()
        await send(update, error)
        return
    content = clean(text)
    changes: dict[str, Any] = {"content": content}
    if not draft.data.get("title_edited"):
        changes["title"] = derive_title(content)
    await repo.save_draft(context.session, draft=draft, now=context.now(), **changes)
    await after_content(update, context, draft)


async def _load_draft(update: Update, context: BotContext, member: Member, draft_id: int
                      ) -> ProposalDraft | None:
    draft = await repo.get_draft_by_id(context.session, draft_id=draft_id)
    if draft is None or draft.member_id != member.id or draft.kind != KIND:
        await reply(update, texts.PROPOSAL_DRAFT_GONE)
        return None
    return draft


def takes(waiting: Waiting, message: Message) -> bool:
    """A message the member's draft waits for: text at a typed step, a photo or location at any step."""
    if message.text is not None:
        return not message.text.startswith("/") and waiting.step in TEXT_STEPS
    if message.photo or message.location:
        return True
    return waiting.step in MEDIA_STEPS


async def card(context: BotContext, member: Member, waiting: Waiting) -> pending.Buttons:
    """The buttons of the card shown at the draft's step (the same data as the keyboards in proposal_views)."""
    draft_id, step = waiting.ref_id, waiting.step
    rows: list[list[tuple[str, str]]] = []
    if step == "offered":  # 确认 typed under "记录为建议吗？" means yes (matched, not shown)
        rows = [*views.offer_buttons(draft_id), [(texts.BTN_CONFIRM, views.callback("go", draft_id))]]
    elif step == "category":
        rows = views.category_buttons(draft_id, context.services.config(ProposalsConfig).categories)
    elif step == "card":
        rows = views.card_buttons(draft_id) + views.field_buttons(draft_id)
    elif step == "place":
        rows = views.place_buttons(draft_id)
    elif step == "photos":
        rows = views.photos_buttons(draft_id)
    elif step == "similar":
        draft = await repo.get_draft_by_id(context.session, draft_id=draft_id)
        offered = (draft.data.get("similar") or []) if draft is not None else []
        rows = views.similar_buttons(draft_id, [int(i) for i in offered])
    if step != "offered":
        rows += views.reminder_buttons(draft_id)
    return pending.buttons_of(*rows)


async def on_draft_input(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """The next message for a draft waiting for input: content, title, place, photos or a location."""
    message = update.effective_message
    draft = await repo.get_draft(context.session, member_id=member.id, kind=KIND)
    if message is None or draft is None:
        return
    now = context.now()
    photo = photo_ref(message)
    if photo is not None:
        photos = list(draft.data.get("photos") or [])
        if len(photos) >= MAX_PHOTOS:
            await reply(update, texts.PROPOSAL_PHOTOS_FULL.format(max=MAX_PHOTOS))
            return
        photos.append(photo)
        await repo.save_draft(context.session, draft=draft, now=now, photos=photos)
        if draft.step == "content" and message.caption:
            await _take_content(update, context, draft, message.caption)
            return
        await context.commit()
        markup = views.photos_keyboard(draft.id) if draft.step == "photos" else None
        await send(update, views.photo_added_text(len(photos)), markup)
        return
    if message.location is not None:
        loc = message.location
        place = draft.data.get("place") or f"{loc.latitude:.5f}, {loc.longitude:.5f}"
        to_card = draft.step in ("place", "card")
        await repo.save_draft(context.session, draft=draft, now=now, place=place, lat=loc.latitude,
                              lon=loc.longitude, step="card" if to_card else None)
        await context.commit()
        if to_card:
            await show_card(update, draft)
        else:
            await reply(update, texts.PROPOSAL_PLACE_SET)
        return
    text = message.text
    if text is None:
        await reply(update, texts.PROPOSAL_MEDIA_UNSUPPORTED.format(kind=media_kind(update)))
        return
    if draft.step == "content":
        await _take_content(update, context, draft, text)
    elif draft.step == "title":
        if title_problem(text) is not None:
            await reply(update, texts.PROPOSAL_TITLE_PROBLEM.format(max=TITLE_MAX))
            return
        await repo.save_draft(context.session, draft=draft, now=now, step="card",
                              title=clean(text).replace("\n", " "), title_edited=True)
        await context.commit()
        await show_card(update, draft)
    elif draft.step == "place":
        if place_problem(text) is not None:
            await reply(update, texts.PROPOSAL_PLACE_PROBLEM.format(max=PLACE_MAX))
            return
        await repo.save_draft(context.session, draft=draft, now=now, step="card",
                              place=clean(text).replace("\n", " "), lat=None, lon=None)
        await context.commit()
        await show_card(update, draft)
    elif draft.step == "photos":
        await send(update, texts.PROPOSAL_WAITING_PHOTO, views.photos_keyboard(draft.id))


async def cancel_draft(update: Update, context: BotContext, member: Member, waiting: Waiting) -> None:
    """/cancel while a draft is open: delete it."""
    draft = await repo.get_draft(context.session, member_id=member.id, kind=KIND)
    if draft is not None:
        await repo.delete_draft(context.session, draft=draft)
        await context.commit()
    await reply(update, texts.PROPOSAL_DRAFT_CANCELLED)


# --- buttons ------------------------------------------------------------------------------------


@require_member
async def on_button(update: Update, context: BotContext, member: Member) -> None:
    """Every member button of this feature: validated, then dispatched by its action."""
    if update.callback_query is not None:
        await press(update, context, member, update.callback_query.data or "")


async def press(update: Update, context: BotContext, member: Member, data: str) -> None:
    """A member button of this feature, tapped or its label typed."""
    cb = views.parse_callback(data)
    if cb is None:
        await reply(update, texts.STALE_BUTTON)
        return
    if cb.action in ("v", "wd", "wdy", "rt"):
        await _item_button(update, context, member, cb)
        return
    draft = await _load_draft(update, context, member, cb.id)
    if draft is None:
        return
    now = context.now()
    session = context.session
    if cb.action == "no":
        await repo.delete_draft(session, draft=draft)
        await context.commit()
        await send(update, texts.PROPOSAL_OFFER_DECLINED if draft.step == "offered" else texts.PROPOSAL_DRAFT_CANCELLED)
    elif cb.action == "go" and draft.step == "offered":
        await _take_content(update, context, draft, draft.data.get("content", ""))
    elif cb.action == "cat" and draft.step == "category":
        categories = context.services.config(ProposalsConfig).categories
        index = int(cb.arg) if cb.arg and cb.arg.isdigit() else -1
        if not 0 <= index < len(categories):
            await reply(update, texts.STALE_BUTTON)
            return
        await repo.save_draft(session, draft=draft, now=now, step="card", category=categories[index])
        await context.commit()
        await show_card(update, draft)
    elif cb.action == "ed" and draft.step == "card":
        await send(update, texts.PROPOSAL_ASK_FIELD, views.field_keyboard(draft.id))
    elif cb.action == "f" and draft.step == "card" and cb.arg in texts.PROPOSAL_FIELD_LABELS:
        await _edit_field(update, context, draft, cb.arg)
    elif cb.action == "skip" and draft.step in ("card", "place", "photos"):
        await repo.save_draft(session, draft=draft, now=now, step="card")
        await context.commit()
        await show_card(update, draft)
    elif cb.action == "clr" and draft.step == "photos":
        await repo.save_draft(session, draft=draft, now=now, photos=[])
        await context.commit()
        await send(update, texts.PROPOSAL_PHOTOS_CLEARED, views.photos_keyboard(draft.id))
    elif cb.action == "card" and draft.step not in ("offered",):
        if not draft.data.get("content"):
            await repo.save_draft(session, draft=draft, now=now, step="content")
            await context.commit()
            await send(update, texts.PROPOSAL_ASK_CONTENT)
        elif not draft.data.get("category"):
            await after_content(update, context, draft)
        else:
            await repo.save_draft(session, draft=draft, now=now, step="card")
            await context.commit()
            await show_card(update, draft)
    elif cb.action == "ok" and draft.step == "card":
        await _confirm(update, context, member, draft)
    elif cb.action == "sub" and draft.step == "similar":
        await _submit(update, context, member, draft)
    elif cb.action == "sup" and draft.step == "similar":
        await _support(update, context, member, draft, cb.arg)
    else:
        await reply(update, texts.STALE_BUTTON)


async def _edit_field(update: Update, context: BotContext, draft: ProposalDraft, field: str) -> None:
    now = context.now()
    if field == "category":
        await repo.save_draft(context.session, draft=draft, now=now, step="category")
        await context.commit()
        await ask_category(update, context, draft)
        return
    await repo.save_draft(context.session, draft=draft, now=now, step=field)
    await context.commit()
    if field == "title":
        await send(update, texts.PROPOSAL_ASK_TITLE.format(max=TITLE_MAX))
    elif field == "content":
        await send(update, texts.PROPOSAL_ASK_CONTENT)
    elif field == "place":
        await send(update, texts.PROPOSAL_ASK_PLACE, views.place_keyboard(draft.id))
    else:
        await send(update, texts.PROPOSAL_ASK_PHOTOS.format(max=MAX_PHOTOS), views.photos_keyboard(draft.id))


def _item_text(draft: ProposalDraft) -> str:
    return f"{draft.data.get('title', '')}\n{draft.data.get('content', '')}"


async def _confirm(update: Update, context: BotContext, member: Member, draft: ProposalDraft) -> None:
    """确认: show up to three similar open items first; submit straight away if there are none."""
    await context.before_network()  # the embedder may be an HTTP endpoint: no transaction waits with it
    vector, embedder_id = await embed(context.services, _item_text(draft))
    similar = await repo.find_similar(
        context.session, text=_item_text(draft), embedding=vector, embedder_id=embedder_id,
        exclude_member_id=member.id, limit=3, min_cosine=cosine_threshold(embedder_id),
    )
    if not similar:
        await _submit(update, context, member, draft, vector=vector, embedder_id=embedder_id)
        return
    items = [p for p, _ in similar]
    await repo.save_draft(context.session, draft=draft, now=context.now(), step="similar",
                          similar=[p.id for p in items])
    await context.commit()
    await send(update, views.similar_text(items), views.similar_keyboard(draft.id, items))


async def _submit(update: Update, context: BotContext, member: Member, draft: ProposalDraft, *,
                  vector: list[float] | None = None, embedder_id: str | None = None) -> None:
    services = context.services
    if vector is None:
        vector, embedder_id = await embed(services, _item_text(draft))
    data = draft.data
    item = repo.NewProposal(
        title=data["title"], content=data["content"], category=data["category"], place=data.get("place"),
        latitude=data.get("lat"), longitude=data.get("lon"), photos=data.get("photos") or [],
        embedding=vector, embedder_id=embedder_id,
    )
    # The draft is consumed in the submission's transaction: of two taps of 确认 (perhaps on two workers),
    # the one that finds it already gone submits nothing.
    proposal = await repo.submit_draft(context.session, draft=draft, member=member, item=item, now=context.now(),
                                       tz=services.tz, config=services.config(ProposalsConfig))
    if proposal is None:
        await reply(update, texts.PROPOSAL_DRAFT_GONE)
        return
    await context.commit()
    await send(update, texts.PROPOSAL_SUBMITTED.format(number=proposal.number))
    if services.staff_chat_id is not None:
        alert = texts.PROPOSAL_STAFF_NEW.format(number=proposal.number, title=proposal.title, name=member.name,
                                                category=proposal.category)
        try:
            await context.bot.send_message(services.staff_chat_id, alert)
        except TelegramError as exc:
            log.warning("could not tell the staff chat about %s: %s", proposal.number, exc)


async def _support(update: Update, context: BotContext, member: Member, draft: ProposalDraft, arg: str | None
                   ) -> None:
    offered = draft.data.get("similar") or []
    target_id = int(arg) if arg and arg.isdigit() else -1
    if target_id not in offered:
        await reply(update, texts.STALE_BUTTON)
        return
    proposal = await repo.get(context.session, proposal_id=target_id)
    if proposal is None or not repo.may_support(proposal, member):
        await reply(update, texts.PROPOSAL_SUPPORT_FAILED)  # the draft stays: it can still be submitted
        return
    # Consumed in the transaction of the support: a second tap (perhaps on another worker) changes nothing.
    if not await repo.consume_draft(context.session, draft=draft) or not await repo.support(
            context.session, proposal=proposal, member=member, now=context.now()):
        await reply(update, texts.PROPOSAL_DRAFT_GONE)
        return
    await context.commit()
    await send(update, texts.PROPOSAL_SUPPORTED.format(number=proposal.number, title=proposal.title))


# --- /my and item buttons -----------------------------------------------------------------------


@require_member
async def my_command(update: Update, context: BotContext, member: Member) -> None:
    """/my: the member's items (and the ones they seconded) with their status."""
    items = await repo.list_for_member(context.session, member_id=member.id, limit=10)
    if not items:
        await reply(update, texts.PROPOSAL_MY_EMPTY)
        return
    lines = [texts.PROPOSAL_MY_HEAD.format(count=len(items))]
    buttons = []
    for n, p in enumerate(items, start=1):
        supported = texts.PROPOSAL_MY_SUPPORTED if p.member_id != member.id else ""
        lines.append(texts.PROPOSAL_MY_LINE.format(n=n, number=p.number, title=p.title,
                                                   status=views.status_label(p.status), supported=supported))
        buttons.append((p.number, views.callback("v", p.id)))
    await send(update, "\n".join(lines), views.keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def _item_button(update: Update, context: BotContext, member: Member, cb: views.Callback) -> None:
    services = context.services
    proposal = await repo.get(context.session, proposal_id=cb.id)
    supporter = proposal is not None and any(s.member_id == member.id for s in proposal.supporters)
    if proposal is None or (proposal.member_id != member.id and not (cb.action == "v" and supporter)):
        await reply(update, texts.PROPOSAL_NOT_YOURS)
        return
    config = services.config(ProposalsConfig)
    now = context.now()
    if cb.action == "v":
        merged = await repo.get(context.session, proposal_id=proposal.merged_into_id) if proposal.merged_into_id \
            else None
        warning = repo.warning_for_item(proposal, now=now, tz=services.tz, config=config)
        markup = None
        if proposal.member_id == member.id and proposal.status == "submitted":
            markup = views.keyboard([[(texts.BTN_PROPOSAL_WITHDRAW, views.callback("wd", proposal.id))]])
        elif proposal.member_id == member.id and proposal.status == "answered":
            markup = views.rating_keyboard(proposal.id)
        text = views.item_text(proposal, tz=services.tz, warning=warning,
                               merged_number=merged.number if merged else None)
        await send(update, text, markup)
        return
    if cb.action == "wd":
        if proposal.status != "submitted":
            await reply(update, texts.PROPOSAL_TRANSITION_REFUSED.format(status=views.status_label(proposal.status)))
            return
        await send(update, texts.PROPOSAL_WITHDRAW_ASK.format(number=proposal.number, title=proposal.title),
                   views.keyboard([[(texts.BTN_PROPOSAL_WITHDRAW_CONFIRM, views.callback("wdy", proposal.id)),
                                    (texts.BTN_CANCEL, views.callback("v", proposal.id))]]))
        return
    rating = None
    if cb.action == "rt":
        try:
            rating = Rating(cb.arg or "")
        except ValueError:
            await reply(update, texts.STALE_BUTTON)
            return
    action = Action.WITHDRAW if cb.action == "wdy" else Action.RATE
    try:
        event = await repo.transition(
            context.session, proposal=proposal, action=action, actor=Actor.AUTHOR, actor_member=member,
            now=now, tz=services.tz, config=config, rating=rating,
        )
    except InvalidTransition:
        await reply(update, texts.PROPOSAL_TRANSITION_REFUSED.format(status=views.status_label(proposal.status)))
        return
    await context.commit()
    if action is Action.WITHDRAW:
        await send(update, texts.PROPOSAL_WITHDRAWN.format(number=proposal.number))
    elif event.status == "assigned":
        await send(update, texts.PROPOSAL_RATED_REOPENED.format(number=proposal.number))
    else:
        label = texts.PROPOSAL_RATING_LABELS[rating.value if rating else "satisfied"]
        await send(update, texts.PROPOSAL_RATED.format(rating=label, number=proposal.number))


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    pending.add_flow(app, pending.Flow(PROPOSAL, card=card, press=press, takes=takes, on_input=on_draft_input,
                                       cancel=cancel_draft))
    app.add_handler(CommandHandler("propose", propose_command, filters=private))
    app.add_handler(CommandHandler("my", my_command, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND & filters.Regex(PROPOSAL_PATTERN),
                                   on_suggestion_text))
    app.add_handler(MessageHandler(private & filters.PHOTO & filters.CAPTION, on_suggestion_photo))
    app.add_handler(CallbackQueryHandler(on_button, pattern=MEMBER_ACTIONS))
    proposal_jobs.schedule(app)


FEATURE = Feature(
    name="proposals",
    register=register,
    commands=(CommandInfo("propose"), CommandInfo("my")),
)
