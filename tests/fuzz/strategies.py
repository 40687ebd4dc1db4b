"""Hypothesis strategies for fuzzing the real Application: lists of user actions (``Event``s).

An event is a plain description (who does what, where); ``tests.fuzz.harness.FuzzHarness`` turns it
into a Bot API ``Update`` at run time, because some events need run-time facts: the buttons the bot
actually showed (``Tap``), the user's latest message (``Edit``), an earlier update (``Redeliver``),
an invite code from the roster (``SendInviteCode``).

Shared by ``tests/fuzz/test_fuzz_updates.py`` (a small sample) and ``bench/fuzz_bench.py`` (≥ 10,000).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

# ---- the cast ------------------------------------------------------------------------------------

MEMBERS = (1001, 1002, 1003)
STAFF = 9001
ADMIN = 9002
STRANGERS = (5001, 5002)  # nobody in the roster knows them (until they send an invite code)
USERS = (*MEMBERS, STAFF, ADMIN, *STRANGERS)
GROUP_ID = -1_001_234_567_890
CHANNEL_ID = -1_009_876_543_210
BOT_USERNAME = "cppcc_demo_bot"

# Who the harness puts in the roster (telegram_id None: waiting for binding with an invite code).
PEOPLE = (
    {"name": "张明", "telegram_id": 1001, "sector": "经济界", "district": "城关区", "groups": ("经济委",)},
    {"name": "王芳", "telegram_id": 1002, "sector": "教育界", "district": "七里河区"},
    {"name": "刘洋", "telegram_id": 1003, "sector": "医药卫生界", "district": "城关区", "groups": ("社法委",)},
    {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
    {"name": "周主任", "telegram_id": ADMIN, "role": "admin"},
    {"name": "陈静"},
    {"name": "赵磊"},
)
INVITE_SLOTS = 2  # PEOPLE without a telegram_id


# ---- events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    """A text message (commands included) in a private chat, a group or a channel."""

    user: int
    text: str
    where: str = "private"  # private | group | supergroup | channel


@dataclass(frozen=True)
class Press:
    """A button press with raw callback data no message carries (stale or forged)."""

    user: int
    data: str | None  # None: a callback query without data (a game button)


@dataclass(frozen=True)
class Tap:
    """Press the ``index``-th button (modulo their number) on the newest bot messages to ``user``."""

    user: int
    index: int


@dataclass(frozen=True)
class Media:
    """A non-text message: photo, document, sticker, location, or a raw kind the fake has no builder for."""

    user: int
    kind: str
    caption: str | None = None
    where: str = "private"


@dataclass(frozen=True)
class Edit:
    """The user edits their latest message (or a made-up one)."""

    user: int
    text: str
    where: str = "private"


@dataclass(frozen=True)
class Redeliver:
    """Telegram delivers an earlier update again (same ``update_id``)."""

    back: int


@dataclass(frozen=True)
class SendInviteCode:
    """A stranger types the invite code of a roster slot (binding them for the rest of the run)."""

    user: int
    slot: int
    with_start: bool


@dataclass(frozen=True)
class Service:
    """Updates that are no one's message to us: the bot added to a group, a poll update, an inline query."""

    user: int
    kind: str  # my_chat_member | poll | inline_query | new_members


Event = Say | Press | Tap | Media | Edit | Redeliver | SendInviteCode | Service

MEDIA_KINDS = ("photo", "document", "sticker", "location", "voice", "video", "contact", "poll", "dice",
               "venue", "animation", "video_note", "audio")
SERVICE_KINDS = ("my_chat_member", "poll", "inline_query", "new_members")

# ---- texts ----------------------------------------------------------------------------------------

