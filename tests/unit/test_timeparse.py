"""The one parser of typed dates and times (store/timeparse.py), used by /event, /broadcast and the CLI."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers import texts
from store.timeparse import EXAMPLES, parse_future, parse_when

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 2026-11-25 10:20 in Shanghai.
NOW = datetime(2026, 11, 25, 10, 20, 37, tzinfo=TZ)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(("text", "expected"), [
    ("现在", at(11, 25, 10, 20)),
    ("马上", at(11, 25, 10, 20)),
    ("+2h", at(11, 25, 12, 20)),
    ("+1.5小时", at(11, 25, 11, 50)),
    ("-30分钟", at(11, 25, 9, 50)),
    ("2小时后", at(11, 25, 12, 20)),
    ("半小时后", at(11, 25, 10, 50)),
    ("30分钟后", at(11, 25, 10, 50)),
    ("14:30", at(11, 25, 14, 30)),
    ("１４：３０", at(11, 25, 14, 30)),
    ("今天 14:30", at(11, 25, 14, 30)),
    ("明天 9点", at(11, 26, 9)),
    ("明天9点", at(11, 26, 9)),
    ("明天 09:00", at(11, 26, 9)),
    ("明天上午九点", at(11, 26, 9)),
    ("后天 14:30", at(11, 27, 14, 30)),
    ("大后天 8点", at(11, 28, 8)),
    ("下午3点", at(11, 25, 15)),
    ("下午3点半", at(11, 25, 15, 30)),
    ("下午三点一刻", at(11, 25, 15, 15)),
    ("9点15分", at(11, 25, 9, 15)),
    ("十点半", at(11, 25, 10, 30)),
    ("中午12点", at(11, 25, 12)),
    ("中午1点", at(11, 25, 13)),
    ("晚上8点", at(11, 25, 20)),
    ("今晚 8点", at(11, 25, 20)),
    ("明晚7点半", at(11, 26, 19, 30)),
    ("周五 15:00", at(11, 27, 15)),
    ("星期三 9点", at(11, 25, 9)),  # today is a Wednesday: "星期三" is today
    ("下周一 9:00", at(11, 30, 9)),
    ("本周日 10点", at(11, 29, 10)),
    ("12月5日 14:30", at(12, 5, 14, 30)),
    ("12月5号 下午2点", at(12, 5, 14)),
    ("十二月五日 9点", at(12, 5, 9)),
    ("12-05 09:00", at(12, 5, 9)),
    ("1月3日 9点", at(1, 3, 9, year=2027)),  # a month-day already past this year is next year's
    ("2026-12-05 09:00", at(12, 5, 9)),
    ("2026/12/05 9:00", at(12, 5, 9)),
    ("2026年12月5日 14:30", at(12, 5, 14, 30)),
    ("2027年2月28日 9点", at(2, 28, 9, year=2027)),
])
def test_understood(text: str, expected: datetime) -> None:
    assert parse_when(text, now=NOW) == expected


@pytest.mark.parametrize("text", [
    "", "明天", "下午", "12月5日", "2026-12-05", "25:00", "14:61", "2026-02-30 09:00", "13月5日 9点",
    "明天 9点 以后再说", "开会", "9", "x" * 100, "周八 9点",
])
def test_not_understood(text: str) -> None:
    assert parse_when(text, now=NOW) is None


def test_leap_day() -> None:
    now = datetime(2028, 2, 28, 12, 0, tzinfo=TZ)
    assert parse_when("明天 9点", now=now) == datetime(2028, 2, 29, 9, 0, tzinfo=TZ)
    assert parse_when("2月29日 9点", now=now) == datetime(2028, 2, 29, 9, 0, tzinfo=TZ)
    assert parse_when("2027-02-29 09:00", now=now) is None


def test_month_and_year_end() -> None:
    now = datetime(2026, 12, 31, 22, 0, tzinfo=TZ)
    assert parse_when("明天 9点", now=now) == datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
    assert parse_when("+3h", now=now) == datetime(2027, 1, 1, 1, 0, tzinfo=TZ)
    assert parse_when("周一 9点", now=now) == datetime(2027, 1, 4, 9, 0, tzinfo=TZ)


def test_future_only_for_schedules() -> None:
    assert parse_future("9点", now=NOW) is None  # 09:00 today has passed
    assert parse_future("现在", now=NOW) is None
    assert parse_future("明天 9点", now=NOW) == at(11, 26, 9)


def test_the_zone_is_the_one_of_now() -> None:
    utc_now = NOW.astimezone(ZoneInfo("UTC"))
    when = parse_when("14:30", now=utc_now)
    assert when is not None and when.tzinfo == utc_now.tzinfo and when.hour == 14


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_parses(example: str) -> None:
    assert parse_when(example, now=NOW) is not None


def test_replies_name_only_examples_that_work() -> None:
    """The time phrases in the /event help and the broadcast schedule replies parse."""
    for text in (texts.EVENT_USAGE, texts.BROADCAST_ASK_TIME, texts.BROADCAST_BAD_TIME):
        quoted = re.findall(r"“([^”]+)”", text)
        assert quoted, text
        for phrase in quoted:
            assert parse_when(phrase, now=NOW) is not None, phrase
