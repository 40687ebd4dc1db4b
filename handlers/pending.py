"""One router for multi-step input: every flow's next message, and typed button labels, in one place.

What waits for a member (a broadcast or proposal draft, a staff prompt, a study check-in, a dispute reason,
an event location) lives in the database and is read with the member in one query
(``context.pending_input``, ``store.pending``). Each feature declares a ``Flow`` per kind of waiting item:
the buttons of the card it shows at each step (label → callback data, the same data the card carries),
what its buttons do (``press``, the function its ``CallbackQueryHandler`` calls too), which messages it
takes as input and what /cancel does. The router runs before every feature handler:

1. A typed text equal to a label of a button on the card in front of the member (the newest waiting
   item), after normalising spaces, punctuation and width ("确认。", " 确认 "), acts as that button.
2. /cancel, or 取消 typed under a question without buttons, cancels the newest waiting item.
3. Any other message goes to the newest waiting item that takes it (a typed field, a photo, a location).
4. A standard label (确认, 修改, 取消, 不用了) that none of this took gets a short reply.

Everything else goes on to the feature handlers (questions, check-ins, suggestions). Nothing is kept in
memory: a restarted process, or a second one, continues the same flows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import MessageLimit
from telegram.ext import ApplicationHandlerStop, TypeHandler

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.guards import is_private, reply
from store.models import Member
from store.pending import Waiting

ROUTER_GROUP = -2  # before the gate (-1): it acts only for a bound, active member something waits for
FLOWS_KEY = "pending_flows"
LABEL_MAX = 24  # longer texts are never a button label
_CANCEL = re.compile(r"^/cancel(?:@\w+)?(?:\s|$)")
# The standard labels (DESIGN.md): typed with no card waiting, they still mean a button, not a question.
_STANDARD = [(label, label)
             for label in (texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL, texts.BTN_PROPOSAL_NOT_NOW)]

Buttons = Sequence[tuple[str, str]]
Card = Callable[[BotContext, Member, Waiting], Awaitable[Buttons]]
Press = Callable[[Update, BotContext, Member, str], Awaitable[None]]
Takes = Callable[[Waiting, Message], bool]
Act = Callable[[Update, BotContext, Member, Waiting], Awaitable[None]]


@dataclass(frozen=True)
class Flow:
    """How one kind of waiting item (``store.pending`` kinds) is continued."""

    kind: str
    card: Card  # the buttons (label, callback data) of the card shown at the item's step
    press: Press  # what a button of this flow does, given its callback data (tapped or typed)
    takes: Takes | None = None  # the messages the item takes as input at its step
    on_input: Act | None = None
    cancel: Act | None = None  # /cancel
    staff: bool = False  # staff flows ignore members who are no longer staff


def normalise(text: str) -> str:
    """A typed text or a label, compared loosely: width folded, spaces, punctuation and symbols dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZSC")


def buttons_of(*rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [button for row in rows for button in row]


def match_label(text: str, buttons: Buttons) -> str | None:
    """The callback data of the button whose label ``text`` is, or None."""
    typed = normalise(text)
    if not typed or len(typed) > LABEL_MAX:
        return None
    return next((data for label, data in buttons if normalise(label) == typed), None)


def add_flow(app: BotApplication, flow: Flow) -> None:
    """Declare a flow (in a feature's ``register``); the router is registered with the first one."""
    flows: dict[str, Flow] = app.bot_data.setdefault(FLOWS_KEY, {})
    if flow.kind in flows:
        raise ValueError(f"two flows for pending kind {flow.kind!r}")
    if not flows:
        app.add_handler(TypeHandler(Update, route), group=ROUTER_GROUP)
    flows[flow.kind] = flow


def _flows(context: BotContext) -> dict[str, Flow]:
    flows: dict[str, Flow] = context.application.bot_data.get(FLOWS_KEY, {})
    return flows


async def route(update: Update, context: BotContext) -> None:
    """Every private message: hand it to the flow waiting for it (then stop), or let the features have it."""
    message = update.message
    if message is None or update.effective_user is None or not is_private(update):
        return
    if message.text is not None and len(message.text) > MessageLimit.MAX_TEXT_LENGTH:
        return  # the gate answers
    pending = await context.pending_input(update)  # the member too: one query
    member = await context.member(update)
    if member is None:
        return  # the gate turns them away
    flows = _flows(context)
    live = [(w, flows[w.kind]) for w in pending.waiting
            if w.kind in flows and (member.is_staff or not flows[w.kind].staff)]
    text = message.text
    standard = text is not None and match_label(text, _STANDARD) is not None
    if not live:
        if standard:
            await _nothing_waiting(update, text or "")
        return
    card: Buttons = ()
    if text is not None and not text.startswith("/"):
        front, flow = live[0]
        card = await flow.card(context, member, front)
        data = match_label(text, card)
        if data is not None:
            await flow.press(update, context, member, data)
            raise ApplicationHandlerStop
    # /cancel, or 取消 typed under a question that has no button for it: the newest item is cancelled.
    if text is not None and (_CANCEL.match(text) or normalise(text) == normalise(texts.BTN_CANCEL)):
        waiting, flow = live[0]
        if flow.cancel is not None:
            await flow.cancel(update, context, member, waiting)
            raise ApplicationHandlerStop
    for waiting, flow in live:
        if flow.takes is not None and flow.on_input is not None and flow.takes(waiting, message):
            await flow.on_input(update, context, member, waiting)
            raise ApplicationHandlerStop
    if standard:
        if card:  # 确认 typed under a card that has no 确认: point at the card, never "nothing waits"
            await reply(update, texts.LABEL_NOT_ON_CARD)
            raise ApplicationHandlerStop
        await _nothing_waiting(update, text or "")


async def _nothing_waiting(update: Update, text: str) -> None:
    """A standard label typed with no card for it: a button meant, not a question for the knowledge base."""
    cancel = normalise(text) == normalise(texts.BTN_CANCEL)
    await reply(update, texts.NOTHING_TO_CANCEL if cancel else texts.LABEL_NOTHING_WAITING)
    raise ApplicationHandlerStop


async def no_buttons(context: BotContext, member: Member, waiting: Waiting) -> Buttons:
    """The card of a flow whose questions carry no buttons."""
    return ()
