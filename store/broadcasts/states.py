"""The delivery state machine of the broadcast outbox (pure).

``pending → sending`` is a committed claim made *before* the Bot API call; ``sending → sent|blocked|failed``
is recorded after it, or ``sending → pending`` for a retry later. A row still ``sending`` when its sender
died is *uncertain*: the message may or may not have gone out, so resume sends it again and counts it.
"""

from __future__ import annotations

import enum


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"

    @property
    def final(self) -> bool:
        return self in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.BLOCKED)


class BroadcastState(enum.StrEnum):
    AWAITING = "awaiting"  # 待审核: composed under the two-person rule, no deliveries until a reviewer approves
    RETURNED = "returned"  # 已退回 by a reviewer (with a reason); never sent
    SCHEDULED = "scheduled"  # deliveries wait for their not_before
    QUEUED = "queued"  # due now; a sender will pick it up
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.SENDING, DeliveryState.FAILED}),  # FAILED: cancelled
    DeliveryState.SENDING: frozenset({
        DeliveryState.SENT, DeliveryState.BLOCKED, DeliveryState.FAILED, DeliveryState.PENDING,
    }),
    DeliveryState.SENT: frozenset(),
    DeliveryState.BLOCKED: frozenset(),
    DeliveryState.FAILED: frozenset({DeliveryState.PENDING}),  # a staff retry of failed rows
}


class InvalidTransition(ValueError):
    pass


def check_transition(current: str, target: str) -> DeliveryState:
    """Validate ``current → target``; returns the target state."""
    src, dst = DeliveryState(current), DeliveryState(target)
    if dst not in TRANSITIONS[src]:
        raise InvalidTransition(f"{src} → {dst} is not allowed")
    return dst


class Outcome(enum.StrEnum):
    """What one send attempt produced, as the sender reports it."""

    SENT = "sent"
    BLOCKED = "blocked"  # 403: the member blocked the bot (or deleted the account)
    FAILED = "failed"  # permanent error, or retries exhausted
    RETRY = "retry"  # transient: back to pending, try again after not_before


OUTCOME_STATE = {
    Outcome.SENT: DeliveryState.SENT,
    Outcome.BLOCKED: DeliveryState.BLOCKED,
    Outcome.FAILED: DeliveryState.FAILED,
    Outcome.RETRY: DeliveryState.PENDING,
}


def backoff_seconds(attempts: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential back-off before the next attempt after ``attempts`` failed ones."""
    return min(cap, base * 2.0 ** max(0, attempts - 1))
