"""Staff handling of micro-proposals: /review queue (red first), a card per item with a button for each
allowed transition, typed details (reason, unit and deadline, reply), and merging similar items."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from handlers import pending, texts
from handlers import proposal_views as views
from handlers.context import BotApplication, BotContext
from handlers.guards import reply, require_staff
from handlers.registry import CommandInfo, Feature
from store.models import Member, Proposal
from store.pending import REVIEW, Waiting
from store.proposals import lifecycle
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor, InvalidTransition
from store.proposals.text import clean

KIND = REVIEW
STAFF_ACTIONS = r"^wjy:(s|a|m|q):"
ACTION_CODES: dict[str, Action] = {
    "acc": Action.ACCEPT, "rej": Action.REJECT, "asg": Action.ASSIGN, "ans": Action.ANSWER,
    "adp": Action.ADOPT, "mrg": Action.MERGE, "cnv": Action.CONVERT,
}
CODES = {action: code for code, action in ACTION_CODES.items()}
TYPED = {Action.REJECT: "reject", Action.ASSIGN: "assign", Action.ANSWER: "answer"}
QUEUE_LIMIT = 10
_ASSIGN_RE = re.compile(r"^(?P<unit>.*?)\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})?\s*$", re.S)
DETAIL_MAX = 2000


async def send(update: Update, text: str, markup: Any = None, *, answer: bool = True) -> None:
    """A new message in the chat; a button press is answered (once) first."""
    if answer and update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=markup)


async def show_queue(update: Update, context: BotContext) -> None:
    services = context.services
    queue = await repo.review_queue(context.session, now=context.now(), tz=services.tz,
                                    config=services.config(ProposalsConfig), limit=100)
    if not queue:
        await send(update, texts.PROPOSAL_REVIEW_EMPTY)
        return
    red = sum(1 for _, w in queue if w is not None and w.value == "red")
    yellow = sum(1 for _, w in queue if w is not None and w.value == "yellow")
    lines = [texts.PROPOSAL_REVIEW_HEAD.format(count=len(queue), red=red, yellow=yellow)]
    buttons = []
    for p, warning in queue[:QUEUE_LIMIT]:
        icon = texts.PROPOSAL_WARNING_ICONS[warning.value if warning else None]
        deadline = texts.PROPOSAL_REVIEW_DEADLINE.format(deadline=views.fmt_date(p.deadline)) \
            if p.deadline and warning else ""
        lines.append(texts.PROPOSAL_REVIEW_LINE.format(icon=icon, number=p.number, title=p.title,
                                                       status=views.status_label(p.status), deadline=deadline))
        buttons.append((f"{icon} {p.number}", views.callback("s", p.id)))
    await send(update, "\n".join(lines), views.keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def show_item(update: Update, context: BotContext, proposal: Proposal, *, answer: bool = True) -> None:
    services = context.services
    config = services.config(ProposalsConfig)
    warning = repo.warning_for_item(proposal, now=context.now(), tz=services.tz, config=config)
    merged = await repo.get(context.session, proposal_id=proposal.merged_into_id) if proposal.merged_into_id \
        else None
    text = views.item_text(proposal, tz=services.tz, warning=warning, merged_number=merged.number if merged else None)
    allowed = lifecycle.allowed_actions(repo.state_of(proposal), Actor.STAFF)
    buttons = [(texts.PROPOSAL_ACTION_LABELS[a.value], views.callback("a", proposal.id, CODES[a]))
               for a in allowed if a in CODES]
    await send(update, text, views.keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]), answer=answer)


@require_staff
async def review_command(update: Update, context: BotContext, staff: Member) -> None:
    """/review: the open items, red (overdue) first, each with a button to handle it."""
    await show_queue(update, context)


async def apply(update: Update, context: BotContext, staff: Member, proposal: Proposal, action: Action,
                **details: Any) -> bool:
    """Run one transition; on success commit, confirm and show the item's card again."""
    services = context.services
    try:
        await repo.transition(context.session, proposal=proposal, action=action, actor=Actor.STAFF,
                              actor_member=staff, now=context.now(), tz=services.tz,
                              config=services.config(ProposalsConfig), **details)
    except (InvalidTransition, repo.MissingDetail):
        await reply(update, texts.PROPOSAL_TRANSITION_REFUSED.format(status=views.status_label(proposal.status)))
        return False
    await context.commit()
    await send(update, texts.PROPOSAL_REVIEW_DONE.format(number=proposal.number,
                                                         action=texts.PROPOSAL_ACTION_LABELS[action.value]))
    await show_item(update, context, proposal, answer=False)
    return True


