"""Who sent an update, and what waits for their next message: one query per update (issue #7, #12).

Every multi-step flow keeps its state in the database, in its own table; this module is the one place
that reads, for one member, everything that waits for their input, together with the member row:

=============  ======================================  =================================================
kind           where it lives                          step
=============  ======================================  =================================================
``broadcast``  ``broadcast_drafts`` (staff)            the draft's step (text, media, audience, …)
``proposal``   ``proposal_drafts`` kind ``proposal``   the draft's step (offered, content, card, …)
``review``     ``proposal_drafts`` kind ``review``     the staff prompt (reject, assign, answer)
``checkin``    ``credit_checkin_drafts``               the field typed next, ``edit`` or ``card``
``dispute``    ``credit_disputes`` status drafting     ``reason``
``bc_return``  ``broadcast_return_prompts`` (reviewer)  ``reason`` (ref: the broadcast being returned)
``location``   ``credit_event_attempts`` /             ``required`` (the check-in waits for it) or
               ``credit_event_checkins``               ``optional`` (asked after a check-in)
``learning``   ``learning_materials`` draft (staff)    ``card`` (a file sent to the bot, 确认 / 取消)
=============  ======================================  =================================================

Nothing of it is kept in memory, so a restarted process, or a second one sharing the database, continues
every flow. The newest waiting item (``Pending.front``) is the card in front of the member: a typed label
of one of its buttons means that button. Add a new kind here (one more ``SELECT`` in the ``UNION ALL``),
never a query of its own per update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    Label,
    String,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.credits.events import LOCATION_SHARE_WINDOW, LOCATION_WAIT, CheckinOutcome
from store.models import (
    BroadcastDraft,
    BroadcastReturnPrompt,
    CheckinDraft,
    CreditDispute,
    CreditEvent,
    EventAttendance,
    EventCheckinAttempt,
    LearningMaterial,
    Member,
    ProposalDraft,
)
from store.models.base import table_of
from store.types import UTCDateTime

BROADCAST, PROPOSAL, REVIEW, CHECKIN, DISPUTE, LOCATION, BROADCAST_RETURN = (
    "broadcast", "proposal", "review", "checkin", "dispute", "location", "bc_return")
LEARNING = "learning"
LEARNING_CARD = "card"
# A check-in draft shown for confirmation (no field asked for), and one showing the field choice (修改).
CHECKIN_CARD, CHECKIN_EDIT = "card", "edit"
LOCATION_REQUIRED, LOCATION_OPTIONAL = "required", "optional"
# Outcomes of the latest attempt after which the member is still asked for a location.
_STILL_ASKED = (CheckinOutcome.NEED_LOCATION.value, CheckinOutcome.FAR.value)


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for the member's input: a draft, a staff prompt, a dispute reason, a location."""

    kind: str
    ref_id: int  # the draft's id (the member's id for a broadcast draft), the dispute's, the event's
    step: str
    since: datetime  # when it was last shown to the member


@dataclass(frozen=True)
class ProposalPending:
    """The sender's newest proposal draft or staff prompt (what ``member_drafts(...)[0]`` gives)."""

    draft_id: int
    kind: str
    step: str


@dataclass(frozen=True)
class Pending:
    """Everything waiting for the sender's input, newest first (empty: nothing waits)."""

    waiting: tuple[Waiting, ...] = ()

    @property
    def front(self) -> Waiting | None:
        """The newest: the card or question in front of the member."""
        return self.waiting[0] if self.waiting else None

    def of(self, *kinds: str) -> Waiting | None:
        """The newest waiting item of one of ``kinds``."""
        return next((w for w in self.waiting if w.kind in kinds), None)

    @property
    def broadcast_step(self) -> str | None:
        found = self.of(BROADCAST)
        return found.step if found else None

    @property
    def proposal(self) -> ProposalPending | None:
        found = self.of(PROPOSAL, REVIEW)
        return ProposalPending(found.ref_id, found.kind, found.step) if found else None


NOTHING_PENDING = Pending()

# The sender's member id, computed once by the database inside each branch (an uncorrelated subquery):
# every branch reads only that member's rows, through its member_id index. ``telegram_id`` is unique, so
# no LIMIT (it would be two more bound parameters in every branch).
_member_id = select(Member.id).where(Member.telegram_id == bindparam("telegram_id")).scalar_subquery()
_MEMBER_COLUMNS = tuple(table_of(Member).c)


def _const(value: str, kind: String) -> ColumnElement[str]:
    """A constant rendered in the SQL text (not a bound parameter: fewer values to bind on every message)."""
    if "'" in value:
        raise ValueError(f"not a plain constant: {value!r}")
    return literal_column(f"'{value}'", kind)


def _row(kind: ColumnExpressionArgument[str] | str, ref: ColumnExpressionArgument[int | None],
         step: ColumnExpressionArgument[str] | str, since: ColumnExpressionArgument[datetime]
         ) -> tuple[Label[Any], ...]:
    """The columns every waiting branch of the union gives: the member's, empty, then the item's four."""
    kind_col = kind if not isinstance(kind, str) else _const(kind, String(16))
    step_col = step if not isinstance(step, str) else _const(step, String(32))
    return (  # type_coerce, not CAST: SQLite would read a CAST to a timestamp as a number
        *(type_coerce(null(), column.type).label(column.name) for column in _MEMBER_COLUMNS),
        type_coerce(kind_col, String(16)).label("kind"),
        type_coerce(ref, Integer).label("ref_id"),
        type_coerce(step_col, String(32)).label("step"),
        type_coerce(since, UTCDateTime()).label("since"),
    )


