"""Reading the ledger: a member's standing, per-member reports by period, statistics for staff."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Date, Integer, and_, bindparam, case, func, literal_column, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from store.credits.rules import CreditRules
from store.models import CreditEntry, Member, Role, StudyCheckin


@dataclass(frozen=True)
class Period:
    """A reporting period: a year, a quarter or a month (``end`` is exclusive)."""

    label: str
    start: date
    end: date


def parse_period(text: str | None, *, today: date) -> Period:
    """``2026``, ``2026Q4`` or ``2026-11`` (default: the current year)."""
    value = (text or str(today.year)).strip().upper()
    if re.fullmatch(r"\d{4}", value):
        year = int(value)
        return Period(value, date(year, 1, 1), date(year + 1, 1, 1))
    match = re.fullmatch(r"(\d{4})Q([1-4])", value)
    if match:
        year, quarter = int(match.group(1)), int(match.group(2))
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period(value, start, end)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
    if match and 1 <= int(match.group(2)) <= 12:
        year, month = int(match.group(1)), int(match.group(2))
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period(f"{year}-{month:02d}", date(year, month, 1), end)
    raise ValueError(f"unknown period {text!r}: use 2026, 2026Q4 or 2026-11")


def year_period(year: int) -> Period:
    return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))


async def totals_by_member(session: AsyncSession, *, period: Period) -> dict[int, dict[str, int]]:
    """member id → {rule id: points} for entries in the period."""
    rows = await session.execute(
        select(CreditEntry.member_id, CreditEntry.rule_id, func.sum(CreditEntry.points))
        .where(CreditEntry.activity_date >= period.start, CreditEntry.activity_date < period.end)
        .group_by(CreditEntry.member_id, CreditEntry.rule_id)
    )
    table: dict[int, dict[str, int]] = defaultdict(dict)
    for member_id, rule_id, points in rows.all():
        table[int(member_id)][str(rule_id)] = int(points or 0)
    return table


async def year_total(session: AsyncSession, *, member_id: int, year: int) -> int:
    """A member's points in ``year``: ``standing(...).total`` without everyone else's totals."""
    period = year_period(year)
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.points), 0)).where(
            CreditEntry.member_id == member_id,
            CreditEntry.activity_date >= period.start,
            CreditEntry.activity_date < period.end,
        )
    )
    return int(total or 0)


@dataclass
class MemberRow:
    member: Member
    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


async def report_rows(session: AsyncSession, *, rules: CreditRules, period: Period) -> list[MemberRow]:
    """One row per active member (role member), every rule type as a column (0 when none)."""
    table = await totals_by_member(session, period=period)
    members = list(await session.scalars(
        select(Member).where(Member.active.is_(True), Member.role == Role.MEMBER.value).order_by(Member.id)
    ))
    type_ids = rules.type_ids()
    rows = []
    for member in members:
        points = table.get(member.id, {})
        by_type = {t: points.get(t, 0) for t in type_ids}
        for rule_id, value in points.items():  # types dropped from the rules keep their history
            by_type.setdefault(rule_id, value)
        rows.append(MemberRow(member, by_type))
    return rows


async def ledger_entries(session: AsyncSession, *, period: Period) -> list[tuple[CreditEntry, Member]]:
    rows = await session.execute(
        select(CreditEntry, Member)
        .join(Member, Member.id == CreditEntry.member_id)
        .where(CreditEntry.activity_date >= period.start, CreditEntry.activity_date < period.end)
        .order_by(CreditEntry.activity_date, CreditEntry.id)
    )
    return [(e, m) for e, m in rows.all()]


async def recent_entries(session: AsyncSession, *, member_id: int, limit: int = 5) -> list[CreditEntry]:
    return list(await session.scalars(
        select(CreditEntry).where(CreditEntry.member_id == member_id)
        .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc()).limit(limit)
    ))


async def get_entry(session: AsyncSession, *, entry_id: int) -> CreditEntry | None:
    return await session.get(CreditEntry, entry_id)


async def monthly_points(session: AsyncSession, *, member_id: int | None, year: int) -> list[int]:
    """Points per month of ``year`` (12 values), for one member or everyone."""
    stmt = select(CreditEntry.activity_date, CreditEntry.points).where(
        CreditEntry.activity_date >= date(year, 1, 1), CreditEntry.activity_date < date(year + 1, 1, 1)
    )
    if member_id is not None:
        stmt = stmt.where(CreditEntry.member_id == member_id)
    months = [0] * 12
    for day, points in (await session.execute(stmt)).all():
        months[day.month - 1] += int(points)
    return months


def pace_target(rules: CreditRules, today: date) -> float:
    """Points a member on pace for the annual target has by ``today``."""
    start = date(today.year, 1, 1)
    days = (date(today.year + 1, 1, 1) - start).days
    return rules.annual_target * ((today - start).days + 1) / days


@dataclass(frozen=True)
class Standing:
    """A member's private view: never a rank, only a band."""

    year: int
    total: int
    target: int
    by_type: dict[str, int]
    band: str  # top | middle | attention
    on_pace: bool


