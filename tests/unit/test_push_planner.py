"""The weekly push planner (pure): ranking, caps, no repeats, blocked topics, quiet hours, spread."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from store.learning.planner import (
    PlanMaterial,
    PlanMember,
    PlanOptions,
    check_plan,
    next_week_start,
    plan_week,
    week_start,
)
from store.preferences import Prefs, in_quiet_hours

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # Monday 7 Dec 2026, 00:00 in Shanghai
OPTIONS = PlanOptions(cap=2, tz=TZ)


def material(mid: int, *topics: str, age_days: int = 10, required: bool = False) -> PlanMaterial:
    return PlanMaterial(id=mid, topics=frozenset(topics), created_at=MONDAY - timedelta(days=age_days),
                         required=required, required_from=MONDAY - timedelta(days=30) if required else None,
                         required_until=MONDAY + timedelta(days=30) if required else None)


def plan(members: list[PlanMember], materials: list[PlanMaterial], *, now: datetime = MONDAY,
         options: PlanOptions = OPTIONS) -> list:
    return plan_week(members, materials, week_from=week_start(now, TZ), now=now, options=options)


def test_week_boundaries_are_local_mondays() -> None:
    wednesday = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)
    assert week_start(wednesday, TZ) == MONDAY
    assert next_week_start(wednesday, TZ) == MONDAY + timedelta(days=7)
    # Sunday 23:30 local still belongs to the week that started on Monday
    assert week_start(datetime(2026, 12, 13, 15, 30, tzinfo=UTC), TZ) == MONDAY


def test_tiers_required_then_wrong_answers_then_topics_then_new() -> None:
    materials = [material(1, "经济"), material(2, "民生"), material(3, "生态", required=True),
                 material(4, "法治", age_days=1), material(5, "其他", age_days=0)]
    member = PlanMember(id=7, topics=frozenset({"经济"}), wrong_topics={"民生": 2})
    picks = plan([member], materials, options=PlanOptions(cap=4, tz=TZ))
    assert [(p.material_id, p.reason, p.topic) for p in sorted(picks, key=lambda p: p.send_at)] == [
        (3, "required", "生态"), (2, "wrong", "民生"), (1, "topic", "经济"), (5, "new", "其他")]


def test_topic_and_wrong_answer_with_cap_two() -> None:
    materials = [material(1, "经济"), material(2, "民生"), material(3, "法治", age_days=0)]
    member = PlanMember(id=1, topics=frozenset({"经济"}), wrong_topics={"民生": 1})
    picks = plan([member], materials)
    assert {(p.material_id, p.reason) for p in picks} == {(1, "topic"), (2, "wrong")}


def test_more_wrong_answers_and_more_shared_topics_rank_higher() -> None:
    materials = [material(1, "甲"), material(2, "乙"), material(3, "甲", "乙", age_days=300)]
    wrong = PlanMember(id=1, wrong_topics={"甲": 1, "乙": 3})
    assert [p.material_id for p in plan([wrong], materials, options=PlanOptions(cap=1, tz=TZ))] == [3]
    wrong2 = PlanMember(id=1, wrong_topics={"甲": 5, "乙": 1}, seen=frozenset({3}))
    assert [p.material_id for p in plan([wrong2], materials, options=PlanOptions(cap=1, tz=TZ))] == [1]
    topics = PlanMember(id=2, topics=frozenset({"甲", "乙"}))
    assert [p.material_id for p in plan([topics], materials, options=PlanOptions(cap=1, tz=TZ))] == [3]


def test_ties_go_to_newer_then_smaller_id() -> None:
    materials = [material(5, "甲", age_days=3), material(4, "甲", age_days=3), material(9, "甲", age_days=1)]
    member = PlanMember(id=1, topics=frozenset({"甲"}))
    picks = plan([member], materials, options=PlanOptions(cap=3, tz=TZ))
    assert [p.material_id for p in sorted(picks, key=lambda p: p.send_at)] == [9, 4, 5]


def test_seen_blocked_finished_and_cap_already_used() -> None:
    materials = [material(1, "经济"), material(2, "经济", "民生"), material(3, "生态", required=True),
                 material(4, "法治")]
    member = PlanMember(id=1, topics=frozenset({"经济"}), blocked_topics=frozenset({"民生"}), seen=frozenset({1}),
                         finished_required=frozenset({3}), pushed_this_week=1)
    picks = plan([member], materials)
    assert [(p.material_id, p.reason) for p in picks] == [(4, "new")]
    full = PlanMember(id=2, pushed_this_week=2)
    assert plan([full], materials) == []
    own_cap = PlanMember(id=3, cap=0)
    assert plan([own_cap], materials) == []


def test_required_outside_its_window_is_not_required() -> None:
    closed = PlanMaterial(id=1, topics=frozenset({"甲"}), created_at=MONDAY - timedelta(days=100), required=True,
                           required_from=MONDAY - timedelta(days=90), required_until=MONDAY - timedelta(days=1))
    later = PlanMaterial(id=2, topics=frozenset({"乙"}), created_at=MONDAY - timedelta(days=100), required=True,
                          required_from=MONDAY + timedelta(days=10))
    picks = plan([PlanMember(id=1)], [closed, later], options=PlanOptions(cap=2, tz=TZ))
    assert {p.reason for p in picks} == {"new"}


def test_pushes_avoid_quiet_hours_and_spread_over_days() -> None:
    materials = [material(i, "甲", age_days=i) for i in range(1, 6)]
    # quiet all day except 20:00-21:00
    member = PlanMember(id=11, topics=frozenset({"甲"}), prefs=Prefs(quiet_start=time(21, 0), quiet_end=time(20, 0)))
    picks = plan([member], materials)
    assert len(picks) == 2
    for p in picks:
        local = p.send_at.astimezone(TZ)
        assert not in_quiet_hours(member.prefs, local.time())
        assert local.hour == 20
    days = {p.send_at.astimezone(TZ).date() for p in picks}
    assert len(days) == 2


def test_planning_mid_week_starts_now_and_never_in_the_past() -> None:
    thursday_noon = MONDAY + timedelta(days=3, hours=12)
    materials = [material(i, "甲", age_days=i) for i in range(1, 4)]
    members = [PlanMember(id=i, topics=frozenset({"甲"})) for i in range(1, 50)]
    picks = plan(members, materials, now=thursday_noon)
    assert picks and all(thursday_noon + timedelta(hours=1) <= p.send_at < MONDAY + timedelta(days=7) for p in picks)
    assert len(picks) == 2 * 49  # slots already past moved to a later day, none lost


def test_many_members_are_spread_over_the_week() -> None:
    materials = [material(i, "甲", age_days=i) for i in range(1, 10)]
    members = [PlanMember(id=i) for i in range(1, 701)]
    picks = plan(members, materials)
    per_hour: dict[datetime, int] = {}
    for p in picks:
        hour = p.send_at.replace(minute=0, second=0, microsecond=0)
        per_hour[hour] = per_hour.get(hour, 0) + 1
    assert len({p.send_at.astimezone(TZ).date() for p in picks}) == 7
    assert max(per_hour.values()) < len(picks) / 20


TOPICS = ["甲", "乙", "丙", "丁", "戊"]
topic_sets = st.frozensets(st.sampled_from(TOPICS), max_size=3)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[PlanMember], list[PlanMaterial], int, datetime]:
    n_materials = draw(st.integers(0, 12))
    materials = [PlanMaterial(id=i, topics=draw(topic_sets), required=draw(st.booleans()),
                              created_at=MONDAY - timedelta(days=draw(st.integers(0, 50))))
                 for i in range(1, n_materials + 1)]
    ids = list(range(1, n_materials + 1))
    members = []
    for mid in range(1, draw(st.integers(1, 8)) + 1):
        quiet = draw(st.tuples(st.integers(0, 23), st.integers(0, 23)))
        members.append(PlanMember(
            id=mid * draw(st.integers(1, 997)) * 1000 + mid,
            topics=draw(topic_sets), blocked_topics=draw(topic_sets),
            prefs=Prefs(quiet_enabled=draw(st.booleans()), quiet_start=time(quiet[0]), quiet_end=time(quiet[1])),
            pushed_this_week=draw(st.integers(0, 3)),
            seen=frozenset(draw(st.lists(st.sampled_from(ids), max_size=6))) if ids else frozenset(),
            wrong_topics=draw(st.dictionaries(st.sampled_from(TOPICS), st.integers(1, 5), max_size=3)),
        ))
    cap = draw(st.integers(0, 4))
    now = MONDAY + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60 - 1)))
    return members, materials, cap, now


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_property_caps_no_repeats_quiet_hours_blocked(scenario: tuple[list[PlanMember], list[PlanMaterial],
                                                                         int, datetime]) -> None:
    members, materials, cap, now = scenario
    options = PlanOptions(cap=cap, tz=TZ)
    picks = plan_week(members, materials, week_from=MONDAY, now=now, options=options)
    assert check_plan(picks, members, cap=cap, tz=TZ) == []
    by_material = {m.id: m for m in materials}
    by_member = {m.id: m for m in members}
    week_end = MONDAY + timedelta(days=7)
    for p in picks:
        assert not by_material[p.material_id].topics & by_member[p.member_id].blocked_topics
        assert now + timedelta(hours=1) <= p.send_at < week_end
    # a member with room and an unseen, unblocked material always gets something (unless always quiet)
    for m in members:
        room = cap - m.pushed_this_week
        open_ = [x for x in materials if x.id not in m.seen and not x.topics & m.blocked_topics]
        if room > 0 and open_ and not m.prefs.quiet_enabled and now < week_end - timedelta(days=1, hours=12):
            assert any(p.member_id == m.id for p in picks)
