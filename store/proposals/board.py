"""The console's view of the proposal queue: filtered lists, a board by status, bulk 交办, export rows.

Transitions go through ``repository.transition`` like the Telegram review flow, so the member hears of
every step from the same outbox, in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Member, Proposal
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Status
from store.proposals.warning import SEVERITY, Warning

BOARD_COLUMNS: tuple[Status, ...] = (
    Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.ANSWERED, Status.CLOSED,
    Status.REJECTED, Status.MERGED, Status.CONVERTED, Status.WITHDRAWN,
)
WARNINGS = ("red", "yellow", "green", "none")


@dataclass(frozen=True)
class Filters:
    """What staff narrowed the list to; empty fields mean "any"."""

    category: str = ""
    unit: str = ""
    member_id: int | None = None
    warning: str = ""  # red (overdue) | yellow | green | none
    status: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        return any((self.category, self.unit, self.member_id, self.warning, self.status, self.text))


async def search(
    session: AsyncSession, *, filters: Filters, now: datetime, tz: tzinfo, config: ProposalsConfig,
    limit: int | None = None,
) -> list[tuple[Proposal, Warning | None]]:
    """Items matching ``filters`` (all of them unless ``limit``), red first, then by deadline and age."""
    stmt = select(Proposal)
    if filters.category:
        stmt = stmt.where(Proposal.category == filters.category)
    if filters.unit:
        stmt = stmt.where(Proposal.unit == filters.unit)
    if filters.member_id is not None:
        stmt = stmt.where(Proposal.member_id == filters.member_id)
    if filters.status:
        stmt = stmt.where(Proposal.status == filters.status)
    needle = filters.text.strip()
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Proposal.title.like(pattern, escape="\\"), Proposal.content.like(pattern, escape="\\"),
                              Proposal.number.like(pattern, escape="\\"), Proposal.place.like(pattern, escape="\\")))
    items = list(await session.scalars(stmt.order_by(Proposal.id)))
    rated = [(p, repo.warning_for_item(p, now=now, tz=tz, config=config)) for p in items]
    if filters.warning:
        wanted = None if filters.warning == "none" else filters.warning
        rated = [(p, w) for p, w in rated if (w.value if w else None) == wanted]
    rated.sort(key=lambda pw: (SEVERITY[pw[1]], pw[0].deadline or date.max, pw[0].created_at, pw[0].id))
    return rated if limit is None else rated[:limit]


async def units(session: AsyncSession) -> list[str]:
    """Handling units seen so far (for the filter and the 交办 suggestions)."""
    found = await session.scalars(select(Proposal.unit).where(Proposal.unit.is_not(None)).distinct())
    return sorted(u for u in found if u)


async def authors(session: AsyncSession) -> list[tuple[int, str]]:
    """Members who filed at least one item: (id, name)."""
    rows = await session.execute(
        select(Member.id, Member.name).join(Proposal, Proposal.member_id == Member.id).distinct().order_by(Member.id)
    )
    return [(int(i), str(n)) for i, n in rows.all()]


@dataclass(frozen=True)
class BulkResult:
    done: list[str]
    skipped: list[str]


async def bulk_assign(
    session: AsyncSession, *, proposal_ids: list[int], unit: str, deadline: date | None, staff: Member,
    now: datetime, tz: tzinfo, config: ProposalsConfig,
) -> BulkResult:
    """交办 each of ``proposal_ids`` to ``unit`` in one transaction; items the lifecycle does not allow to be
    assigned now (not yet 受理, already answered …) are skipped and named."""
    done: list[str] = []
    skipped: list[str] = []
    for proposal_id in dict.fromkeys(proposal_ids):
        proposal = await repo.get(session, proposal_id=proposal_id)
        if proposal is None:
            continue
        try:
            await repo.transition(session, proposal=proposal, action=Action.ASSIGN, actor=Actor.STAFF,
                                  actor_member=staff, now=now, tz=tz, config=config, unit=unit, deadline=deadline)
        except (InvalidTransition, repo.MissingDetail):
            skipped.append(proposal.number)
            continue
        done.append(proposal.number)
    return BulkResult(done, skipped)


async def merge_many(
    session: AsyncSession, *, proposal_ids: list[int], into: Proposal, staff: Member, now: datetime, tz: tzinfo,
    config: ProposalsConfig, note: str | None = None,
) -> BulkResult:
    """合并 several items into ``into`` (one class); each merged item's author and supporters are notified."""
    done: list[str] = []
    skipped: list[str] = []
    for proposal_id in dict.fromkeys(proposal_ids):
        proposal = await repo.get(session, proposal_id=proposal_id)
        if proposal is None or proposal.id == into.id:
            continue
        try:
            await repo.transition(session, proposal=proposal, action=Action.MERGE, actor=Actor.STAFF,
                                  actor_member=staff, now=now, tz=tz, config=config, merge_into=into, note=note)
        except (InvalidTransition, repo.MissingDetail):
            skipped.append(proposal.number)
            continue
        done.append(proposal.number)
    return BulkResult(done, skipped)


async def export_rows(
    session: AsyncSession, *, items: list[Proposal], now: datetime, tz: tzinfo, config: ProposalsConfig
) -> list[dict[str, Any]]:
    """``repository.export_record`` of each item, with the number it was merged into."""
    targets = {p.merged_into_id for p in items if p.merged_into_id}
    numbers: dict[int, str] = {}
    if targets:
        found = await session.execute(select(Proposal.id, Proposal.number).where(Proposal.id.in_(targets)))
        numbers = {int(i): str(n) for i, n in found.all()}
    out = []
    for p in items:
        record = repo.export_record(p, now=now, tz=tz, config=config)
        record["merged_into"] = numbers.get(p.merged_into_id) if p.merged_into_id else None
        out.append(record)
    return out