def band_for(total: int, others: list[int], *, below_pace: bool) -> str:
    """``top`` for the top 20 %, ``attention`` when below pace and in the bottom 20 %, else ``middle``."""
    return band_of(total, len(others), higher=sum(1 for t in others if t > total),
                   at_least=sum(1 for t in others if t >= total), below_pace=below_pace)


def band_of(total: int, count: int, *, higher: int, at_least: int, below_pace: bool) -> str:
    """``band_for`` from counts: ``count`` totals, ``higher`` of them above ``total``, ``at_least`` ≥ it."""
    if not count:
        return "middle"
    if higher / count < 0.2 and total > 0:
        return "top"
    if below_pace and (at_least / count >= 0.8 or total == 0):
        return "attention"
    return "middle"


# /credits runs this for every member who asks: one statement, built once, that gives the member's points
# by type and, counted by the database, how many active members (role member) have more points this year
# and how many at least as many (the band), instead of every member's totals read into Python.
_in_year = and_(CreditEntry.activity_date >= bindparam("start", type_=Date()),
                CreditEntry.activity_date < bindparam("end", type_=Date()))
_everyone = (
    select(func.coalesce(func.sum(CreditEntry.points), 0).label("total"))
    .select_from(Member)
    .outerjoin(CreditEntry, and_(CreditEntry.member_id == Member.id, _in_year))
    .where(Member.active.is_(True), Member.role == literal_column(f"'{Role.MEMBER.value}'"))
    .group_by(Member.id)
    .subquery("everyone")
)
_my_total = (select(func.coalesce(func.sum(CreditEntry.points), 0))
             .where(CreditEntry.member_id == bindparam("member_id", type_=Integer()), _in_year).scalar_subquery())
_band = select(
    func.count().label("members"),
    func.coalesce(func.sum(case((_everyone.c.total > _my_total, 1), else_=0)), 0).label("higher"),
    func.coalesce(func.sum(case((_everyone.c.total >= _my_total, 1), else_=0)), 0).label("at_least"),
).subquery("band")
_mine = (select(CreditEntry.rule_id, func.sum(CreditEntry.points).label("points"))
         .where(CreditEntry.member_id == bindparam("member_id", type_=Integer()), _in_year)
         .group_by(CreditEntry.rule_id).subquery("mine"))
_STANDING = (select(_band.c.members, _band.c.higher, _band.c.at_least, _mine.c.rule_id, _mine.c.points)
             .select_from(_band).outerjoin(_mine, true()))


async def standing(
    session: AsyncSession, *, rules: CreditRules, member_id: int, today: date
) -> Standing:
    period = year_period(today.year)
    rows = (await session.execute(_STANDING, {"member_id": member_id, "start": period.start, "end": period.end})
            ).all()
    mine = {str(rule_id): int(points or 0) for _, _, _, rule_id, points in rows if rule_id is not None}
    members, higher, at_least = (int(v or 0) for v in rows[0][:3])
    by_type = {t: mine.get(t, 0) for t in rules.type_ids() if mine.get(t, 0)}
    total = sum(mine.values())
    on_pace = total >= pace_target(rules, today)
    band = band_of(total, members, higher=higher, at_least=at_least, below_pace=not on_pace)
    return Standing(today.year, total, rules.annual_target, by_type, band, on_pace)


