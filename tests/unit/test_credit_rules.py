"""The credit rules file: shipped defaults, validation errors naming the line, formulas."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from store.credits.rules import DEFAULT_RULES_FILE, RulesError, default_rules, load_rules, parse_rules

DEFAULT_TEXT = DEFAULT_RULES_FILE.read_text(encoding="utf-8")


def test_defaults_match_the_issue() -> None:
    rules = default_rules()
    assert rules.annual_target == 60
    assert rules.type_ids() == ["study", "note", "reading", "training", "meeting", "activity", "proposal", "quiz"]
    quiz = rules.types["quiz"]
    assert (quiz.recorded_by, quiz.points, quiz.daily_cap) == ("quiz", 1, 2)
    assert rules.types["study"].daily_cap == 3 and rules.types["study"].min_minutes == 10
    assert rules.types["note"].min_chars == 200 and rules.types["note"].weekly_count == 1
    assert rules.types["proposal"].stages == {"accepted": 3, "adopted": 5}
    assert rules.rules_version.startswith("2026.1+")


@pytest.mark.parametrize(("minutes", "points"), [(9, 0), (10, 0), (19, 0), (20, 1), (45, 2), (59, 2), (60, 3),
                                                 (90, 4), (200, 10)])
def test_study_points_per_full_twenty_minutes(minutes: int, points: int) -> None:
    assert default_rules().study_points(minutes) == points


def test_training_points_per_half_day() -> None:
    rules = default_rules()
    start = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert rules.event_points("training", start, start.replace(hour=4)) == 5
    assert rules.event_points("training", start, start.replace(hour=9)) == 10
    assert rules.event_points("meeting", start, start.replace(hour=9)) == 5


def test_quiet_hours_wrap_midnight() -> None:
    reminders = default_rules().reminders
    assert reminders.is_quiet(time(23, 0)) and reminders.is_quiet(time(7, 59))
    assert not reminders.is_quiet(time(8, 0)) and not reminders.is_quiet(time(19, 0))


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    bad = DEFAULT_TEXT.replace("daily_cap = 3", "daily_cap = -3")
    path = tmp_path / "rules.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {_line_of(bad, 'daily_cap = -3')}: types.study.daily_cap" in message
    assert "greater than or equal to 0" in message


def test_unknown_key_and_missing_stage_are_refused() -> None:
    bad = DEFAULT_TEXT.replace('label = "会议"', 'label = "会议"\npionts = 5').replace(
        "stages = { accepted = 3, adopted = 5 }", "stages = { accepted = 3 }"
    )
    with pytest.raises(RulesError) as info:
        parse_rules(bad, source="x.toml")
    message = str(info.value)
    assert f"line {_line_of(bad, 'pionts = 5')}: types.meeting.pionts: Extra inputs are not permitted" in message
    assert f"line {_line_of(bad, '[types.proposal]')}: types.proposal" in message
    assert "stages.adopted" in message


def test_toml_syntax_error_names_line() -> None:
    with pytest.raises(RulesError, match=r"line 3"):
        parse_rules('version = "1"\nannual_target = 60\n[types.study\n', source="x.toml")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read credit rules file"):
        load_rules(tmp_path / "nope.toml")


def test_edited_rules_get_a_new_version() -> None:
    edited = parse_rules(DEFAULT_TEXT.replace("points = 5\nper_half_day", "points = 6\nper_half_day"))
    assert edited.types["training"].points == 6
    assert edited.rules_version != default_rules().rules_version