@require_staff
async def on_staff_button(update: Update, context: BotContext, staff: Member) -> None:
    """Staff buttons: open an item, take an action, or choose the item to merge into."""
    cb = views.parse_callback(update.callback_query.data if update.callback_query else None)
    proposal = await repo.get(context.session, proposal_id=cb.id) if cb is not None else None
    if cb is None or (proposal is None and cb.action != "q"):
        await reply(update, texts.STALE_BUTTON)
        return
    if cb.action == "q":
        await show_queue(update, context)
        return
    assert proposal is not None
    if cb.action == "s":
        await show_item(update, context, proposal)
        return
    if cb.action == "m":
        target = await repo.get(context.session, proposal_id=int(cb.arg)) if cb.arg and cb.arg.isdigit() else None
        if target is None:
            await reply(update, texts.STALE_BUTTON)
            return
        await apply(update, context, staff, proposal, Action.MERGE, merge_into=target)
        return
    action = ACTION_CODES.get(cb.arg or "") if cb.action == "a" else None
    if action is None:
        await reply(update, texts.STALE_BUTTON)
        return
    if action not in lifecycle.allowed_actions(repo.state_of(proposal), Actor.STAFF):
        await reply(update, texts.PROPOSAL_TRANSITION_REFUSED.format(status=views.status_label(proposal.status)))
        return
    if action in TYPED:
        await repo.start_draft(context.session, member_id=staff.id, kind=KIND, step=TYPED[action],
                               data={"proposal_id": proposal.id}, now=context.now())
        await context.commit()
        prompt = {
            Action.REJECT: texts.PROPOSAL_REVIEW_PROMPT_REJECT,
            Action.ASSIGN: texts.PROPOSAL_REVIEW_PROMPT_ASSIGN.format(
                days=context.services.config(ProposalsConfig).default_deadline_days),
            Action.ANSWER: texts.PROPOSAL_REVIEW_PROMPT_ANSWER,
        }[action]
        await send(update, prompt)
        return
    if action is Action.MERGE:
        await offer_merge_targets(update, context, proposal)
        return
    await apply(update, context, staff, proposal, action)


async def offer_merge_targets(update: Update, context: BotContext, proposal: Proposal) -> None:
    candidates = await repo.find_similar(
        context.session, text=f"{proposal.title}\n{proposal.content}", embedding=proposal.embedding,
        embedder_id=proposal.embedder_id, limit=5, min_cosine=-1.0, min_jaccard=0.0, exclude_ids=[proposal.id],
    )
    if not candidates:
        await send(update, texts.PROPOSAL_REVIEW_MERGE_NONE)
        return
    lines = [texts.PROPOSAL_REVIEW_MERGE_HEAD.format(number=proposal.number)]
    buttons = []
    for target, _score in candidates:
        lines.append(texts.PROPOSAL_REVIEW_MERGE_LINE.format(number=target.number, title=target.title,
                                                             status=views.status_label(target.status)))
        buttons.append([(texts.BTN_PROPOSAL_MERGE_INTO.format(number=target.number),
                         views.callback("m", proposal.id, target.id))])
    await send(update, "\n".join(lines), views.keyboard(buttons))


def parse_assignment(text: str, today: date) -> tuple[str, date | None] | None:
    """"市交通运输局 2026-12-31" → (unit, deadline); None if the date is malformed or in the past."""
    match = _ASSIGN_RE.match(clean(text))
    if match is None or not match.group("unit").strip():
        return None
    deadline = None
    if match.group("date"):
        try:
            deadline = date.fromisoformat("-".join(f"{int(x):02d}" for x in match.group("date").split("-")))
        except ValueError:
            return None
        if deadline < today:
            return None
    return match.group("unit").strip()[:128], deadline


def takes(waiting: Waiting, message: Message) -> bool:
    """Typed text while a staff prompt waits for it (its steps are all typed)."""
    return message.text is not None and not message.text.startswith("/") and waiting.step in TYPED.values()


async def on_staff_input(update: Update, context: BotContext, staff: Member, waiting: Waiting) -> None:
    """The typed detail a staff prompt waits for: a reason, a unit (and deadline), or a reply."""
    message = update.effective_message
    draft = await repo.get_draft(context.session, member_id=staff.id, kind=KIND)
    if message is None or draft is None:
        return
    text = clean(message.text or "")
    if not text or len(text) > DETAIL_MAX:
        await reply(update, texts.PROPOSAL_REVIEW_NEED_TEXT)
        return
    proposal = await repo.get(context.session, proposal_id=int(draft.data.get("proposal_id", 0)))
    if proposal is None:
        await repo.delete_draft(context.session, draft=draft)
        await context.commit()
        await reply(update, texts.STALE_BUTTON)
        return
    details: dict[str, Any]
    if draft.step == "assign":
        parsed = parse_assignment(text, context.now().astimezone(context.services.tz).date())
        if parsed is None:
            await reply(update, texts.PROPOSAL_REVIEW_BAD_DEADLINE)
            return
        details = {"unit": parsed[0], "deadline": parsed[1]}
        action = Action.ASSIGN
    elif draft.step == "reject":
        details, action = {"note": text}, Action.REJECT
    else:
        details, action = {"reply": text}, Action.ANSWER
    # Consumed in the transaction of the transition: the same reply typed twice and landing on two workers
    # at once (or a prompt replaced meanwhile) changes the item once.
    if not await repo.consume_draft(context.session, draft=draft):
        await reply(update, texts.STALE_BUTTON)
        return
    if not await apply(update, context, staff, proposal, action, **details):
        await context.commit()  # the prompt is gone either way; the item is unchanged


async def cancel_prompt(update: Update, context: BotContext, staff: Member, waiting: Waiting) -> None:
    """/cancel during a staff prompt."""
    draft = await repo.get_draft(context.session, member_id=staff.id, kind=KIND)
    if draft is not None:
        await repo.delete_draft(context.session, draft=draft)
        await context.commit()
    await reply(update, texts.PROPOSAL_REVIEW_CANCELLED)


async def _no_press(update: Update, context: BotContext, staff: Member, data: str) -> None:
    """Staff prompts carry no buttons (``pending.no_buttons``): nothing is ever pressed."""


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    pending.add_flow(app, pending.Flow(REVIEW, card=pending.no_buttons, press=_no_press, takes=takes,
                                       on_input=on_staff_input, cancel=cancel_prompt, staff=True))
    app.add_handler(CommandHandler("review", review_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_staff_button, pattern=STAFF_ACTIONS))


FEATURE = Feature(name="review", register=register, commands=(CommandInfo("review", staff=True),))
