"""What staff see of the learning library: per material and per member (the console's 学习 page, /stats)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.learning import quiz_links
from store.learning.materials import all_materials, required
from store.learning.quiz_links import Accuracy
from store.models import LearningMaterial, MaterialReading, Member, Role


@dataclass(frozen=True)
class MaterialStats:
    material: LearningMaterial
    opened: int
    finished: int
    median_seconds: int | None  # of the finished readings
    quiz: Accuracy | None = None  # answers to the quiz questions citing its document


@dataclass
class MemberLearning:
    member: Member
    finished: int = 0
    seconds: int = 0
    required_missing: list[LearningMaterial] = field(default_factory=list)
    quiz_by_topic: dict[str, Accuracy] = field(default_factory=dict)  # their quiz answers, by library topic


@dataclass(frozen=True)
class Overview:
    materials: int
    opened: int
    finished: int
    median_seconds: int | None
    required_missing_members: int  # members with at least one required material not finished


async def _readings(session: AsyncSession) -> list[MaterialReading]:
    return list(await session.scalars(select(MaterialReading)))


async def material_stats(session: AsyncSession) -> list[MaterialStats]:
    """Every material (newest first) with how many opened and finished it and the median reading time."""
    by_material: dict[int, list[MaterialReading]] = defaultdict(list)
    for reading in await _readings(session):
        by_material[reading.material_id].append(reading)
    quiz = await quiz_links.accuracy_by_material(session)
    out = []
    for material in await all_materials(session):
        readings = by_material.get(material.id, [])
        times = [r.read_seconds for r in readings if r.finished_at is not None and r.read_seconds is not None]
        out.append(MaterialStats(material, len(readings), sum(1 for r in readings if r.finished_at is not None),
                                 int(statistics.median(times)) if times else None, quiz.get(material.id)))
    return out


async def member_stats(session: AsyncSession, *, today: date) -> list[MemberLearning]:
    """Every active member (role member): materials finished, learning time, required reading missing."""
    members = list(await session.scalars(
        select(Member).where(Member.active.is_(True), Member.role == Role.MEMBER.value).order_by(Member.id)))
    due = await required(session, today=today)
    rows = {m.id: MemberLearning(m) for m in members}
    done: dict[int, set[int]] = defaultdict(set)
    for reading in await _readings(session):
        row = rows.get(reading.member_id)
        if row is None or reading.finished_at is None:
            continue
        row.finished += 1
        row.seconds += reading.read_seconds or 0
        done[reading.member_id].add(reading.material_id)
    quiz = await quiz_links.accuracy_by_member_topic(session)
    for member_id, row in rows.items():
        row.required_missing = [m for m in due if m.id not in done[member_id]]
        row.quiz_by_topic = dict(sorted(quiz.get(member_id, {}).items()))
    return list(rows.values())


async def overview(session: AsyncSession, *, today: date) -> Overview:
    """The library in a few numbers (/stats)."""
    per_material = await material_stats(session)
    times = [r.read_seconds for r in await _readings(session)
             if r.finished_at is not None and r.read_seconds is not None]
    members = await member_stats(session, today=today)
    return Overview(
        materials=sum(1 for s in per_material if s.material.active),
        opened=sum(s.opened for s in per_material),
        finished=sum(s.finished for s in per_material),
        median_seconds=int(statistics.median(times)) if times else None,
        required_missing_members=sum(1 for m in members if m.required_missing),
    )
