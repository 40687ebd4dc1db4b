"""Learning pushes (学习推送): load the planner's inputs, save a week's plan, claim and record sends, 不再推送此主题.

The same functions serve the bot's weekly planning job and sender, the console's preview and the CLI
(``cppcc-bot learning plan``), so staff see exactly what members will get.

Inputs are loaded in a fixed number of queries whatever the size of the committee: bound active members,
their preferences, blocked topics, readings, earlier pushes, active materials, and wrong-answer topics
(``WrongTopics``, a function given by the caller: the quiz feature's, or none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import preferences
from store.learning import quiz_links
from store.learning.planner import (
    PlanMaterial,
    PlanMember,
    PlannedPush,
    PlanOptions,
    plan_week,
)
from store.models import (
    LearningMaterial,
    LearningPush,
    LearningPushBlock,
    MaterialReading,
    Member,
    MemberPreference,
)

# member id → {topic: number of wrong quiz answers on it}
WrongTopics = Callable[[AsyncSession], Awaitable[dict[int, dict[str, int]]]]


async def no_wrong_topics(session: AsyncSession) -> dict[int, dict[str, int]]:
    """A wrong-answer source where nobody has wrong answers (tests that give their own)."""
    return {}


@dataclass(frozen=True)
class LearningPushConfig:
    """What the learning pushes need from the settings (``services.config(LearningPushConfig)``)."""

    per_week: int = 2  # LEARNING_PUSHES_PER_WEEK
    day_start: time = time(9, 0)  # pushes are planned between these local times (then moved out of quiet hours)
    day_end: time = time(20, 0)
    tick_seconds: float = 60.0  # how often the sender looks for due pushes
    batch: int = 50  # pushes claimed per sender pass
    stale_after: float = 600.0  # a ``sending`` row older than this belongs to a dead sender
    wrong_topics: WrongTopics = quiz_links.wrong_topics  # the topics of each member's wrong quiz answers

    def options(self, tz: ZoneInfo) -> PlanOptions:
        return PlanOptions(cap=self.per_week, tz=tz, day_start=self.day_start, day_end=self.day_end)


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def material_input(material: LearningMaterial, tz: ZoneInfo) -> PlanMaterial:
    """A material as the planner sees it (a required period of dates → local midnights, end inclusive)."""
    required = material.required_from is not None and material.required_until is not None
    return PlanMaterial(
        id=material.id,
        topics=frozenset(str(t) for t in (material.topics or ())),
        created_at=material.created_at,
        required=required,
        required_from=_local_start(material.required_from, tz) if material.required_from else None,
        required_until=(_local_start(material.required_until + timedelta(days=1), tz) - timedelta(microseconds=1)
                        if material.required_until else None),
    )


@dataclass
class Inputs:
    members: list[PlanMember] = field(default_factory=list)
    materials: list[PlanMaterial] = field(default_factory=list)


async def load_inputs(
    session: AsyncSession, *, week_from: datetime, defaults: preferences.PrefsDefaults, tz: ZoneInfo,
    wrong_topics: WrongTopics = quiz_links.wrong_topics, exclude_planned_of_week: bool = False,
) -> Inputs:
    """Everything the planner needs for the week starting at ``week_from``, in seven queries.

    ``exclude_planned_of_week``: rows still ``planned`` in that week are not counted (they are about to be
    replaced: a preview, or planning the week again).
    """
    members = list((await session.execute(
        select(Member.id).where(Member.active.is_(True), Member.telegram_id.is_not(None)).order_by(Member.id)
    )).scalars())
    prefs_rows = {r.member_id: r for r in await session.scalars(select(MemberPreference))}
    blocks: dict[int, set[str]] = defaultdict(set)
    for member_id, topic in await session.execute(select(LearningPushBlock.member_id, LearningPushBlock.topic)):
        blocks[member_id].add(topic)
    seen: dict[int, set[int]] = defaultdict(set)
    finished: dict[int, set[int]] = defaultdict(set)
    for member_id, material_id, finished_at in await session.execute(
        select(MaterialReading.member_id, MaterialReading.material_id, MaterialReading.finished_at)
    ):
        seen[member_id].add(material_id)
        if finished_at is not None:
            finished[member_id].add(material_id)
    this_week: dict[int, int] = defaultdict(int)
    for member_id, material_id, week, status in await session.execute(
        select(LearningPush.member_id, LearningPush.material_id, LearningPush.week_start, LearningPush.status)
    ):
        if exclude_planned_of_week and status == "planned" and week == week_from:
            continue
        seen[member_id].add(material_id)
        if week == week_from and status != "skipped":
            this_week[member_id] += 1
    materials = [material_input(m, tz) for m in await session.scalars(
        select(LearningMaterial).where(LearningMaterial.active.is_(True))
    )]
    wrong = await wrong_topics(session)
    result = Inputs(materials=materials)
    for member_id in members:
        prefs = preferences.from_row(prefs_rows.get(member_id), defaults)
        result.members.append(PlanMember(
            id=member_id,
            topics=frozenset(prefs.topics),
            blocked_topics=frozenset(blocks.get(member_id, ())),
            prefs=prefs,
            pushed_this_week=this_week.get(member_id, 0),
            seen=frozenset(seen.get(member_id, ())),
            wrong_topics=dict(wrong.get(member_id, {})),
            finished_required=frozenset(finished.get(member_id, ())),
        ))
    return result


async def compute_plan(
    session: AsyncSession, *, week_from: datetime, now: datetime, config: LearningPushConfig,
    defaults: preferences.PrefsDefaults, tz: ZoneInfo, wrong_topics: WrongTopics = quiz_links.wrong_topics,
) -> list[PlannedPush]:
    """The plan of the week starting at ``week_from`` as it would be made now (nothing is saved)."""
    inputs = await load_inputs(session, week_from=week_from, defaults=defaults, tz=tz, wrong_topics=wrong_topics,
                               exclude_planned_of_week=True)
    return plan_week(inputs.members, inputs.materials, week_from=week_from, now=now, options=config.options(tz))


async def plan_and_save(
    session: AsyncSession, *, week_from: datetime, now: datetime, config: LearningPushConfig,
    defaults: preferences.PrefsDefaults, tz: ZoneInfo, wrong_topics: WrongTopics = quiz_links.wrong_topics,
) -> int:
    """Plan the week and save it as ``planned`` rows (replacing the week's rows not yet sent); returns how many."""
    await session.execute(delete(LearningPush).where(LearningPush.week_start == week_from,
                                                     LearningPush.status == "planned"))
    plan = await compute_plan(session, week_from=week_from, now=now, config=config, defaults=defaults, tz=tz,
                              wrong_topics=wrong_topics)
    if plan:
        await session.execute(insert(LearningPush), [
            {"member_id": p.member_id, "material_id": p.material_id, "week_start": week_from,
             "planned_at": p.send_at, "reason": p.reason, "topic": p.topic, "status": "planned", "created_at": now}
            for p in plan
        ])
    await session.flush()
    return len(plan)


@dataclass(frozen=True)
class PreviewRow:
    member_id: int
    member_name: str
    material_id: int
    material_title: str
    send_at: datetime
    reason: str
    topic: str | None


async def describe(session: AsyncSession, plan: Sequence[PlannedPush]) -> list[PreviewRow]:
    """Names and titles for a plan (two queries), ordered by send time."""
    names: dict[int, str] = {}
    titles: dict[int, str] = {}
    if plan:
        names = dict((await session.execute(
            select(Member.id, Member.name).where(Member.id.in_({p.member_id for p in plan}))
        )).all())
        titles = dict((await session.execute(
            select(LearningMaterial.id, LearningMaterial.title)
            .where(LearningMaterial.id.in_({p.material_id for p in plan}))
        )).all())
    rows = [PreviewRow(p.member_id, names.get(p.member_id, ""), p.material_id, titles.get(p.material_id, ""),
                       p.send_at, p.reason, p.topic) for p in plan]
    return sorted(rows, key=lambda r: (r.send_at, r.member_id))


# --- sending -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuePush:
    push_id: int
    member_id: int
    chat_id: int | None
    material_id: int
    title: str
    estimated_minutes: int
    reason: str
    topic: str | None
    required_label: str | None
    pushable: bool  # member active and bound, material active, topic not blocked


async def recover_stale(session: AsyncSession, *, now: datetime, stale_after: float) -> int:
    """Return ``sending`` rows of a dead sender to ``planned`` (the member may get that push twice)."""
    result = await session.execute(
        update(LearningPush)
        .where(LearningPush.status == "sending", LearningPush.claimed_at < now - timedelta(seconds=stale_after))
        .values(status="planned", claim_token=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(session: AsyncSession, *, now: datetime, token: str, limit: int) -> list[DuePush]:
    """Move up to ``limit`` planned rows due at ``now`` to ``sending`` under ``token``; the caller commits at once."""
    stmt = (select(LearningPush.id).where(LearningPush.status == "planned", LearningPush.planned_at <= now)
            .order_by(LearningPush.planned_at, LearningPush.id).limit(limit))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(await session.scalars(stmt))
    if not ids:
        return []
    await session.execute(
        update(LearningPush).where(LearningPush.id.in_(ids), LearningPush.status == "planned")
        .values(status="sending", claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(
        select(LearningPush, Member, LearningMaterial)
        .join(Member, Member.id == LearningPush.member_id)
        .join(LearningMaterial, LearningMaterial.id == LearningPush.material_id)
        .where(LearningPush.id.in_(ids), LearningPush.claim_token == token, LearningPush.status == "sending")
        .order_by(LearningPush.planned_at, LearningPush.id)
    )).all()
    blocked = await _blocks_of(session, {push.member_id for push, _, _ in rows})
    due = []
    for push, member, material in rows:
        stopped = bool(set(material.topics or ()) & blocked.get(push.member_id, set()))
        due.append(DuePush(
            push_id=push.id, member_id=member.id, chat_id=member.telegram_id, material_id=material.id,
            title=material.title, estimated_minutes=material.estimated_minutes, reason=push.reason,
            topic=push.topic, required_label=material.required_label,
            pushable=member.active and member.telegram_id is not None and material.active and not stopped,
        ))
    return due


async def _blocks_of(session: AsyncSession, member_ids: Iterable[int]) -> dict[int, set[str]]:
    ids = list(member_ids)
    found: dict[int, set[str]] = defaultdict(set)
    if ids:
        for member_id, topic in await session.execute(
            select(LearningPushBlock.member_id, LearningPushBlock.topic).where(LearningPushBlock.member_id.in_(ids))
        ):
            found[member_id].add(topic)
    return found


async def defer(session: AsyncSession, *, push_id: int, token: str, until: datetime) -> None:
    """Quiet hours at send time: back to ``planned`` for when they end."""
    await session.execute(
        update(LearningPush).where(LearningPush.id == push_id, LearningPush.claim_token == token,
                                   LearningPush.status == "sending")
        .values(status="planned", planned_at=until, claim_token=None)
        .execution_options(synchronize_session=False)
    )


async def record(session: AsyncSession, *, push_id: int, token: str, status: str, now: datetime,
                 error: str | None = None) -> None:
    """``sending → sent|failed|skipped`` for a row still held by ``token``."""
    await session.execute(
        update(LearningPush).where(LearningPush.id == push_id, LearningPush.claim_token == token,
                                   LearningPush.status == "sending")
        .values(status=status, sent_at=now if status == "sent" else None, error=(error or None) and error[:200])
        .execution_options(synchronize_session=False)
    )


# --- 不再推送此主题 ------------------------------------------------------------------------------------------


async def push_of(session: AsyncSession, *, push_id: int, member_id: int) -> LearningPush | None:
    """The member's own push (None for another member's id: a forged button)."""
    push = await session.get(LearningPush, push_id)
    return push if push is not None and push.member_id == member_id else None


async def block_topic(session: AsyncSession, *, member_id: int, topic: str, now: datetime) -> bool:
    """Stop pushes on ``topic`` for the member (planned ones are skipped); False when it was stopped already."""
    planned = (await session.execute(
        select(LearningPush.id, LearningMaterial.topics)
        .join(LearningMaterial, LearningMaterial.id == LearningPush.material_id)
        .where(LearningPush.member_id == member_id, LearningPush.status == "planned")
    )).all()
    stop = [push_id for push_id, topics in planned if topic in (topics or ())]  # JSON filtered here, as elsewhere
    if stop:
        await session.execute(
            update(LearningPush).where(LearningPush.id.in_(stop), LearningPush.status == "planned")
            .values(status="skipped", error="topic stopped")
            .execution_options(synchronize_session=False)
        )
    exists = await session.get(LearningPushBlock, (member_id, topic))
    if exists is not None:
        return False
    try:
        async with session.begin_nested():  # a double tap on two workers: the second insert loses quietly
            session.add(LearningPushBlock(member_id=member_id, topic=topic, created_at=now))
    except IntegrityError:
        return False
    return True


async def blocked_topics(session: AsyncSession, *, member_id: int) -> list[str]:
    rows = await session.scalars(select(LearningPushBlock.topic).where(LearningPushBlock.member_id == member_id)
                                 .order_by(LearningPushBlock.created_at, LearningPushBlock.topic))
    return list(rows)


async def unblock_topic(session: AsyncSession, *, member_id: int, topic: str) -> bool:
    result = await session.execute(delete(LearningPushBlock).where(LearningPushBlock.member_id == member_id,
                                                                   LearningPushBlock.topic == topic))
    return bool(getattr(result, "rowcount", 0))


async def week_counts(session: AsyncSession, *, week_from: datetime) -> dict[str, int]:
    """Rows of a week by status (the console's summary)."""
    rows = await session.execute(select(LearningPush.status, func.count()).where(LearningPush.week_start == week_from)
                                 .group_by(LearningPush.status))
    return {status: int(n) for status, n in rows}


async def saved_plan(session: AsyncSession, *, week_from: datetime) -> list[PreviewRow]:
    """The saved rows of a week (any status), as the preview shows them."""
    rows = await session.execute(
        select(LearningPush, Member.name, LearningMaterial.title)
        .join(Member, Member.id == LearningPush.member_id)
        .join(LearningMaterial, LearningMaterial.id == LearningPush.material_id)
        .where(LearningPush.week_start == week_from)
        .order_by(LearningPush.planned_at, LearningPush.member_id)
    )
    return [PreviewRow(p.member_id, name, p.material_id, title, p.planned_at, p.reason, p.topic)
            for p, name, title in rows]