SPECIALS = (
    "\u200f", "\u200e", "\u202e", "\u2066", "\u2069",  # RTL/LTR marks, overrides and isolates
    "\u200d", "\u200c", "\u200b", "\ufeff", "\u2060",  # zero-width joiners and spaces, BOM
    "\x00", "\x07", "\x1b", "\x7f", "\r", "\t", "\n", "\u2028", "\u0085",  # control characters
    "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇨🇳", "😀", "\U0001f9d1\u200d\U0001f4bb",  # emoji (ZWJ sequences, flags)
    "é", "\u0301", "𠀀", "〇", "ｆｕｌｌ", "²", "١٢٣", "שלום", "مرحبا", "%s", "{name}", "{}", "\\", "'\"",
)
DOMAIN_TEXTS = (
    "提案交上去多久有答复？", "委员可以退出吗", "你好", "取消", "确认", "/cancel",
    "今天学习了《政协章程》40分钟", "昨天学习了《中国共产党政治协商工作条例》1小时", "学习了90分钟",
    "今天学习了《政协章程》99999分钟", "建议在城关区增设公共自行车停放点，方便市民出行。",
    "希望加强学校周边交通安全管理", "反映：小区门口路灯坏了三个月", "呼吁", "建议",
    "EVT-HY01", "HY01", "evt-zzzz", "ABCD2345", "abcd-2345", "2026-12-01 09:00", "明天 09:00", "15:30",
    "市交通运输局 2026-12-31", "市交通运输局 2020-01-01", "1小时15分", "半小时", "2026-02-30",
    "有用", "没用", "查看原文", "收到",
)
COMMANDS = ("start", "help", "ask", "checkin", "credits", "propose", "my", "settings", "cancel", "event",
            "broadcast", "review", "stats", "gaps", "faq")
COMMAND_ARGS = (
    "", " status", " status 1", " status 99999999999999999999", " 2026", " 2026Q4", " 2026-11", " 1999-13",
    " 问题 | 答案", " |", " EVT-HY01", " HY01 补签 张明 忘记签到", " 会议 | 会议 | 明天 9:00 | 明天 11:00",
    " 标题 | 培训 | 明天 9:00 | 明天 8:00", " 今天学习了《政协章程》40分钟", " ABCD2345", " EVT-ZZZZ",
    " extra args here", " 建议增设公交线路方便群众出行",
)

unicode_text = st.lists(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIALS)), min_size=1, max_size=40
).map("".join)


@st.composite
def decorated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A domain text with invisible or control characters sprinkled in."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SPECIALS)) + text[at:]
    return text


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """Texts around and over Telegram's 4,096-character limit."""
    size = draw(st.sampled_from((1000, 4000, 4095, 4096, 4097, 5000, 8000)))
    head = draw(st.sampled_from(("", "建议", "今天学习了《", "/ask ", "/propose ", "/faq 问 | ", "/event ")))
    filler = draw(st.sampled_from(("建", "a", "😀", "\u200d", "文字 ")))
    return (head + filler * size)[: max(size, len(head) + 1)]


@st.composite
def command_text(draw: st.DrawFn) -> str:
    """Known, unknown and malformed commands: ``/``, ``/x@otherbot``, arguments, huge arguments."""
    name = draw(st.one_of(st.sampled_from(COMMANDS), st.sampled_from(("", "frobnicate", "START", "help_me", "ａｓｋ")),
                          st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)))
    suffix = draw(st.sampled_from(("", "", "", f"@{BOT_USERNAME}", "@CPPCC_Demo_Bot", "@otherbot", "@")))
    args = draw(st.one_of(st.sampled_from(COMMAND_ARGS), st.just(" " + "长" * 5000),
                          unicode_text.map(lambda t: " " + t)))
    return f"/{name}{suffix}{args}"


message_texts = st.one_of(
    st.sampled_from(DOMAIN_TEXTS),
    decorated(st.sampled_from(DOMAIN_TEXTS)),
    unicode_text,
    command_text(),
    long_text(),
)

# ---- callback data --------------------------------------------------------------------------------

TRICKY_IDS = ("²", "9" * 20, "9" * 55, "2147483648", "١", "１", "-1", "01", "1e3", "", "0x10", " 1")
ids = st.one_of(st.integers(0, 8).map(str), st.sampled_from(TRICKY_IDS[:4]), st.sampled_from(TRICKY_IDS))
ARGS = ("u", "x", "on", "off", "title", "minutes", "date", "content", "category", "place", "photos", "acc", "rej",
        "asg", "ans", "adp", "mrg", "cnv", "sector", "district", "group", "topic", "satisfied", "unsatisfied",
        "zz", "", "0", "99")
