"""The terminal demo in-process: seeding, script replay, and how REPL lines are understood."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.demo import DemoSession, Event, interpret, parse_event, run_demo
from bot.localapi import LocalBotApi
from bot.settings import Settings
from handlers import texts


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    # The knowledge base opens with the offline hash embedder and no starter guides (fast).
    return settings.model_copy(update={"embedder": "hash", "starter_kb": False})


async def test_script_on_empty_database_seeds_demo_roster(demo_settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "events.jsonl"
    script.write_text('{"user": 9001, "text": "/help"}\n{"user": 1001, "text": "/help"}\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await run_demo(demo_settings, script=script, out=out, err=err) == 0
    staff, member = (json.loads(line) for line in out.getvalue().splitlines())
    assert staff["chat_id"] == 9001 and texts.HELP_STAFF_HEAD in staff["text"]  # 李干事 is staff
    assert member["chat_id"] == 1001 and texts.HELP_STAFF_HEAD not in member["text"]
    banner = err.getvalue()
    assert "李干事" in banner and "陈静" in banner  # bound users and the pending invite are listed
    # Second start: nothing is re-imported, and its updates are not mistaken for redelivered ones.
    out2, err2 = io.StringIO(), io.StringIO()
    assert await run_demo(demo_settings, script=script, out=out2, err=err2) == 0
    assert "首次运行" in banner and "首次运行" not in err2.getvalue()
    assert [json.loads(line)["chat_id"] for line in out2.getvalue().splitlines()] == [9001, 1001]


async def test_missing_script_is_reported(demo_settings: Settings, tmp_path: Path) -> None:
    err = io.StringIO()
    assert await run_demo(demo_settings, script=tmp_path / "nope.jsonl", out=io.StringIO(), err=err) == 2
    assert "nope.jsonl" in err.getvalue()


@pytest.mark.parametrize("line", [
    "[1, 2]", '{"user": 1001}', '{"user": 0, "text": "hi"}', '{"user": 1001, "text": "a", "press": "b"}',
    '{"user": 1001, "location": [91, 0]}', '{"user": 1001, "location": "36,103"}', '{"user": 1001, "text": ""}',
    '{"user": true, "text": "hi"}',
])
def test_parse_event_rejects_malformed_lines(line: str) -> None:
    with pytest.raises(ValueError):
        parse_event(line)


def test_parse_event_accepts_the_design_shapes() -> None:
    assert parse_event('{"user": 1001, "press": "确认"}') == Event(1001, "press", "确认")
    assert parse_event('{"user": 1001, "location": [36.06, 103]}') == Event(1001, "location", (36.06, 103.0))


async def test_repl_lines(tmp_path: Path) -> None:
    api = LocalBotApi()
    session = DemoSession(app=None, api=api, names={})  # type: ignore[arg-type]  # REPL parsing never uses the app
    markup = {"inline_keyboard": [
        [{"text": "确认", "callback_data": "x:ok"}, {"text": "修改", "callback_data": "x:ed"}],
        [{"text": "取消", "callback_data": "x:no"}],
    ]}
    await api.call("sendMessage", {"chat_id": 1001, "text": "记录吗？", "reply_markup": markup})
    assert interpret("[修改]", 1001, session) == Event(1001, "press", "修改")
    assert interpret("3", 1001, session) == Event(1001, "press", "取消")
    assert interpret("4", 1001, session) == Event(1001, "text", "4")  # no 4th button: plain text
    assert interpret("2", 1002, session) == Event(1002, "text", "2")  # 1002 has no keyboard
    assert interpret("/as 9001", 1001, session) == 9001
    assert isinstance(interpret("/as nobody", 1001, session), str)
    assert interpret("/location 36.06 103.83", 1001, session) == Event(1001, "location", (36.06, 103.83))
    assert interpret("/photo a.jpg", 1001, session) == Event(1001, "photo", "a.jpg")
    assert interpret("/quit", 1001, session) is None
    assert interpret("今天学习了40分钟", 1001, session) == Event(1001, "text", "今天学习了40分钟")


async def test_demo_library_is_seeded_from_the_starter_guides(demo_settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "learn.jsonl"
    script.write_text('{"user": 1001, "text": "/learn"}\n{"user": 1001, "press": "必学"}\n'
                      '{"user": 1001, "press": "1. 委员学习打卡与履职积分说明"}\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await run_demo(demo_settings, script=script, out=out, err=err) == 0
    calls = [json.loads(line) for line in out.getvalue().splitlines()]
    menu, required, page = (c for c in calls if c["method"] != "answerCallbackQuery")
    assert "共 4 份资料" in menu["text"]
    assert "委员学习打卡与履职积分说明" in required["text"] and "【本季度必学】" in required["text"]
    assert "《委员学习打卡与履职积分说明》  第 1/" in page["text"] and "#" not in page["text"]
async def test_demo_has_an_approved_daily_question(demo_settings: Settings, tmp_path: Path) -> None:
    script = tmp_path / "events.jsonl"
    script.write_text('{"user": 1001, "text": "/daily"}\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await run_demo(demo_settings, script=script, out=out, err=err) == 0
    (card,) = (json.loads(line) for line in out.getvalue().splitlines())
    assert texts.QUIZ_DAILY_HEAD in card["text"] and "《中国人民政治协商会议章程》" in card["text"]
