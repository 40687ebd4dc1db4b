"""A member's reading of a material: open, turn pages, continue, and 学完打卡 through the credit rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.credits.awards import AwardResult, award
from store.credits.rules import CreditRules
from store.db import affected_rows
from store.learning.materials import pages_of
from store.models import LearningMaterial, MaterialReading, StudyCheckin
from store.models.base import table_of

EVIDENCE_READING = "reading"
EVIDENCE_SELF_REPORT = "self_report"


class ReadingError(Exception):
    """学完打卡 refused; ``code``: ``not_opened``, ``not_at_end``, ``already`` (also the loser of a double
    tap), ``no_rule``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def get_reading(session: AsyncSession, *, member_id: int, material_id: int) -> MaterialReading | None:
    return await session.scalar(select(MaterialReading).where(
        MaterialReading.member_id == member_id, MaterialReading.material_id == material_id))


async def open_page(
    session: AsyncSession, *, member_id: int, material: LearningMaterial, page: int, now: datetime
) -> MaterialReading:
    """Record that the member shows ``page`` (1-based, already validated) of ``material``; the first page
    shown opens the reading (its time counts from here)."""
    reading = await get_reading(session, member_id=member_id, material_id=material.id)
    if reading is None:
        reading = MaterialReading(member_id=member_id, material_id=material.id, opened_at=now, last_page=page,
                                  last_read_at=now)
        try:
            async with session.begin_nested():
                session.add(reading)
        except IntegrityError:  # opened at the same moment in another transaction
            found = await get_reading(session, member_id=member_id, material_id=material.id)
            if found is None:
                raise
            reading = found
        else:
            return reading
    reading.last_page = page
    reading.last_read_at = now
    await session.flush()
    return reading


async def in_progress(session: AsyncSession, *, member_id: int, limit: int = 8) -> list[MaterialReading]:
    """Readings opened and not finished (of active materials), the last read first: 继续学习."""
    return list(await session.scalars(
        select(MaterialReading).join(LearningMaterial, LearningMaterial.id == MaterialReading.material_id)
        .where(MaterialReading.member_id == member_id, MaterialReading.finished_at.is_(None),
               LearningMaterial.active.is_(True))
        .order_by(MaterialReading.last_read_at.desc(), MaterialReading.id.desc()).limit(limit)
    ))


async def readings_of(session: AsyncSession, *, member_id: int) -> dict[int, MaterialReading]:
    """material id → the member's reading (to mark lists: 已学 / 读到第k页)."""
    rows = await session.scalars(select(MaterialReading).where(MaterialReading.member_id == member_id))
    return {r.material_id: r for r in rows}


@dataclass(frozen=True)
class Finished:
    """What 学完打卡 recorded: the check-in, its ledger entry, the reading time and whether it counted in full."""

    checkin: StudyCheckin
    award: AwardResult
    read_seconds: int
    full: bool
    rule_id: str


async def finish(
    session: AsyncSession, *, member_id: int, material: LearningMaterial, rules: CreditRules, now: datetime,
    today: date,
) -> Finished:
    """学完打卡: mark the reading finished (once: a conditional UPDATE whose rowcount is checked, so the
    loser of a double tap on two workers records nothing), then a study check-in with the material as
    evidence and the points the rules give for the time between opening and finishing."""
    found = rules.first_of("checkin")
    if found is None:
        raise ReadingError("no_rule")
    rule_id, rule = found
    reading = await get_reading(session, member_id=member_id, material_id=material.id)
    if reading is None:
        raise ReadingError("not_opened")
    if reading.finished_at is not None:
        raise ReadingError("already")
    if reading.last_page < len(pages_of(material)):
        raise ReadingError("not_at_end")
    seconds = max(int((now - reading.opened_at).total_seconds()), 0)
    table = table_of(MaterialReading)
    result = await session.execute(
        update(table).where(table.c.id == reading.id, table.c.finished_at.is_(None))
        .values(finished_at=now, read_seconds=seconds).execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        raise ReadingError("already")
    requested, full = rules.reading_points(estimated_minutes=material.estimated_minutes, read_seconds=seconds)
    checkin = StudyCheckin(
        member_id=member_id, kind=rule_id, title=material.title,
        minutes=min(max(round(seconds / 60), 0), rule.max_minutes), study_date=today, backfill=False,
        created_at=now, evidence=EVIDENCE_READING, material_id=material.id,
    )
    session.add(checkin)
    await session.flush()
    awarded = await award(
        session, rules=rules, member_id=member_id, rule_id=rule_id, source_type="checkin",
        source_id=str(checkin.id), requested_points=requested, activity_date=today, at=now,
        title=material.title, note=None if full else "short_read",
    )
    await session.execute(update(table).where(table.c.id == reading.id).values(checkin_id=checkin.id)
                          .execution_options(synchronize_session=False))
    await session.refresh(reading)
    return Finished(checkin, awarded, seconds, full, rule_id)
