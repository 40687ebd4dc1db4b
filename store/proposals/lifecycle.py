"""The proposal lifecycle as an explicit transition table. Pure: no I/O, no clock.

已提交 → 已受理 | 不予受理 → 已交办 → 已答复 → 已办结 (after the member's rating; 不满意 reopens once),
plus 已撤回 (member, before 受理), 已合并 (into another item) and 转社情民意 (converted).
采纳 (adopt) is a flag staff may set once on an accepted item; it does not change the status.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    ANSWERED = "answered"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"
    CONVERTED = "converted"


class Action(enum.StrEnum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    ASSIGN = "assign"
    ANSWER = "answer"
    RATE = "rate"
    WITHDRAW = "withdraw"
    MERGE = "merge"
    CONVERT = "convert"
    ADOPT = "adopt"


class Actor(enum.StrEnum):
    AUTHOR = "author"  # the member who submitted the item
    STAFF = "staff"  # staff in Telegram, or the back office through the CLI


class Rating(enum.StrEnum):
    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"


OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.ANSWERED})
TERMINAL_STATUSES = frozenset(set(Status) - OPEN_STATUSES)
MAX_REOPENS = 1


@dataclass(frozen=True)
class Rule:
    target: Status | None  # None: decided by the rating (RATE) or unchanged (ADOPT, re-ASSIGN keeps ASSIGNED)
    actor: Actor


_S, _A = Status, Action
TRANSITIONS: dict[tuple[Status, Action], Rule] = {
    (_S.SUBMITTED, _A.ACCEPT): Rule(_S.ACCEPTED, Actor.STAFF),
    (_S.SUBMITTED, _A.REJECT): Rule(_S.REJECTED, Actor.STAFF),
    (_S.SUBMITTED, _A.WITHDRAW): Rule(_S.WITHDRAWN, Actor.AUTHOR),
    (_S.SUBMITTED, _A.MERGE): Rule(_S.MERGED, Actor.STAFF),
    (_S.SUBMITTED, _A.CONVERT): Rule(_S.CONVERTED, Actor.STAFF),
    (_S.ACCEPTED, _A.ASSIGN): Rule(_S.ASSIGNED, Actor.STAFF),
    (_S.ACCEPTED, _A.MERGE): Rule(_S.MERGED, Actor.STAFF),
    (_S.ACCEPTED, _A.CONVERT): Rule(_S.CONVERTED, Actor.STAFF),
    (_S.ACCEPTED, _A.ADOPT): Rule(None, Actor.STAFF),
    (_S.ASSIGNED, _A.ASSIGN): Rule(_S.ASSIGNED, Actor.STAFF),  # change the unit or the deadline
    (_S.ASSIGNED, _A.ANSWER): Rule(_S.ANSWERED, Actor.STAFF),
    (_S.ASSIGNED, _A.MERGE): Rule(_S.MERGED, Actor.STAFF),
    (_S.ASSIGNED, _A.ADOPT): Rule(None, Actor.STAFF),
    (_S.ANSWERED, _A.RATE): Rule(None, Actor.AUTHOR),
    (_S.ANSWERED, _A.ADOPT): Rule(None, Actor.STAFF),
    (_S.CLOSED, _A.ADOPT): Rule(None, Actor.STAFF),
}


class InvalidTransition(Exception):
    """The action is not allowed here; ``code`` says why (for a precise message)."""

    def __init__(self, code: str, status: Status, action: Action) -> None:
        super().__init__(f"{action.value} not allowed on a {status.value} item ({code})")
        self.code = code
        self.status = status
        self.action = action


@dataclass(frozen=True)
class State:
    """What the rules need to know about an item."""

    status: Status
    reopened: int = 0
    adopted: bool = False


def decide(state: State, action: Action, *, actor: Actor, rating: Rating | None = None) -> Status:
    """The status after ``action``, or InvalidTransition (codes: not_allowed, forbidden, rating, adopted)."""
    rule = TRANSITIONS.get((state.status, action))
    if rule is None:
        raise InvalidTransition("not_allowed", state.status, action)
    if rule.actor is not actor:
        raise InvalidTransition("forbidden", state.status, action)
    if action is Action.ADOPT:
        if state.adopted:
            raise InvalidTransition("adopted", state.status, action)
        return state.status
    if action is Action.RATE:
        if rating is None:
            raise InvalidTransition("rating", state.status, action)
        if rating is Rating.DISSATISFIED and state.reopened < MAX_REOPENS:
            return Status.ASSIGNED
        return Status.CLOSED
    assert rule.target is not None
    return rule.target


def allowed_actions(state: State, actor: Actor) -> list[Action]:
    """Actions ``actor`` may take now, in table order (used to draw buttons)."""
    out = []
    for (status, action), rule in TRANSITIONS.items():
        if status is state.status and rule.actor is actor:
            if action is Action.ADOPT and state.adopted:
                continue
            out.append(action)
    return out


def is_reopen(before: Status, after: Status, action: Action) -> bool:
    return action is Action.RATE and before is Status.ANSWERED and after is Status.ASSIGNED
