"""Staff corrections to the ledger: manual adjustments, disputes (申诉), and reminder preferences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import audit
from store.credits.awards import award
from store.credits.reports import pace_target, totals_by_member, year_period
from store.credits.rules import CreditRules
from store.db import affected_rows
from store.models import CreditDispute, CreditEntry, Member, ReminderPreference, Role


async def adjust(
    session: AsyncSession, *, rules: CreditRules, member: Member, rule_id: str, points: int, reason: str,
    staff: Member | None, now: datetime, day: date, actor_label: str | None = None,
    reverses: CreditEntry | None = None,
) -> CreditEntry:
    """A manual adjustment (positive or negative) with a reason; its evidence is the audit log entry.

    With ``reverses`` it is the correction of that entry (its points negated by the caller); the ledger's
    unique ``reverses_id`` makes a second reversal of one entry impossible (IntegrityError)."""
    if rule_id not in rules.types:
        raise ValueError(f"unknown credit type {rule_id!r} (known: {', '.join(rules.type_ids())})")
    if not reason.strip():
        raise ValueError("a reason is required")
    log = await audit.record(
        session, actor=staff, actor_label=actor_label, action="credits.adjust", at=now,
        target=f"member:{member.id}",
        detail={"member": member.name, "rule_id": rule_id, "points": points,
                **({"reverses": reverses.id} if reverses is not None else {})},
        note=reason,
    )
    result = await award(
        session, rules=rules, member_id=member.id, rule_id=rule_id, source_type="adjustment",
        source_id=f"audit:{log.id}", requested_points=points, activity_date=day, at=now,
        title="人工调整", note=reason, apply_caps=False, reverses_id=reverses.id if reverses is not None else None,
    )
    return result.entry


async def reversal_of(session: AsyncSession, *, entry_id: int) -> CreditEntry | None:
    """The entry that reverses (corrects) ``entry_id``, if it was corrected."""
    return await session.scalar(select(CreditEntry).where(CreditEntry.reverses_id == entry_id))


async def corrected_ids(session: AsyncSession, *, entry_ids: list[int]) -> set[int]:
    """Which of these entries were corrected already (reversed, or a dispute on them ended 'corrected')."""
    if not entry_ids:
        return set()
    reversed_ = await session.scalars(select(CreditEntry.reverses_id).where(CreditEntry.reverses_id.in_(entry_ids)))
    disputed = await session.scalars(select(CreditDispute.entry_id).where(
        CreditDispute.entry_id.in_(entry_ids), CreditDispute.status == "corrected"))
    return {int(i) for i in reversed_ if i is not None} | {int(i) for i in disputed}


# --- disputes -----------------------------------------------------------------------------------------


class DisputeError(Exception):
    """A dispute or correction the ledger refuses: ``adjustment`` (not disputable), ``corrected`` (already
    corrected once), ``open`` (a dispute on this entry is open already), ``gone`` (the dispute no longer
    waits for its reason: another transaction submitted or dropped it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _disputable(entry: CreditEntry) -> bool:
    return entry.source_type != "adjustment" and entry.reverses_id is None


async def _check_disputable(session: AsyncSession, *, entry: CreditEntry, other_than: int | None = None) -> None:
    if not _disputable(entry):
        raise DisputeError("adjustment")
    if await corrected_ids(session, entry_ids=[entry.id]):
        raise DisputeError("corrected")
    open_ = select(CreditDispute.id).where(CreditDispute.entry_id == entry.id, CreditDispute.status == "open")
    if other_than is not None:
        open_ = open_.where(CreditDispute.id != other_than)
    if await session.scalar(open_.limit(1)) is not None:
        raise DisputeError("open")


async def open_dispute(session: AsyncSession, *, entry: CreditEntry, member_id: int, now: datetime) -> CreditDispute:
    """Start a dispute on one of the member's own entries; the reason comes in the next message.

    Refused (DisputeError) for adjustments and reversals, for an entry corrected already, and while a
    dispute on the entry is open."""
    if entry.member_id != member_id:
        raise PermissionError("not the member's entry")
    await _check_disputable(session, entry=entry)
    await session.execute(
        delete(CreditDispute).where(CreditDispute.member_id == member_id, CreditDispute.status == "drafting")
    )
    dispute = CreditDispute(entry_id=entry.id, member_id=member_id, status="drafting", created_at=now)
    session.add(dispute)
    await session.flush()
    return dispute


async def drafting_dispute(session: AsyncSession, *, member_id: int) -> CreditDispute | None:
    return await session.scalar(
        select(CreditDispute).where(CreditDispute.member_id == member_id, CreditDispute.status == "drafting")
    )


async def drop_dispute(session: AsyncSession, *, dispute: CreditDispute) -> None:
    """Delete a dispute still being drafted (the member cancelled it, or its reason was refused)."""
    await session.delete(dispute)


async def submit_dispute(session: AsyncSession, *, dispute: CreditDispute, reason: str) -> CreditDispute:
    """The reason arrived: the dispute is open (DisputeError if the entry got another open dispute meanwhile)."""
    entry = await session.get(CreditEntry, dispute.entry_id)
    if entry is None:
        raise DisputeError("adjustment")
    await _check_disputable(session, entry=entry, other_than=dispute.id)
    try:
        async with session.begin_nested():  # the partial unique index settles a race between two submits
            # Conditional: of two reasons for one dispute sent at once (two workers), one opens it; on
            # PostgreSQL the second UPDATE waits for the first transaction, then matches nothing.
            result = await session.execute(
                update(CreditDispute)
                .where(CreditDispute.id == dispute.id, CreditDispute.status == "drafting")
                .values(reason=reason.strip()[:1000], status="open")
            )
            if affected_rows(result) != 1:
                raise DisputeError("gone")
    except IntegrityError:
        raise DisputeError("open") from None
    return dispute


async def get_dispute(session: AsyncSession, *, dispute_id: int) -> CreditDispute | None:
    return await session.get(CreditDispute, dispute_id)


async def open_disputes(session: AsyncSession) -> list[CreditDispute]:
    return list(await session.scalars(
        select(CreditDispute).where(CreditDispute.status == "open").order_by(CreditDispute.id)
    ))


async def resolve_dispute(
    session: AsyncSession, *, rules: CreditRules, dispute: CreditDispute, staff: Member, correct: bool,
    now: datetime, day: date, note: str | None = None,
) -> CreditDispute:
    """Staff decide: uphold the entry, or correct it by a reversal naming it (history stays append-only).

    An entry is corrected at most once: a second correction raises DisputeError("corrected") and changes
    nothing (the unique ``reverses_id`` refuses it even when two staff press at the same moment); a dispute
    decided meanwhile by someone else raises DisputeError("gone")."""
    if dispute.status != "open":
        raise ValueError("dispute is not open")
    entry = await session.get(CreditEntry, dispute.entry_id)
    member = await session.get(Member, dispute.member_id)
    if entry is None or member is None:
        raise ValueError("dispute refers to a missing entry")
    if correct:
        if not _disputable(entry):
            raise DisputeError("adjustment")
        if await corrected_ids(session, entry_ids=[entry.id]):
            raise DisputeError("corrected")
    status = "corrected" if correct else "upheld"
    try:
        async with session.begin_nested():
            # Conditional: of two staff deciding at once (Telegram and the console, two workers), one decides;
            # the other matches nothing ("gone") and records nothing, not even a second "upheld".
            decided = await session.execute(
                update(CreditDispute).where(CreditDispute.id == dispute.id, CreditDispute.status == "open")
                .values(status=status, resolved_at=now, resolved_by=staff.id, resolution=note)
            )
            if affected_rows(decided) != 1:
                raise DisputeError("gone")
            if correct:
                await adjust(
                    session, rules=rules, member=member, rule_id=entry.rule_id, points=-entry.points,
                    reason=f"申诉 #{dispute.id} 更正：{dispute.reason or ''}", staff=staff, now=now,
                    day=entry.activity_date, reverses=entry,
                )
    except IntegrityError:
        raise DisputeError("corrected") from None
    dispute.status, dispute.resolved_at, dispute.resolved_by, dispute.resolution = status, now, staff.id, note
    await audit.record(
        session, actor=staff, action="credits.dispute_resolve", at=now, target=f"dispute:{dispute.id}",
        detail={"entry_id": entry.id, "status": dispute.status}, note=note,
    )
    await session.flush()
    return dispute


# --- reminders ----------------------------------------------------------------------------------------


async def set_reminders(session: AsyncSession, *, member_id: int, enabled: bool) -> ReminderPreference:
    pref = await session.get(ReminderPreference, member_id)
    if pref is None:
        pref = ReminderPreference(member_id=member_id, opted_out=not enabled)
        session.add(pref)
    pref.opted_out = not enabled
    await session.flush()
    return pref


async def reminders_enabled(session: AsyncSession, *, member_id: int) -> bool:
    pref = await session.get(ReminderPreference, member_id)
    return pref is None or not pref.opted_out


@dataclass(frozen=True)
class Nudge:
    member: Member
    total: int
    expected: int


async def members_to_nudge(
    session: AsyncSession, *, rules: CreditRules, today: date, now: datetime
) -> list[Nudge]:
    """Bound, active members below pace who did not opt out and were not nudged recently."""
    reminders = rules.reminders
    if not reminders.enabled or (today - date(today.year, 1, 1)).days < reminders.grace_days:
        return []
    table = await totals_by_member(session, period=year_period(today.year))
    expected = pace_target(rules, today)
    prefs = {p.member_id: p for p in await session.scalars(select(ReminderPreference))}
    members = await session.scalars(
        select(Member).where(
            Member.active.is_(True), Member.role == Role.MEMBER.value, Member.telegram_id.is_not(None)
        ).order_by(Member.id)
    )
    due = []
    for member in members:
        pref = prefs.get(member.id)
        if pref is not None and pref.opted_out:
            continue
        if pref is not None and pref.last_reminded_at is not None and (
            now - pref.last_reminded_at < timedelta(days=reminders.min_interval_days)
        ):
            continue
        total = sum(table.get(member.id, {}).values())
        if total < expected:
            due.append(Nudge(member, total, round(expected)))
    return due


async def mark_reminded(session: AsyncSession, *, member_id: int, now: datetime) -> None:
    pref = await session.get(ReminderPreference, member_id)
    if pref is None:
        pref = ReminderPreference(member_id=member_id, opted_out=False)
        session.add(pref)
    pref.last_reminded_at = now
    await session.flush()


# --- the console's lists ------------------------------------------------------------------------------


async def dispute_rows(
    session: AsyncSession, *, open_only: bool, limit: int = 100
) -> list[tuple[CreditDispute, CreditEntry, Member]]:
    """Submitted disputes with their entry and member: the open queue (oldest first) or the decided ones
    (newest first). Disputes still being drafted are the member's, not staff's."""
    stmt = (
        select(CreditDispute, CreditEntry, Member)
        .join(CreditEntry, CreditEntry.id == CreditDispute.entry_id)
        .join(Member, Member.id == CreditDispute.member_id)
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(CreditDispute.status == "open").order_by(CreditDispute.id)
    else:
        stmt = stmt.where(CreditDispute.status.in_(("upheld", "corrected", "duplicate"))).order_by(
            CreditDispute.resolved_at.desc(), CreditDispute.id.desc())
    return [(d, e, m) for d, e, m in (await session.execute(stmt)).all()]


async def recent_adjustments(session: AsyncSession, *, limit: int = 50) -> list[tuple[CreditEntry, Member]]:
    """Manual adjustments and reversals, newest first."""
    rows = await session.execute(
        select(CreditEntry, Member).join(Member, Member.id == CreditEntry.member_id)
        .where(CreditEntry.source_type == "adjustment")
        .order_by(CreditEntry.id.desc()).limit(limit)
    )
    return [(e, m) for e, m in rows.all()]