SHAPES = (
    "qa:fb:{id}:{arg}", "qa:src:{id}", "qa:staff:{id}", "qa:{arg}",
    "bc:{action}", "bc:{action}:{id}", "bc:{action}:{arg}", "bc:ack:{id}", "bc:st:{id}",
    "ck:{action}:{id}", "ck:{action}:{id}:{arg}", "ck:f:{id}:{arg}",
    "cr:{action}", "cr:remind:{arg}", "cr:d:{id}", "crs:{action}:{id}", "crs:uphold:{id}", "crs:correct:{id}",
    "pref:t:{id}", "pref:q:{id}", "pref:q:off", "pref:{action}:{arg}",
    "wjy:{action}:{id}", "wjy:{action}:{id}:{arg}", "wjy:a:{id}:{arg}", "wjy:m:{id}:{id}", "wjy:q:0",
    "wjy:rt:{id}:{arg}", "wjy:sup:{id}:{id}", "wjy:cat:{id}:{id}",
)
ACTIONS = ("ok", "no", "edit", "f", "go", "cat", "ed", "skip", "clr", "sup", "sub", "card", "v", "wd", "wdy", "rt",
           "s", "a", "m", "q", "fb", "src", "staff", "chart", "disp", "remind", "d", "uphold", "correct", "t",
           "all", "kind", "val", "back", "next", "now", "later", "rc", "ur", "rm", "test", "cancel", "st", "ack",
           "ZZ", "")


@st.composite
def forged_data(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(SHAPES))
    data = shape.format(id=draw(ids), arg=draw(st.sampled_from(ARGS)), action=draw(st.sampled_from(ACTIONS)))
    return data.replace("{id}", draw(ids))  # a second {id} in the shape


callback_data = st.one_of(
    forged_data(),
    forged_data(),
    forged_data(),
    st.text(max_size=64),
    st.binary(min_size=1, max_size=64).map(lambda b: b.decode("latin-1")),
    st.none(),
).map(lambda d: d if d is None or len(d.encode()) <= 64 else d.encode()[:64].decode(errors="ignore"))

# ---- events ---------------------------------------------------------------------------------------

users = st.sampled_from(USERS)
bound_users = st.sampled_from((*MEMBERS, STAFF, ADMIN))
places = st.sampled_from(("private",) * 6 + ("group", "supergroup", "channel"))

events: st.SearchStrategy[Event] = st.one_of(
    st.builds(Say, users, message_texts, places),
    st.builds(Say, bound_users, st.sampled_from(DOMAIN_TEXTS)),  # a dialogue step
    st.builds(Tap, bound_users, st.integers(0, 30)),
    st.builds(Tap, bound_users, st.integers(0, 30)),
    st.builds(Press, users, callback_data),
    st.builds(Press, bound_users, forged_data()),  # past the gate, into the guarded handlers
    st.builds(Say, bound_users, command_text()),
    st.builds(Media, users, st.sampled_from(MEDIA_KINDS), st.none() | message_texts.filter(lambda t: len(t) <= 1024),
              places),
    st.builds(Edit, users, message_texts, places),
    st.builds(Redeliver, st.integers(1, 20)),
    st.builds(SendInviteCode, st.sampled_from(STRANGERS), st.integers(0, INVITE_SLOTS - 1), st.booleans()),
    st.builds(Service, users, st.sampled_from(SERVICE_KINDS)),
)

# A scripted opening makes deep states (drafts, confirm cards, staff queues) reachable within a few taps.
OPENERS: tuple[Event, ...] = (
    Say(1001, "建议在城关区增设公共自行车停放点，方便市民出行。"),
    Say(1002, "今天学习了《政协章程》40分钟"),
    Say(STAFF, "/broadcast"),
    Say(1003, "/settings"),
    Say(ADMIN, "/review"),
    Say(1001, "/credits"),
)

event_lists = st.lists(events, min_size=10, max_size=40)
