"""Understanding study check-ins written the way members write them.

``parse_checkin("今天学习了《政协章程》40分钟", today=...)`` → a ``ParsedCheckin`` (kind, title,
minutes, date) or a ``Declined`` reason. Handles Arabic and Chinese numerals (两/俩/廿, 十五,
一百二十), 半小时/一刻钟/一个半小时, English units (min, h, hours), full-width characters,
common typos (分种, 分中, 小时 without 个), relative and calendar dates for 补卡
(昨天, 前天, 11月20日, 11-20, 2026年11月20日). Pure: no clock, no database.

Chinese numerals are converted by a small converter here rather than a PyPI package: check-ins need
only small integers plus colloquial forms (两, 俩, 半, 刻) that general converters do not cover.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

DeclineReason = Literal[
    "empty", "question", "no_duration", "not_study", "too_short", "too_long", "future", "bad_date", "note_too_short"
]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUM = "[零〇一二两俩三四五六七八九十百千廿]+"
NUM = rf"(?:\d+(?:\.\d+)?|{CN_NUM})"


def cn_to_int(text: str) -> int | None:
    """Convert a Chinese numeral (一, 十五, 二十, 一百二十, 两, 廿五) to an int; None if it is not one."""
    if not text:
        return None
    text = text.replace("廿", "二十")
    if all(ch in _DIGITS for ch in text) and len(text) > 1:  # 一二〇 digit by digit
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            total += (current or 1) * unit
            current = 0
        else:
            return None
    return total + current


def to_number(text: str) -> float | None:
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    value = cn_to_int(text)
    return float(value) if value is not None else None


_MIN_UNIT = r"(?:分钟|分鐘|分種|分种|分中|minutes?(?![a-zA-Z])|mins?(?![a-zA-Z])|m(?![a-zA-Z]))"
_HOUR_UNIT = r"(?:个?\s*小时|个?\s*小時|个?\s*钟头|个?\s*鐘頭|hours?(?![a-zA-Z])|hrs?(?![a-zA-Z])|h(?![a-zA-Z]))"
_END = r"(?=\s*(?:$|[，,。.！!；;、]))"

# Order matters: longer, compound forms first; matched spans are removed before the next pattern.
# A bare 分 counts as minutes after Arabic digits, or after a Chinese numeral at the end of a phrase
# (so the adverb 十分 in "十分认真" is not ten minutes).
_DURATION_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"({NUM})\s*{_HOUR_UNIT}\s*(?:零\s*)?({NUM})\s*(?:{_MIN_UNIT}|分|{_END})", re.I), "h+m"),
    (re.compile(rf"({NUM})\s*个\s*半\s*(?:小时|小時|钟头|鐘頭)", re.I), "h.5"),
    (re.compile(rf"({NUM})\s*(?:小时|小時|钟头|鐘頭)\s*半", re.I), "h.5"),
    (re.compile(r"半\s*个?\s*(?:小时|小時|钟头|鐘頭)"), "half"),
    (re.compile(rf"({NUM})\s*刻\s*钟?"), "quarter"),
    (re.compile(rf"({NUM})\s*{_HOUR_UNIT}", re.I), "h"),
    (re.compile(rf"({NUM})\s*{_MIN_UNIT}", re.I), "m"),
    (re.compile(r"(\d+)\s*分(?!之)"), "m"),
    (re.compile(rf"({CN_NUM})\s*分{_END}"), "m"),
]

_STUDY_WORDS = re.compile(
    r"学|學|習|读|讀|阅|閱|看|听|聽|研|课|課|讲堂|講堂|视频|視頻|章程|书|書|《|study|read|learn", re.I
)
_QUESTION = re.compile(r"[?？]|吗|嗎|怎么|怎样|如何|什么|多少|几|哪|能否|是否|可以.{0,6}吗|请问")
_NOTE_PREFIX = re.compile(r"^\s*(?:#?\s*)?(?:学习心得|学习体会|心得体会|心得|体会|读后感)\s*[:：,，\s]\s*")
_DAY_WORDS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"大前天"), -3),
    (re.compile(r"前天|前日"), -2),
    (re.compile(r"昨天|昨日|昨晚|昨夜|yesterday", re.I), -1),
    (re.compile(r"今天|今日|今早|今晚|今晨|今儿|本日|today|刚才|刚刚|上午|下午|晚上|早上|中午", re.I), 0),
    (re.compile(r"明天|明日|后天|tomorrow", re.I), 1),
]
_DATE_FULL = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号號]?")
_DATE_MD = re.compile(rf"({NUM})\s*月\s*({NUM})\s*[日号號]")
_DATE_MD_NUM = re.compile(r"(?<![\d.:第])(\d{1,2})\s*[/\-]\s*(\d{1,2})(?![\d:]|\s*[章节篇讲课页集部卷])")
_VERBS = re.compile(
    r"^(?:又|再|还|共|一共|总共|认真|集中|在线|线上|自主)*"
    r"(?:学习了|学习|学了|自学了|自学|研读了|研读|阅读了|阅读|读完了|读完|读了|看完了|看完|看了|听完了|听完|听了|"
    r"观看了|观看|收看了|收看|参加了|参加|完成了|完成|温习了|温习|复习了|复习|学完|读|看|听|学|"
    r"(?:read|studied|study|learned|learnt|learn|watched|listened)(?:\s+(?:for|to))?\s*)",
    re.I,
)
_FILLER = re.compile(
    r"^(?:[，,。.！!；;：:、\s~～-]|用时|用了|耗时|时长|历时|共计|一共|总共|共|大约|大概|约|左右|差不多|将近|"
    r"的|我|本人|又|再|还|十分|非常|认真地?|仔细地?|系统地?|学习打卡|打卡|签到|上午|下午|晚上|早上|中午|凌晨|傍晚|早晨)+"
)
_FILLER_END = re.compile(
    r"(?:[，,。.！!；;：:、\s~～-]|用时|用了|耗时|时长|历时|共计|共|一共|总共|大约|大概|约|左右|差不多|将近|"
    r"了|的|有|打卡|学习打卡|签到|学习|阅读)+$"
)
_PART_NUM = r"[\d一二三四五六七八九十百两]+"
_PART = rf"第\s*{_PART_NUM}(?:\s*[-~至到]\s*第?\s*{_PART_NUM})?\s*[章节篇讲课部分卷回集]+"
_GENERIC_TITLES = {"", "书", "读书", "看书", "学习", "自学", "阅读", "理论", "知识", "资料", "材料", "文件", "一下"}


@dataclass(frozen=True)
class ParsedCheckin:
    """A check-in the member seems to mean; shown back for confirmation before anything is recorded."""

    kind: Literal["study", "note"]
    title: str | None
    minutes: int | None
    day: date
    backfill: bool
    body: str | None = None


@dataclass(frozen=True)
class Declined:
    """Why a text is not a check-in we can record. ``checkin_like`` texts deserve an example reply."""

    reason: DeclineReason
    checkin_like: bool
    minutes: int | None = None


ParseResult = ParsedCheckin | Declined


def normalise(text: str) -> str:
    """Full-width to half-width, collapse spaces (keeps 《》 and Chinese punctuation)."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip()


