"""One parser for the dates and times staff type: event times, broadcast schedules, ``--at`` in the CLI.

``parse_when("明天 9点", now=now)`` → an aware datetime in ``now``'s time zone (seconds dropped), or None
when the text is not a time this parser understands. Pure: the caller passes ``now`` (local, aware).

Understood, alone or combined as *day* + *time of day*:

- now and offsets: ``现在`` ``马上`` ``+2h`` ``-30分钟`` ``+1.5小时`` ``2小时后`` ``半小时后`` ``30分钟后``;
- days: ``今天`` ``今晚`` ``明天`` ``后天`` ``大后天``, ``周五`` ``星期五`` ``下周一`` ``本周三``,
  ``11月26日`` ``11月26号`` ``11-26`` ``11/26`` (the next such day, today included),
  ``2026-11-26`` ``2026/11/26`` ``2026年11月26日`` (a bare day is not enough: a time of day is needed);
- times of day: ``14:30`` ``9点`` ``9点半`` ``9点15分`` ``九点一刻`` ``十点半``, optionally after
  ``上午`` ``下午`` ``晚上`` ``中午`` ``早上`` ``凌晨`` ``傍晚`` (``下午3点`` = 15:00).

Hand-written rather than a library: general date parsers do not read 下午3点半 or 周五 15:00 reliably,
and this grammar is small. ``EXAMPLES`` lists phrases that replies may show; a test parses each one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from store.credits.parsing import cn_to_int

# Phrases the replies name as examples (handlers/texts.py); tests/unit/test_timeparse.py parses each.
EXAMPLES = ("明天 9点", "今天 14:30", "下午3点半", "周五 15:00", "12月5日 14:30", "2026-12-05 09:00", "+2h")

_NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"

_NOW_WORDS = {"现在", "马上", "立即", "立刻", "now"}
_OFFSET = re.compile(
    r"([+-])\s*(\d+(?:\.\d+)?)\s*(h|hours?|小时|个小时|m|mins?|minutes?|分钟|分)", re.I)
_AFTER = re.compile(r"(\d+(?:\.\d+)?|半|[一二两三四五六七八九十]{1,3})\s*(个?半?小时|分钟)\s*(?:以?后|之后)")

_DAY_WORDS = {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAY = re.compile(r"(下下|下|本|这|这个|下个)?\s*(?:周|星期|礼拜)([一二三四五六日天末])")
_FULL_DATE = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(rf"({_NUM})\s*月\s*({_NUM})\s*[日号]?|(\d{{1,2}})[-/](\d{{1,2}})")

_PERIODS = {"凌晨": "am", "早上": "am", "早晨": "am", "上午": "am", "明早": "am", "中午": "noon", "下午": "pm",
            "傍晚": "pm", "晚上": "pm", "今晚": "pm", "明晚": "pm", "夜里": "pm", "晚": "pm"}
_PERIOD = re.compile("|".join(sorted(_PERIODS, key=len, reverse=True)))
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_CLOCK_CN = re.compile(rf"({_NUM})\s*[点點时](?:\s*(半|一刻|三刻|({_NUM})\s*分?))?")


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return cn_to_int(text)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"\s+", " ", text.replace("：", ":"))


def _offset(text: str, now: datetime) -> datetime | None:
    match = _OFFSET.fullmatch(text)
    if match:
        amount = float(match.group(2))
        unit = match.group(3)
        minutes = amount * 60 if unit.startswith(("h", "小", "个")) else amount
        sign = 1 if match.group(1) == "+" else -1
        return (now + timedelta(minutes=sign * minutes)).replace(second=0, microsecond=0)
    match = _AFTER.fullmatch(text)
    if match:
        raw, unit = match.group(1), match.group(2)
        value = 0.5 if raw == "半" else (float(raw) if raw[0].isdigit() else float(cn_to_int(raw) or 0))
        if "半" in unit and raw != "半":
            value += 0.5
        minutes = value * 60 if "小时" in unit else value
        return (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return None


def _take_day(text: str, today: date) -> tuple[date | None, str, bool]:
    """The day named in ``text`` (today when none), the rest of the text, and False if a day was malformed."""
    match = _FULL_DATE.search(text)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None, text, False
        return day, text[: match.start()] + " " + text[match.end():], True
    match = _MONTH_DAY.search(text)
    if match:
        month = _number(match.group(1) or match.group(3))
        dom = _number(match.group(2) or match.group(4))
        if month is None or dom is None:
            return None, text, False
        for year in (today.year, today.year + 1):
            try:
                day = date(year, month, dom)
            except ValueError:
                if year > today.year:
                    return None, text, False
                continue  # 2月29日 in a common year: the next leap year is too far, try next year anyway
            if day >= today:
                break
        else:
            return None, text, False
        return day, text[: match.start()] + " " + text[match.end():], True
    match = _WEEKDAY.search(text)
    if match:
        target = _WEEKDAYS[match.group(2)]
        prefix = match.group(1) or ""
        monday = today - timedelta(days=today.weekday())
        if prefix.startswith("下下"):
            day = monday + timedelta(days=14 + target)
        elif prefix.startswith("下"):
            day = monday + timedelta(days=7 + target)
        elif prefix:  # 本周 / 这周
            day = monday + timedelta(days=target)
        else:  # bare 周五: the next Friday, today included
            day = today + timedelta(days=(target - today.weekday()) % 7)
        return day, text[: match.start()] + " " + text[match.end():], True
    for word in sorted(_DAY_WORDS, key=len, reverse=True):
        if word in text:
            # keep 今晚/明早/明晚 in the text: they also name the part of the day
            rest = text if word in _PERIODS else text.replace(word, " ", 1)
            return today + timedelta(days=_DAY_WORDS[word]), rest, True
    return today, text, True


def _take_time(text: str) -> tuple[int, int] | None:
    """(hour, minute) from what is left once the day is removed; None unless it is exactly a time of day."""
    period = None
    match = _PERIOD.search(text)
    if match:
        period = _PERIODS[match.group(0)]
        text = text[: match.start()] + " " + text[match.end():]
    text = text.strip(" ,，")
    clock = _CLOCK.fullmatch(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
    else:
        cn = _CLOCK_CN.fullmatch(text)
        if cn is None:
            return None
        number = _number(cn.group(1))
        if number is None:
            return None
        hour = number
        fraction = cn.group(2)
        if fraction is None:
            minute = 0
        elif fraction == "半":
            minute = 30
        elif fraction == "一刻":
            minute = 15
        elif fraction == "三刻":
            minute = 45
        else:
            value = _number(cn.group(3) or "")
            if value is None:
                return None
            minute = value
    if period == "pm" and 1 <= hour < 12:
        hour += 12
    elif period == "noon" and 1 <= hour <= 3:
        hour += 12
    elif period == "am" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def parse_when(text: str, *, now: datetime) -> datetime | None:
    """A date and time typed by a person, read in ``now``'s time zone; None if not understood."""
    raw = _normalise(text)
    if not raw or len(raw) > 40:
        return None
    if raw in _NOW_WORDS:
        return now.replace(second=0, microsecond=0)
    shifted = _offset(raw, now)
    if shifted is not None:
        return shifted
    day, rest, ok = _take_day(raw, now.date())
    if not ok or day is None:
        return None
    clock = _take_time(rest)
    if clock is None:
        return None
    return datetime(day.year, day.month, day.day, clock[0], clock[1], tzinfo=now.tzinfo)


def parse_future(text: str, *, now: datetime) -> datetime | None:
    """Like ``parse_when`` but only a time after ``now`` (a schedule); None otherwise."""
    when = parse_when(text, now=now)
    return when if when is not None and when > now else None
