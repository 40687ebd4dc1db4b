"""Which proposal draft (or staff prompt) is waiting for this user's next message.

Drafts live in the database so they survive a restart. Handler filters are synchronous, so a
``TypeHandler`` in an early group loads the user's newest draft once per update into a context
variable, and the filters of the proposal handlers read it. The variable is reset for every update.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from telegram import Update
from telegram.ext import filters

from handlers.context import BotContext
from handlers.guards import is_private

PRELOAD_GROUP = -2  # before the gate (-1): reads only, never answers or stops the update

# Steps in which a draft takes typed text; photos and locations are taken by any member draft.
TEXT_STEPS = frozenset({"content", "title", "place", "photos", "reject", "assign", "answer"})
MEDIA_STEPS = frozenset({"content", "title", "place", "photos"})


@dataclass(frozen=True)
class PendingDraft:
    draft_id: int
    kind: str  # "proposal" (a member's draft) or "review" (a staff prompt)
    step: str


_pending: contextvars.ContextVar[PendingDraft | None] = contextvars.ContextVar("proposal_draft", default=None)


def pending() -> PendingDraft | None:
    return _pending.get()


async def preload(update: Update, context: BotContext) -> None:
    """Remember the sender's newest draft for this update (or none)."""
    _pending.set(None)
    user = update.effective_user
    if user is None or update.message is None or not is_private(update):
        return
    newest = (await context.pending_input(update)).proposal  # read with the member: one query
    if newest is not None:
        _pending.set(PendingDraft(newest.draft_id, newest.kind, newest.step))


class AwaitingInput(filters.MessageFilter):
    """Matches a message the sender's pending draft of ``kind`` is waiting for."""

    def __init__(self, kind: str) -> None:
        super().__init__(name=f"AwaitingInput({kind})")
        self.kind = kind

    def filter(self, message: object) -> bool:
        draft = pending()
        if draft is None or draft.kind != self.kind:
            return False
        if getattr(message, "text", None) is not None:
            return draft.step in TEXT_STEPS
        if self.kind != "proposal":
            return False
        if getattr(message, "photo", None) or getattr(message, "location", None):
            return True
        return draft.step in MEDIA_STEPS  # other media while we wait for input: a precise refusal


class HasDraft(filters.MessageFilter):
    """Matches when the sender has a pending draft of ``kind`` (used for /cancel)."""

    def __init__(self, kind: str) -> None:
        super().__init__(name=f"HasDraft({kind})")
        self.kind = kind

    def filter(self, message: object) -> bool:
        draft = pending()
        return draft is not None and draft.kind == self.kind