def _duration_value(kind: str, groups: tuple[str | None, ...]) -> float | None:
    if kind == "half":
        return 30
    nums = [to_number(g) for g in groups if g is not None]
    if any(n is None for n in nums):
        return None
    values = [n for n in nums if n is not None]
    if kind == "h+m":
        return values[0] * 60 + values[1]
    if kind == "h.5":
        return values[0] * 60 + 30
    if kind == "quarter":
        return values[0] * 15
    if kind == "h":
        return values[0] * 60
    return values[0]


def find_minutes(text: str) -> tuple[int | None, str]:
    """Total minutes mentioned in ``text`` (several durations add up) and the text without them."""
    total: float = 0
    found = False
    rest = text
    for pattern, kind in _DURATION_PATTERNS:
        while True:
            match = pattern.search(rest)
            if match is None:
                break
            value = _duration_value(kind, match.groups())
            if value is None:
                break
            total += value
            found = True
            rest = rest[: match.start()] + " " + rest[match.end():]
    return (round(total) if found else None), rest


def _find_day(text: str, today: date) -> tuple[date | None, bool, str]:
    """The date a check-in is about, whether the text named one, and the text without it."""
    match = _DATE_FULL.search(text)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None, True, text
        return day, True, text[: match.start()] + " " + text[match.end():]
    for pattern in (_DATE_MD, _DATE_MD_NUM):
        match = pattern.search(text)
        if match:
            month, dom = to_number(match.group(1)), to_number(match.group(2))
            if month is None or dom is None:
                continue
            try:
                day = date(today.year, int(month), int(dom))
            except ValueError:
                return None, True, text
            if day > today:
                try:
                    day = date(today.year - 1, int(month), int(dom))
                except ValueError:
                    return None, True, text
            return day, True, text[: match.start()] + " " + text[match.end():]
    for pattern, offset in _DAY_WORDS:
        match = pattern.search(text)
        if match:
            rest = pattern.sub(" ", text)
            return today + timedelta(days=offset), True, rest
    return today, False, text


