"""The weekly learning-push planner: which material each member is sent this week, and when.

Pure (no database, no Telegram): the store loads plain inputs (``PlanMember``, ``PlanMaterial``) and saves
the ``PlannedPush`` rows this returns.

For each member, candidates are the materials they have neither read nor been pushed before and that touch
none of their blocked topics (不再推送此主题). They are ranked in tiers:

1. ``required`` — required reading whose window is open and that the member has not finished;
2. ``wrong`` — materials on the topics of the member's wrong quiz answers (more wrong answers on the
   material's topics first);
3. ``topic`` — materials on the member's chosen topics (more shared topics first);
4. ``new`` — any other material, newest first.

Ties go to the newer material, then the smaller id, so a plan is deterministic. At most ``cap`` pushes per
member per week, less what they were already pushed this week.

Times: each member's pushes are spread over the remaining days of the week (one day apart at least when
there are enough days), at a minute of the daytime window derived from the member id, so the week's pushes
reach the sender a few per minute rather than all at once; a slot sooner than ``lead`` after ``now`` (planning
mid-week, a freshly started bot) moves to the same minute of a later day, so nothing goes out in a burst; a
time inside the member's quiet hours moves to their end (``store.preferences.next_allowed_time``). The
sender checks quiet hours again at send time.

Speed: materials are indexed by topic once; a member only scores the materials of their own topics and
wrong-answer topics, and the ``new`` tier walks one list sorted newest-first, stopping at the cap.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from store.preferences import Prefs, in_quiet_hours, next_allowed_time

Reason = Literal["required", "wrong", "topic", "new"]
REASONS: tuple[Reason, ...] = ("required", "wrong", "topic", "new")
_TIER: dict[Reason, int] = {reason: i for i, reason in enumerate(REASONS)}

DEFAULT_DAY_START = time(9, 0)
DEFAULT_DAY_END = time(20, 0)


@dataclass(frozen=True)
class PlanMaterial:
    id: int
    topics: frozenset[str]
    created_at: datetime
    required_from: datetime | None = None  # required reading: open from …
    required_until: datetime | None = None  # … until (None: no end)
    required: bool = False

    def required_open(self, at: datetime) -> bool:
        if not self.required:
            return False
        if self.required_from is not None and at < self.required_from:
            return False
        return self.required_until is None or at <= self.required_until


@dataclass(frozen=True)
class PlanMember:
    id: int
    topics: frozenset[str] = frozenset()
    blocked_topics: frozenset[str] = frozenset()
    prefs: Prefs = field(default_factory=Prefs)
    pushed_this_week: int = 0
    seen: frozenset[int] = frozenset()  # material ids read (opened or finished) or pushed before
    wrong_topics: Mapping[str, int] = field(default_factory=dict)  # topic → wrong quiz answers
    finished_required: frozenset[int] = frozenset()  # required materials already finished
    cap: int | None = None  # a per-member cap; None: the configured one


@dataclass(frozen=True)
class PlannedPush:
    member_id: int
    material_id: int
    send_at: datetime  # aware UTC
    reason: Reason
    topic: str | None  # the topic that made it fit (the one 不再推送此主题 stops); None for ``new``


@dataclass(frozen=True)
class PlanOptions:
    cap: int = 2
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    day_start: time = DEFAULT_DAY_START
    day_end: time = DEFAULT_DAY_END
    lead: timedelta = timedelta(hours=1)  # nothing is planned sooner than this after ``now``


def week_start(at: datetime, tz: ZoneInfo) -> datetime:
    """Monday 00:00 local of the week holding ``at``, as aware UTC."""
    local = at.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0, 0), tzinfo=tz).astimezone(UTC)


def next_week_start(at: datetime, tz: ZoneInfo) -> datetime:
    local = week_start(at, tz).astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=7), time(0, 0), tzinfo=tz).astimezone(UTC)


class _Index:
    """Materials by topic, each list sorted best-first (newest, then smallest id)."""

    def __init__(self, materials: Sequence[PlanMaterial], week_from: datetime) -> None:
        ordered = sorted(materials, key=lambda m: (-m.created_at.timestamp(), m.id))
        self.rank = {m.id: i for i, m in enumerate(ordered)}  # 0 = newest
        self.ordered = ordered
        self.by_id = {m.id: m for m in ordered}
        self.by_topic: dict[str, list[PlanMaterial]] = {}
        for m in ordered:
            for topic in m.topics:
                self.by_topic.setdefault(topic, []).append(m)
        self.ids_by_topic = {topic: frozenset(m.id for m in ms) for topic, ms in self.by_topic.items()}
        self.required = [m for m in ordered if m.required_open(week_from)]


def _first_topic(material: PlanMaterial, preferred: Iterable[str]) -> str | None:
    """The topic to name for a push: the first of ``preferred`` the material has, else its first topic."""
    for topic in preferred:
        if topic in material.topics:
            return topic
    return min(material.topics) if material.topics else None


def choose(member: PlanMember, index: _Index, *, cap: int) -> list[tuple[PlanMaterial, Reason, str | None]]:
    """The member's materials for the week, best first (at most ``cap`` less what was pushed already)."""
    room = (member.cap if member.cap is not None else cap) - member.pushed_this_week
    if room <= 0:
        return []
    blocked = member.blocked_topics
    excluded = set(member.seen) | member.finished_required
    if blocked:
        for topic in blocked:
            excluded.update(index.ids_by_topic.get(topic, ()))
    chosen: list[tuple[PlanMaterial, Reason, str | None]] = []

    def take(candidates: Sequence[tuple[tuple[int, ...], PlanMaterial]], reason: Reason,
             preferred: Sequence[str]) -> None:
        for _, material in heapq.nsmallest(room - len(chosen), candidates, key=lambda c: c[0]):
            chosen.append((material, reason, _first_topic(material, preferred)))
            excluded.add(material.id)

    # 1. required and due
    required = [((index.rank[m.id],), m) for m in index.required
                if m.id not in excluded and m.id not in member.finished_required]
    if required:
        take(required, "required", ())
    # 2. wrong-answer topics: more wrong answers on the material's topics first
    if len(chosen) < room and member.wrong_topics:
        weights: dict[int, int] = {}
        for topic, count in member.wrong_topics.items():
            if topic in blocked:
                continue
            for m in index.by_topic.get(topic, ()):
                if m.id not in excluded:
                    weights[m.id] = weights.get(m.id, 0) + count
        if weights:
            preferred = sorted(member.wrong_topics, key=lambda t: (-member.wrong_topics[t], t))
            take([((-w, index.rank[mid]), index.by_id[mid]) for mid, w in weights.items()], "wrong", preferred)
    # 3. the member's topics: more shared topics first
    if len(chosen) < room and member.topics:
        shared: dict[int, int] = {}
        for topic in member.topics:
            for m in index.by_topic.get(topic, ()):
                if m.id not in excluded:
                    shared[m.id] = shared.get(m.id, 0) + 1
        if shared:
            take([((-n, index.rank[mid]), index.by_id[mid]) for mid, n in shared.items()], "topic",
                 sorted(member.topics))
    # 4. anything new, newest first
    if len(chosen) < room:
        for m in index.ordered:
            if m.id not in excluded:
                chosen.append((m, "new", _first_topic(m, ())))
                excluded.add(m.id)
                if len(chosen) >= room:
                    break
    return chosen


