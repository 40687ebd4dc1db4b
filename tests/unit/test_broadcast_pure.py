"""Pure parts of broadcasts: text splitting, the delivery state machine, audiences, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from store.broadcasts import audience
from store.broadcasts.states import DeliveryState, InvalidTransition, backoff_seconds, check_transition
from store.broadcasts.text import CAPTION_LIMIT, MESSAGE_LIMIT, split_for_media, split_text
from store.preferences import Prefs, in_quiet_hours, next_allowed_time, parse_window

TZ = ZoneInfo("Asia/Shanghai")


def test_short_text_is_one_part() -> None:
    assert split_text("  委员您好，明天开会。 ") == ["委员您好，明天开会。"]


def test_long_text_splits_at_paragraphs_within_the_limit() -> None:
    paragraphs = [f"第{i}段：" + "政协委员履职学习材料。" * 150 for i in range(6)]  # ~1.5k chars each
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert all(len(p) <= MESSAGE_LIMIT for p in parts)
    assert len(parts) == 3
    assert all(p.startswith("第") and p.endswith("。") for p in parts)  # cut between paragraphs
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_a_paragraph_longer_than_the_limit_splits_at_sentence_ends() -> None:
    text = "这是一句完整的话。" * 1000  # 9000 chars, no paragraph breaks
    parts = split_text(text)
    assert [len(p) for p in parts[:-1]] == [len(parts[0])] * (len(parts) - 1)
    assert all(len(p) <= MESSAGE_LIMIT and p.endswith("。") for p in parts)
    assert "".join(parts) == text


def test_text_without_any_boundary_is_cut_hard() -> None:
    text = "字" * (MESSAGE_LIMIT * 2 + 5)
    assert [len(p) for p in split_text(text)] == [MESSAGE_LIMIT, MESSAGE_LIMIT, 5]


def test_media_caption_takes_the_first_1024_and_the_rest_follows() -> None:
    text = "通知正文。" * 500  # 2500 chars
    caption, rest = split_for_media(text)
    assert len(caption) <= CAPTION_LIMIT and caption.endswith("。")
    assert rest and all(len(p) <= MESSAGE_LIMIT for p in rest)
    assert caption + "".join(rest) == text


@pytest.mark.parametrize(("src", "dst"), [
    ("pending", "sending"), ("sending", "sent"), ("sending", "blocked"), ("sending", "failed"),
    ("sending", "pending"), ("failed", "pending"),
])
def test_allowed_transitions(src: str, dst: str) -> None:
    assert check_transition(src, dst) == DeliveryState(dst)


@pytest.mark.parametrize(("src", "dst"), [
    ("pending", "sent"), ("sent", "pending"), ("sent", "sending"), ("blocked", "pending"), ("pending", "blocked"),
])
def test_forbidden_transitions(src: str, dst: str) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(src, dst)


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_seconds(n, base=1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_seconds(30, base=1.0, cap=60.0) == 60.0


def test_audience_targets() -> None:
    assert audience.parse_targets(["all"]) == [{}]
    assert audience.parse_targets(["sector:经济界,district:城关区", "group:提案委员会"]) == [
        {"sector": ["经济界"], "district": ["城关区"]}, {"group": ["提案委员会"]},
    ]
    assert audience.parse_targets(["sector:经济界", "all"]) == [{}]
    with pytest.raises(audience.AudienceError):
        audience.parse_target("city:北京")
    assert audience.describe([{"sector": ["经济界", "教育界"]}]) == "界别：经济界、教育界"


def test_quiet_hours_wrap_midnight() -> None:
    prefs = Prefs()  # 22:00-08:00
    assert in_quiet_hours(prefs, time(23, 30)) and in_quiet_hours(prefs, time(7, 59))
    assert not in_quiet_hours(prefs, time(8, 0)) and not in_quiet_hours(prefs, time(21, 59))
    assert not in_quiet_hours(Prefs(quiet_enabled=False), time(23, 0))
    day = Prefs(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert in_quiet_hours(day, time(13, 0)) and not in_quiet_hours(day, time(14, 0))


def test_next_allowed_time_defers_to_the_end_of_the_window() -> None:
    prefs = Prefs()
    late = datetime(2026, 11, 26, 23, 15, tzinfo=TZ)
    assert next_allowed_time(prefs, late, TZ) == datetime(2026, 11, 27, 8, 0, tzinfo=TZ).astimezone(UTC)
    early = datetime(2026, 11, 27, 6, 0, tzinfo=TZ)
    assert next_allowed_time(prefs, early, TZ) == datetime(2026, 11, 27, 8, 0, tzinfo=TZ).astimezone(UTC)
    noon = datetime(2026, 11, 27, 12, 0, tzinfo=TZ)
    assert next_allowed_time(prefs, noon, TZ) == noon.astimezone(UTC)
    assert next_allowed_time(prefs, late, TZ, urgent=True) == late.astimezone(UTC)


def test_parse_window() -> None:
    assert parse_window("22:00-08:00") == (time(22), time(8))
    assert parse_window("23:30 至 7:00") == (time(23, 30), time(7))
    with pytest.raises(ValueError):
        parse_window("late")