def clean_title(text: str) -> str | None:
    """What is left of a check-in once dates and durations are removed, minus verbs and fillers."""
    book = re.search(r"《[^《》]{1,80}》", text)
    if book:
        tail = text[book.end():]
        qualifier = re.match(rf"\s*((?:{_PART})(?:\s*[、和及]\s*(?:{_PART}))*)", tail)
        head = text[: book.start()]
        lead = re.search(rf"((?:{_PART}|[上中下]册)\s*)$", head)
        title = book.group(0)
        if qualifier:
            title += qualifier.group(1).replace(" ", "")
        if lead:
            title = lead.group(1).strip() + title
        return title
    rest = text.strip()
    for _ in range(4):
        before = rest
        rest = _FILLER.sub("", rest)
        rest = _VERBS.sub("", rest)
        rest = _FILLER_END.sub("", rest)
        if rest == before:
            break
    rest = re.sub(r"\s+", " ", rest).strip(" ，,。.、；;：:!！~～-\"“”'‘’")
    if rest in _GENERIC_TITLES or len(rest) < 2:
        return None
    return rest[:100]


def parse_checkin(
    text: str, *, today: date, assume_study: bool = False, min_minutes: int = 10, max_minutes: int = 720,
    note_min_chars: int = 200,
) -> ParseResult:
    """Parse a member's message into a check-in, or say why not.

    ``assume_study``: the member is answering the /checkin prompt, so a bare "40分钟" is a check-in.
    """
    raw = normalise(text or "")
    if not raw:
        return Declined("empty", checkin_like=assume_study)
    original = (text or "").strip()
    note = _NOTE_PREFIX.match(original)
    if note:
        body = original[note.end():].strip()
        if len(body) < note_min_chars:
            return Declined("note_too_short", checkin_like=True, minutes=len(body))
        return ParsedCheckin("note", None, None, today, False, body=body)
    minutes, rest = find_minutes(raw)
    day, _named, rest = _find_day(rest, today)
    is_study = assume_study or bool(_STUDY_WORDS.search(raw))
    if _QUESTION.search(re.sub(r"《[^》]*》", "", raw)) and not assume_study:
        return Declined("question", checkin_like=False)
    if minutes is None:
        # "今天学习了《政协章程》" looks like a check-in without its length; other texts are not ours.
        looks = assume_study or (bool(re.search(r"《[^》]+》|打卡", raw)) and bool(_STUDY_WORDS.search(raw)))
        return Declined("no_duration", checkin_like=looks)
    if not is_study:
        return Declined("not_study", checkin_like=False, minutes=minutes)
    if day is None:
        return Declined("bad_date", checkin_like=True, minutes=minutes)
    if day > today:
        return Declined("future", checkin_like=True, minutes=minutes)
    if minutes < min_minutes:
        return Declined("too_short", checkin_like=True, minutes=minutes)
    if minutes > max_minutes:
        return Declined("too_long", checkin_like=True, minutes=minutes)
    return ParsedCheckin("study", clean_title(rest), minutes, day, day < today)


def parse_minutes(text: str) -> int | None:
    """A bare duration as typed when fixing a field ("40分钟", "1小时", "半小时", "45")."""
    raw = normalise(text)
    if re.fullmatch(r"\d{1,4}", raw):
        return int(raw)
    minutes, rest = find_minutes(raw)
    if minutes is None or rest.strip(" ，,。."):
        return None
    return minutes


def parse_day(text: str, *, today: date) -> date | None:
    """A bare date as typed when fixing a field ("昨天", "11月20日", "2026-11-20")."""
    raw = normalise(text)
    day, named, rest = _find_day(raw, today)
    if not named or rest.strip(" ，,。."):
        return None
    return day