def _spread(member_id: int, count: int, n_days: int, options: PlanOptions) -> list[tuple[int, int]]:
    """``count`` (day index, local minute of the day) slots for one member over ``n_days`` days."""
    start_min = options.day_start.hour * 60 + options.day_start.minute
    end_min = options.day_end.hour * 60 + options.day_end.minute
    window = max(1, end_min - start_min)
    # Knuth's multiplicative hash: consecutive ids land far apart in the day and the week.
    h = (member_id * 2654435761) & 0xFFFFFFFF
    first_day = h % n_days
    offset = (h >> 8) % window
    step = max(1, n_days // count) if count else 1
    slots = []
    for j in range(count):
        slot = first_day + j * step
        extra = (slot // n_days) * (window // max(1, count))  # more pushes than days: later in the day
        slots.append((slot % n_days, start_min + (offset + extra) % window))
    return slots


def plan_week(members: Iterable[PlanMember], materials: Sequence[PlanMaterial], *, week_from: datetime,
              now: datetime, options: PlanOptions) -> list[PlannedPush]:
    """The pushes of the week starting at ``week_from`` (a local Monday 00:00, aware), none before ``now``."""
    tz = options.tz
    index = _Index(materials, max(week_from, now))
    monday = week_from.astimezone(tz).date()
    today = now.astimezone(tz)
    days: list[date] = []
    for d in range(7):
        local_day = monday + timedelta(days=d)
        if datetime.combine(local_day, options.day_end, tzinfo=tz) > today:
            days.append(local_day)
    week_end = datetime.combine(monday + timedelta(days=7), time(0, 0), tzinfo=tz).astimezone(UTC)
    if not days:
        return []
    # (day, minute) → the UTC instant, computed once (wall-clock times, DST-safe), and local times by minute
    instants: dict[tuple[int, int], datetime] = {}
    not_before = now + options.lead
    clock_times = [time(m // 60, m % 60) for m in range(24 * 60)]
    plan: list[PlannedPush] = []
    for member in members:
        picks = choose(member, index, cap=options.cap)
        if not picks:
            continue
        times: list[datetime] = []
        for slot_day, minute in _spread(member.id, len(picks), len(days), options):
            at = None
            day = slot_day
            while day < len(days):  # a slot too soon (planning mid-week): the same minute on a later day
                key = (day, minute)
                at = instants.get(key)
                if at is None:
                    at = instants[key] = datetime.combine(days[day], clock_times[minute], tzinfo=tz).astimezone(UTC)
                if at >= not_before:
                    break
                day, at = day + 1, None
            if at is None:
                at = week_end  # no day left this week
            elif in_quiet_hours(member.prefs, clock_times[minute]):
                at = next_allowed_time(member.prefs, at, tz)
            times.append(at)
        times.sort()
        for (material, reason, topic), send_at in zip(picks, times, strict=True):
            if send_at >= week_end:  # no room left this week (quiet, or too late): next week's plan has it
                continue
            plan.append(PlannedPush(member.id, material.id, send_at, reason, topic))
    return plan


def check_plan(plan: Sequence[PlannedPush], members: Sequence[PlanMember], *, cap: int,
               tz: ZoneInfo) -> list[str]:
    """Problems with a plan (repeats, caps, seen or blocked material, quiet hours); empty when it is sound."""
    by_member = {m.id: m for m in members}
    problems: list[str] = []
    pairs: set[tuple[int, int]] = set()
    counts: dict[int, int] = {}
    for p in plan:
        m = by_member[p.member_id]
        if (p.member_id, p.material_id) in pairs:
            problems.append(f"member {p.member_id}: material {p.material_id} twice")
        pairs.add((p.member_id, p.material_id))
        counts[p.member_id] = counts.get(p.member_id, 0) + 1
        if p.material_id in m.seen:
            problems.append(f"member {p.member_id}: material {p.material_id} already read or pushed")
        if in_quiet_hours(m.prefs, p.send_at.astimezone(tz).time()):
            problems.append(f"member {p.member_id}: push at {p.send_at} in quiet hours")
    for mid, n in counts.items():
        m = by_member[mid]
        if n + m.pushed_this_week > (m.cap if m.cap is not None else cap):
            problems.append(f"member {mid}: {n} pushes over the cap")
    return problems
