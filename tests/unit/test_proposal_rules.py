"""Pure proposal rules: every (state, action, actor) of the lifecycle, the three colours, text limits."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store.proposals import lifecycle
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Rating, State, Status
from store.proposals.text import (
    bigram_jaccard,
    content_problem,
    cosine,
    derive_title,
    looks_like_proposal,
    title_problem,
)
from store.proposals.warning import Warning, warning_for, warning_of

S, A = Status, Action
# Written out independently of the table: the only legal (status, action) pairs and who may do them.
LEGAL: dict[tuple[Status, Action], tuple[Actor, Status | None]] = {
    (S.SUBMITTED, A.ACCEPT): (Actor.STAFF, S.ACCEPTED),
    (S.SUBMITTED, A.REJECT): (Actor.STAFF, S.REJECTED),
    (S.SUBMITTED, A.WITHDRAW): (Actor.AUTHOR, S.WITHDRAWN),
    (S.SUBMITTED, A.MERGE): (Actor.STAFF, S.MERGED),
    (S.SUBMITTED, A.CONVERT): (Actor.STAFF, S.CONVERTED),
    (S.ACCEPTED, A.ASSIGN): (Actor.STAFF, S.ASSIGNED),
    (S.ACCEPTED, A.MERGE): (Actor.STAFF, S.MERGED),
    (S.ACCEPTED, A.CONVERT): (Actor.STAFF, S.CONVERTED),
    (S.ACCEPTED, A.ADOPT): (Actor.STAFF, S.ACCEPTED),
    (S.ASSIGNED, A.ASSIGN): (Actor.STAFF, S.ASSIGNED),
    (S.ASSIGNED, A.ANSWER): (Actor.STAFF, S.ANSWERED),
    (S.ASSIGNED, A.MERGE): (Actor.STAFF, S.MERGED),
    (S.ASSIGNED, A.ADOPT): (Actor.STAFF, S.ASSIGNED),
    (S.ANSWERED, A.RATE): (Actor.AUTHOR, None),  # depends on the rating
    (S.ANSWERED, A.ADOPT): (Actor.STAFF, S.ANSWERED),
    (S.CLOSED, A.ADOPT): (Actor.STAFF, S.CLOSED),
}


@pytest.mark.parametrize(("status", "action", "actor"), list(itertools.product(Status, Action, Actor)))
def test_every_state_action_actor(status: Status, action: Action, actor: Actor) -> None:
    state = State(status)
    expected = LEGAL.get((status, action))
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            lifecycle.decide(state, action, actor=actor, rating=Rating.SATISFIED)
        assert info.value.code == "not_allowed"
        assert action not in lifecycle.allowed_actions(state, actor)
        return
    who, target = expected
    if actor is not who:
        with pytest.raises(InvalidTransition) as info:
            lifecycle.decide(state, action, actor=actor, rating=Rating.SATISFIED)
        assert info.value.code == "forbidden"
        assert action not in lifecycle.allowed_actions(state, actor)
        return
    assert action in lifecycle.allowed_actions(state, actor)
    if target is None:
        assert lifecycle.decide(state, action, actor=actor, rating=Rating.SATISFIED) is S.CLOSED
    else:
        assert lifecycle.decide(state, action, actor=actor) is target


def test_terminal_states_allow_nothing_but_adopting_a_closed_item() -> None:
    for status in lifecycle.TERMINAL_STATUSES:
        for actor in Actor:
            allowed = lifecycle.allowed_actions(State(status), actor)
            assert allowed == ([A.ADOPT] if (status, actor) == (S.CLOSED, Actor.STAFF) else [])


def test_rating_closes_and_dissatisfied_reopens_once() -> None:
    answered = State(S.ANSWERED)
    assert lifecycle.decide(answered, A.RATE, actor=Actor.AUTHOR, rating=Rating.SATISFIED) is S.CLOSED
    assert lifecycle.decide(answered, A.RATE, actor=Actor.AUTHOR, rating=Rating.BASIC) is S.CLOSED
    assert lifecycle.decide(answered, A.RATE, actor=Actor.AUTHOR, rating=Rating.DISSATISFIED) is S.ASSIGNED
    again = State(S.ANSWERED, reopened=1)
    assert lifecycle.decide(again, A.RATE, actor=Actor.AUTHOR, rating=Rating.DISSATISFIED) is S.CLOSED
    with pytest.raises(InvalidTransition) as info:
        lifecycle.decide(answered, A.RATE, actor=Actor.AUTHOR)
    assert info.value.code == "rating"


def test_adopt_only_once() -> None:
    adopted = State(S.ASSIGNED, adopted=True)
    with pytest.raises(InvalidTransition) as info:
        lifecycle.decide(adopted, A.ADOPT, actor=Actor.STAFF)
    assert info.value.code == "adopted"
    assert A.ADOPT not in lifecycle.allowed_actions(adopted, Actor.STAFF)


TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = date(2026, 12, 10)


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        (datetime(2026, 12, 7, 23, 59, 59), Warning.GREEN),  # 3 days left
        (datetime(2026, 12, 8, 0, 0, 0), Warning.YELLOW),  # 2 days left: yellow starts
        (datetime(2026, 12, 10, 12, 0), Warning.YELLOW),  # the deadline day itself
        (datetime(2026, 12, 10, 23, 59, 59), Warning.YELLOW),
        (datetime(2026, 12, 11, 0, 0, 0), Warning.RED),  # overdue from the next local midnight
        (datetime(2027, 1, 5, 9, 0), Warning.RED),
        (datetime(2026, 11, 1, 9, 0), Warning.GREEN),
    ],
)
def test_three_colours_around_the_deadline(local_now: datetime, expected: Warning) -> None:
    now_utc = local_now.replace(tzinfo=TZ).astimezone(UTC)
    assert warning_for(DEADLINE, now_utc, tz=TZ, yellow_days=2) is expected


def test_colour_uses_the_committee_time_zone_not_utc() -> None:
    # 2026-12-10 17:00 UTC is already 2026-12-11 01:00 in Beijing: overdue there.
    assert warning_for(DEADLINE, datetime(2026, 12, 10, 17, 0, tzinfo=UTC), tz=TZ, yellow_days=2) is Warning.RED
    assert warning_for(DEADLINE, datetime(2026, 12, 10, 15, 0, tzinfo=UTC), tz=TZ, yellow_days=2) is Warning.YELLOW


def test_colour_yellow_window_is_configurable_and_only_for_items_in_hand() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=TZ)
    assert warning_for(DEADLINE, now, tz=TZ, yellow_days=2) is Warning.GREEN
    assert warning_for(DEADLINE, now, tz=TZ, yellow_days=5) is Warning.YELLOW
    assert warning_for(None, now, tz=TZ, yellow_days=2) is None
    late = now + timedelta(days=30)
    assert warning_of("assigned", DEADLINE, late, tz=TZ, yellow_days=2) is Warning.RED
    assert warning_of("accepted", DEADLINE, late, tz=TZ, yellow_days=2) is Warning.RED
    for status in ("submitted", "answered", "closed", "merged", "withdrawn", "rejected", "converted"):
        assert warning_of(status, DEADLINE, late, tz=TZ, yellow_days=2) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("建议在老城区增设夜间公交线路", True),
        ("我建议多建停车场", True),
        ("希望学校周边增加护学岗", True),
        ("反映一个问题：路灯坏了", True),
        ("呼吁关注独居老人", True),
        ("  建议加强监管", True),
        ("今天学习了《政协章程》40分钟", False),
        ("提案的程序是什么？", False),
        ("我们建议", False),
        ("", False),
    ],
)
def test_recognises_suggestions(text: str, expected: bool) -> None:
    assert looks_like_proposal(text) is expected


def test_title_is_proposed_from_the_first_clause() -> None:
    assert derive_title("建议在老城区增设夜间公交线路，很多夜班工人回家不方便") == "关于在老城区增设夜间公交线路的建议"
    assert derive_title("反映一个问题：幸福路的路灯坏了两个月了。") == "幸福路的路灯坏了两个月了"
    long_title = derive_title("建议" + "很" * 100)
    assert len(long_title) == 60 and long_title.endswith("…")


def test_limits() -> None:
    assert content_problem("") == "empty"
    assert content_problem("   \n ") == "empty"
    assert content_problem("太短了") == "short"
    assert content_problem("字" * 10) is None
    assert content_problem("字" * 2000) is None
    assert content_problem("字" * 2001) == "long"
    assert content_problem("字" * 10_000) == "long"
    assert title_problem("标" * 60) is None
    assert title_problem("标" * 61) == "long"
    assert title_problem(" ") == "empty"


def test_similarity_measures() -> None:
    assert bigram_jaccard("增设夜间公交线路", "增设夜间公交线路") == 1.0
    assert bigram_jaccard("增设夜间公交线路", "学校食堂卫生") == 0.0
    assert 0.3 < bigram_jaccard("老城区增设夜间公交", "增设夜间公交线路") < 1.0
    assert bigram_jaccard("", "abc") == 0.0
    assert cosine([1.0, 0.0], [1.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0)
    assert cosine([1.0], [1.0, 0.0]) == 0.0