# The member's own row: the member's columns, no waiting item.
_member = select(
    *_MEMBER_COLUMNS,
    type_coerce(null(), String(16)).label("kind"),
    type_coerce(null(), Integer).label("ref_id"),
    type_coerce(null(), String(32)).label("step"),
    type_coerce(null(), UTCDateTime()).label("since"),
).where(Member.telegram_id == bindparam("telegram_id"))
_broadcast = select(*_row(BROADCAST, BroadcastDraft.member_id, BroadcastDraft.step, BroadcastDraft.updated_at)
                    ).where(BroadcastDraft.member_id == _member_id)
_returns = select(*_row(BROADCAST_RETURN, BroadcastReturnPrompt.broadcast_id, "reason",
                         BroadcastReturnPrompt.created_at)).where(BroadcastReturnPrompt.member_id == _member_id)
_proposals = select(*_row(ProposalDraft.kind, ProposalDraft.id, ProposalDraft.step, ProposalDraft.updated_at)
                    ).where(ProposalDraft.member_id == _member_id)
_checkins = select(*_row(CHECKIN, CheckinDraft.id,
                         func.coalesce(CheckinDraft.awaiting, _const(CHECKIN_CARD, String(32))),
                         CheckinDraft.updated_at)).where(CheckinDraft.member_id == _member_id)
_disputes = select(*_row(DISPUTE, CreditDispute.id, "reason", CreditDispute.created_at)).where(
    CreditDispute.member_id == _member_id, CreditDispute.status == _const("drafting", String(16)))
# An event check-in that waits for a location: the member's latest attempt naming an event, if recent and
# still asking (a location is required, or the last one was too far), and the check-in not yet recorded.
_latest_attempt = (
    select(EventCheckinAttempt.id)
    .where(EventCheckinAttempt.member_id == _member_id, EventCheckinAttempt.event_id.is_not(None),
           EventCheckinAttempt.at >= bindparam("required_since", type_=UTCDateTime()))
    .order_by(EventCheckinAttempt.at.desc(), EventCheckinAttempt.id.desc())
    .limit(1)
    .scalar_subquery()
)
_required = select(*_row(LOCATION, EventCheckinAttempt.event_id, LOCATION_REQUIRED, EventCheckinAttempt.at)).where(
    EventCheckinAttempt.id == _latest_attempt,
    # ``or_`` of equalities, not ``in_``: an IN list is rendered anew on every execution (a "postcompile"
    # parameter), and this statement runs for every message.
    or_(*(EventCheckinAttempt.outcome == _const(outcome, String(16)) for outcome in _STILL_ASKED)),
    ~exists().where(EventAttendance.member_id == EventCheckinAttempt.member_id,
                    EventAttendance.event_id == EventCheckinAttempt.event_id),
)
# A recent check-in at an event with a place, asked (optionally) for a location not yet shared or declined.
_optional = (
    select(*_row(LOCATION, EventAttendance.event_id, LOCATION_OPTIONAL, EventAttendance.at))
    .join(CreditEvent, CreditEvent.id == EventAttendance.event_id)
    .where(
        EventAttendance.member_id == _member_id,
        EventAttendance.method != _const("manual", String(16)),
        EventAttendance.latitude.is_(None),
        EventAttendance.at >= bindparam("optional_since", type_=UTCDateTime()),
        CreditEvent.latitude.is_not(None),
        CreditEvent.require_location.is_(False),
        ~exists().where(and_(
            EventCheckinAttempt.member_id == EventAttendance.member_id,
            EventCheckinAttempt.event_id == EventAttendance.event_id,
            EventCheckinAttempt.outcome == _const(CheckinOutcome.DECLINED.value, String(16)),
            EventCheckinAttempt.at >= EventAttendance.at,
        )),
    )
)
# A learning material a staff member sent to the bot as a file, waiting for 确认 (issue #15).
_learning = select(*_row(LEARNING, LearningMaterial.id, LEARNING_CARD, LearningMaterial.created_at)).where(
    LearningMaterial.created_by == _member_id, LearningMaterial.draft.is_(True))
# One flat UNION ALL: the member's row, then one row per waiting item. Selected from as the only thing
# in FROM, the database flattens it (SQLite would materialize a union joined to the member row, which
# cost more than all the branches together).
_rows = union_all(_member, _broadcast, _returns, _proposals, _checkins, _disputes, _required, _optional,
                  _learning).subquery("member_rows")
_member_of_row = aliased(Member, _rows)
# Built once: a statement's cache key is memoized on the object, and this one runs for every message.
_MEMBER_WITH_PENDING = select(_member_of_row, _rows.c.kind, _rows.c.ref_id, _rows.c.step, _rows.c.since)


async def member_with_pending(
    session: AsyncSession, *, telegram_id: int, now: datetime
) -> tuple[Member | None, Pending]:
    """The member bound to ``telegram_id`` (active or not, as ``members.get_by_telegram_id``) and what
    waits for their input, newest first; ``(None, NOTHING_PENDING)`` for an unknown account."""
    rows = (await session.execute(_MEMBER_WITH_PENDING, {
        "telegram_id": telegram_id,
        "required_since": now - LOCATION_WAIT,
        "optional_since": now - LOCATION_SHARE_WINDOW,
    })).all()
    member: Member | None = None
    waiting: list[Waiting] = []
    for found, kind, ref_id, step, since in rows:
        if found is not None:
            member = found
        elif kind is not None:
            waiting.append(Waiting(kind, int(ref_id), step, since))
    if member is None or not waiting:
        return member, NOTHING_PENDING
    waiting.sort(key=lambda w: (w.since, w.ref_id), reverse=True)
    return member, Pending(tuple(waiting))
