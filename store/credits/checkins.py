"""Online check-ins: drafts shown for confirmation, and recording a confirmed check-in with its points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.credits.awards import AwardResult, award
from store.credits.parsing import ParsedCheckin
from store.credits.rules import CreditRules
from store.db import delete_as_read
from store.models import CheckinDraft, StudyCheckin
from store.types import UTCDateTime

DRAFT_FIELDS = ("text", "title", "minutes", "date")  # typed by the member
EDIT = "edit"  # the field choice (修改) is shown


async def start_draft(
    session: AsyncSession, *, member_id: int, now: datetime, parsed: ParsedCheckin | None = None
) -> CheckinDraft:
    """Replace the member's open draft with a new one (awaiting the check-in text when ``parsed`` is None)."""
    await session.execute(delete(CheckinDraft).where(CheckinDraft.member_id == member_id))
    draft = CheckinDraft(member_id=member_id, kind="study", created_at=now, updated_at=now, awaiting="text")
    if parsed is not None:
        apply_parsed(draft, parsed)
    session.add(draft)
    await session.flush()
    return draft


def apply_parsed(draft: CheckinDraft, parsed: ParsedCheckin) -> None:
    draft.kind = parsed.kind
    draft.title = parsed.title
    draft.minutes = parsed.minutes
    draft.body = parsed.body
    draft.study_date = parsed.day
    draft.awaiting = None


async def get_draft(session: AsyncSession, *, draft_id: int, member_id: int) -> CheckinDraft | None:
    draft = await session.get(CheckinDraft, draft_id)
    return draft if draft is not None and draft.member_id == member_id else None


async def awaiting_draft(session: AsyncSession, *, member_id: int) -> CheckinDraft | None:
    """The member's draft that waits for typed input, if any."""
    return await session.scalar(
        select(CheckinDraft)
        .where(CheckinDraft.member_id == member_id, CheckinDraft.awaiting.is_not(None))
        .order_by(CheckinDraft.id.desc())
        .limit(1)
    )


async def set_awaiting(session: AsyncSession, *, draft: CheckinDraft, awaiting: str | None, now: datetime) -> None:
    """What the draft waits for next: a field typed (``DRAFT_FIELDS``), the field choice (``edit``), or the
    member's 确认 on the card (None); shown to the member at ``now``."""
    draft.awaiting = awaiting
    draft.updated_at = now
    await session.flush()


async def discard_draft(session: AsyncSession, *, draft: CheckinDraft) -> None:
    await session.delete(draft)
    await session.flush()


def backfill_allowed(day: date, *, today: date, rules: CreditRules) -> bool:
    return today - timedelta(days=rules.backfill_days) <= day <= today


def preview_points(draft: CheckinDraft, rules: CreditRules) -> int:
    """Points before caps, as shown in the confirmation."""
    if draft.kind == "note":
        found = rules.first_of("note")
        return found[1].points if found else 0
    return rules.study_points(draft.minutes or 0)


@dataclass(frozen=True)
class RecordedCheckin:
    checkin: StudyCheckin
    award: AwardResult | None
    rule_id: str


class CheckinError(Exception):
    """A draft that cannot be recorded as it stands (the code names the reason)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def consume_draft(session: AsyncSession, *, draft: CheckinDraft) -> bool:
    """Delete the draft as it was read (same id, same step, not changed since): False when another
    transaction (a second tap on another worker) consumed or changed it first. On PostgreSQL the DELETE
    waits for that transaction and then matches nothing; the caller records nothing then."""
    params = {"draft_id": draft.id, "draft_member": draft.member_id, "draft_changed": draft.updated_at}
    if draft.awaiting is None:
        return await delete_as_read(session, draft, _CONSUME_CARD, params)
    return await delete_as_read(session, draft, _CONSUME_AWAITING, params | {"draft_awaiting": draft.awaiting})


# Built once (this runs on every confirmed check-in): the draft as read, waiting on its card or on a field.
_CONSUME = delete(CheckinDraft).where(
    CheckinDraft.id == bindparam("draft_id"), CheckinDraft.member_id == bindparam("draft_member"),
    CheckinDraft.updated_at == bindparam("draft_changed", type_=UTCDateTime()))
_CONSUME_CARD = _CONSUME.where(CheckinDraft.awaiting.is_(None))
_CONSUME_AWAITING = _CONSUME.where(CheckinDraft.awaiting == bindparam("draft_awaiting"))


async def confirm_draft(
    session: AsyncSession, *, draft: CheckinDraft, rules: CreditRules, now: datetime, today: date
) -> RecordedCheckin:
    """Turn a confirmed draft into a check-in and its ledger entry (caps applied), consuming the draft in the
    same transaction: ``CheckinError("stale")`` (nothing recorded) when it was consumed or changed already."""
    found = rules.first_of("note" if draft.kind == "note" else "checkin")
    if found is None:
        raise CheckinError("no_rule")
    rule_id, rule = found
    day = draft.study_date or today
    if not backfill_allowed(day, today=today, rules=rules):
        raise CheckinError("outside_window" if day < today else "future")
    if draft.kind == "study":
        if draft.minutes is None:
            raise CheckinError("no_minutes")
        if draft.minutes < rule.min_minutes:
            raise CheckinError("too_short")
        if draft.minutes > rule.max_minutes:
            raise CheckinError("too_long")
        requested = rules.study_points(draft.minutes)
    else:
        if len(draft.body or "") < rule.min_chars:
            raise CheckinError("note_too_short")
        requested = rule.points
    if not await consume_draft(session, draft=draft):
        raise CheckinError("stale")
    checkin = StudyCheckin(
        member_id=draft.member_id,
        kind=rule_id,
        title=draft.title,
        minutes=draft.minutes,
        body=draft.body,
        study_date=day,
        backfill=day < today,
        created_at=now,
    )
    session.add(checkin)
    await session.flush()
    result = await award(
        session,
        rules=rules,
        member_id=draft.member_id,
        rule_id=rule_id,
        source_type="checkin",
        source_id=str(checkin.id),
        requested_points=requested,
        activity_date=day,
        at=now,
        title=draft.title,
        note="补卡" if checkin.backfill else None,
    )
    return RecordedCheckin(checkin, result, rule_id)
