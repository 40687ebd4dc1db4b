"""The check-in parser on realistic phrasings: numerals, typos, English digits and units, dates, declines."""

from __future__ import annotations

from datetime import date

import pytest

from store.credits.parsing import Declined, ParsedCheckin, cn_to_int, parse_checkin, parse_day, parse_minutes

TODAY = date(2026, 11, 26)

# text → (minutes, title, date)
ACCEPTED: list[tuple[str, int, str | None, date]] = [
    ("今天学习了《政协章程》40分钟", 40, "《政协章程》", TODAY),
    ("今天学习了《政协章程》45分钟", 45, "《政协章程》", TODAY),
    ("读完《习近平谈治国理政》第三章 半小时", 30, "《习近平谈治国理政》第三章", TODAY),
    ("看了两节委员讲堂视频 1小时15分", 75, "两节委员讲堂视频", TODAY),
    ("学习政协章程第一章，用时约40分钟", 40, "政协章程第一章", TODAY),
    ("昨天晚上读书一个小时", 60, None, date(2026, 11, 25)),
    ("前天学习《中国共产党统一战线工作条例》两个小时", 120, "《中国共产党统一战线工作条例》", date(2026, 11, 24)),
    ("大前天学习了半小时", 30, None, date(2026, 11, 23)),
    ("11月20日学习了《政协委员履职手册》九十分钟", 90, "《政协委员履职手册》", date(2026, 11, 20)),
    ("十一月二十日学习一小时", 60, None, date(2026, 11, 20)),
    ("2026-11-24 学习 1.5小时", 90, None, date(2026, 11, 24)),
    ("2026年11月22日读了《人民政协报》40分钟", 40, "《人民政协报》", date(2026, 11, 22)),
    ("11/25 学习民法典 50分钟", 50, "民法典", date(2026, 11, 25)),
    ("12月30日学习1小时", 60, None, date(2025, 12, 30)),  # a later month is last year's
    ("学习了一个半小时", 90, None, TODAY),
    ("学习了1个半小时《协商民主》", 90, "《协商民主》", TODAY),
    ("学习两小时半", 150, None, TODAY),
    ("看了三刻钟的政协新闻", 45, "政协新闻", TODAY),
    ("今天学习了一刻钟", 15, None, TODAY),
    ("学习了四十五分钟", 45, None, TODAY),
    ("在线学习一百二十分钟", 120, None, TODAY),
    ("学习了廿分钟", 20, None, TODAY),
    ("学习了两小时", 120, None, TODAY),
    ("学习了俩小时", 120, None, TODAY),
    ("学习了1小时15", 75, None, TODAY),
    ("学习了一小时二十分钟", 80, None, TODAY),
    ("学习1小时零5分", 65, None, TODAY),
    ("今天学习了《政协章程》40分种", 40, "《政协章程》", TODAY),  # typo 分种
    ("学习40分中", 40, None, TODAY),  # typo 分中
    ("學習了《政協章程》40分鐘", 40, "《政協章程》", TODAY),  # traditional characters
    ("学习了一个小時", 60, None, TODAY),
    ("我今天学习了２０分钟", 20, None, TODAY),  # full-width digits
    ("今天学习了 40 分钟《政协章程》", 40, "《政协章程》", TODAY),
    ("听了党史讲座 1h30m", 90, "党史讲座", TODAY),
    ("read for 45 mins", 45, None, TODAY),
    ("学习 90min", 90, None, TODAY),
    ("study 1 hour 20 minutes", 80, None, TODAY),
    ("今天十分认真地学习了1小时", 60, None, TODAY),  # 十分 is an adverb here, not ten minutes
    ("学习了《民法典》第1-3章 2小时", 120, "《民法典》第1-3章", TODAY),
    ("刚才看了半个钟头《人民政协报》", 30, "《人民政协报》", TODAY),
    ("上午学了30分钟，晚上又学了半小时", 60, None, TODAY),
    ("研读《政协委员履职手册》第二章 25分钟", 25, "《政协委员履职手册》第二章", TODAY),
    ("学习打卡：《习近平新时代中国特色社会主义思想学习纲要》一小时", 60,
     "《习近平新时代中国特色社会主义思想学习纲要》", TODAY),
    ("观看委员讲堂视频20分钟", 20, "委员讲堂视频", TODAY),
]

# text → decline reason, and whether the bot should answer with an example
DECLINED: list[tuple[str, str, bool]] = [
    ("跑步40分钟", "not_study", False),
    ("今天开会2小时", "not_study", False),
    ("学习打卡怎么算分？", "question", False),
    ("《政协章程》规定委员任期几年", "question", False),
    ("今天学习了《政协章程》", "no_duration", True),
    ("明天学习2小时", "future", True),
    ("今天学习了5分钟", "too_short", True),
    ("学习了25小时", "too_long", True),
    ("你好", "no_duration", False),
    ("建议增加社区停车位", "no_duration", False),
    ("40分钟", "not_study", False),
    ("11月31日学习1小时", "bad_date", True),
    ("政协委员每年要学习多少小时？", "question", False),
    ("", "empty", False),
    ("心得：太好了", "note_too_short", True),
]


@pytest.mark.parametrize(("text", "minutes", "title", "day"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_phrasings(text: str, minutes: int, title: str | None, day: date) -> None:
    result = parse_checkin(text, today=TODAY)
    assert isinstance(result, ParsedCheckin), result
    assert (result.kind, result.minutes, result.title, result.day) == ("study", minutes, title, day)
    assert result.backfill is (day < TODAY)


@pytest.mark.parametrize(("text", "reason", "checkin_like"), DECLINED, ids=[c[0] or "empty" for c in DECLINED])
def test_declined_phrasings(text: str, reason: str, checkin_like: bool) -> None:
    result = parse_checkin(text, today=TODAY)
    assert isinstance(result, Declined), result
    assert (result.reason, result.checkin_like) == (reason, checkin_like)


def test_phrasing_count_meets_the_issue() -> None:
    assert len(ACCEPTED) + len(DECLINED) >= 40


def test_bare_duration_is_a_checkin_after_the_prompt() -> None:
    result = parse_checkin("40分钟", today=TODAY, assume_study=True)
    assert isinstance(result, ParsedCheckin) and result.minutes == 40 and result.title is None


def test_reflection_of_200_characters_is_a_note() -> None:
    body = "通过学习政协章程，我对人民政协的性质和职能有了更深的认识。" * 8
    result = parse_checkin("学习心得：" + body, today=TODAY)
    assert isinstance(result, ParsedCheckin)
    assert result.kind == "note" and result.body == body and result.minutes is None


@pytest.mark.parametrize(("text", "value"), [("一", 1), ("十", 10), ("十五", 15), ("二十", 20), ("四十五", 45),
                                             ("一百二十", 120), ("两", 2), ("廿五", 25), ("一二〇", 120), ("零", 0)])
def test_chinese_numerals(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize(("text", "minutes"), [("40", 40), ("40分钟", 40), ("一小时", 60), ("半小时", 30),
                                               ("1h", 60), ("学习", None), ("40分钟学习", None)])
def test_field_minutes(text: str, minutes: int | None) -> None:
    assert parse_minutes(text) == minutes


def test_field_day() -> None:
    assert parse_day("昨天", today=TODAY) == date(2026, 11, 25)
    assert parse_day("11月20日", today=TODAY) == date(2026, 11, 20)
    assert parse_day("随便", today=TODAY) is None