@dataclass
class GroupStat:
    name: str
    members: int = 0
    total: int = 0
    below_target: int = 0

    @property
    def average(self) -> float:
        return self.total / self.members if self.members else 0.0


@dataclass
class Stats:
    period: Period
    members: int
    total: int
    by_type: dict[str, int]
    by_sector: list[GroupStat] = field(default_factory=list)
    by_district: list[GroupStat] = field(default_factory=list)
    below: list[MemberRow] = field(default_factory=list)


async def stats(session: AsyncSession, *, rules: CreditRules, period: Period, today: date) -> Stats:
    """Totals by sector and district, and the members below the (pro-rated) target."""
    rows = await report_rows(session, rules=rules, period=period)
    pace = pace_target(rules, min(today, period.end)) if period.start.year == today.year else rules.annual_target
    by_type: dict[str, int] = defaultdict(int)
    sectors: dict[str, GroupStat] = {}
    districts: dict[str, GroupStat] = {}
    below = []
    for row in rows:
        for rule_id, value in row.by_type.items():
            by_type[rule_id] += value
        is_below = row.total < pace
        if is_below:
            below.append(row)
        for key, table in ((row.member.sector or "-", sectors), (row.member.district or "-", districts)):
            stat = table.setdefault(key, GroupStat(key))
            stat.members += 1
            stat.total += row.total
            stat.below_target += int(is_below)
    below.sort(key=lambda r: (r.total, r.member.id))
    return Stats(
        period=period,
        members=len(rows),
        total=sum(r.total for r in rows),
        by_type=dict(by_type),
        by_sector=sorted(sectors.values(), key=lambda s: -s.average),
        by_district=sorted(districts.values(), key=lambda s: -s.average),
        below=below,
    )


# --- evidence (issue #15): what backs each entry --------------------------------------------------------

EVIDENCE_KINDS = ("reading", "quiz", "self_report", "event", "proposal", "adjustment")


async def entry_evidence(session: AsyncSession, *, entries: list[CreditEntry]) -> dict[int, str]:
    """entry id → its evidence kind: a study check-in's own (``reading``: a material read in the bot,
    ``self_report``: the member's sentence, 自报), else the entry's source type (``event``, ``proposal``,
    ``adjustment``)."""
    checkin_ids = sorted({int(e.source_id) for e in entries if e.source_type == "checkin" and e.source_id.isdigit()})
    kinds: dict[int, str] = {}
    for start in range(0, len(checkin_ids), 500):
        chunk = checkin_ids[start:start + 500]
        rows = await session.execute(select(StudyCheckin.id, StudyCheckin.evidence).where(StudyCheckin.id.in_(chunk)))
        kinds.update({int(i): str(kind) for i, kind in rows.all()})
    out = {}
    for entry in entries:
        if entry.source_type == "checkin":
            found = kinds.get(int(entry.source_id)) if entry.source_id.isdigit() else None
            out[entry.id] = found or "self_report"
        else:
            out[entry.id] = entry.source_type
    return out


async def points_by_evidence(session: AsyncSession, *, period: Period) -> dict[int, dict[str, int]]:
    """member id → {evidence kind: points} for the entries in the period (reversals count with their kind)."""
    entries = [e for e, _ in await ledger_entries(session, period=period)]
    evidence = await entry_evidence(session, entries=entries)
    table: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        table[entry.member_id][evidence[entry.id]] += entry.points
    return {m: dict(v) for m, v in table.items()}
def months_of(period: Period) -> list[date]:
    """The first day of every month the period covers."""
    months, day = [], period.start
    while day < period.end:
        months.append(day)
        day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
    return months


async def monthly_totals(session: AsyncSession, *, period: Period) -> list[tuple[date, int]]:
    """Points per month of the period, of the members ``report_rows`` counts (active, role member)."""
    rows = await session.execute(
        select(CreditEntry.activity_date, CreditEntry.points)
        .join(Member, Member.id == CreditEntry.member_id)
        .where(CreditEntry.activity_date >= period.start, CreditEntry.activity_date < period.end,
               Member.active.is_(True), Member.role == Role.MEMBER.value)
    )
    totals = {month: 0 for month in months_of(period)}
    for day, points in rows.all():
        totals[day.replace(day=1)] += int(points)
    return list(totals.items())
