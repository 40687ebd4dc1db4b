"""The scripted demo of issue #5: a suggestion in the terminal demo becomes WJY-<year>-0001; the back office
drives it with ``proposals update``; the member hears about every step and closes it with a rating.

The demo runs as the real entry point (a subprocess); ``proposals update/export`` run through the same
``bot.cli.main`` in-process to keep the test fast.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from handlers import texts
from tests.fakes.process import cli_env

pytestmark = pytest.mark.real

MEMBER = 1001  # 张明 in bot/demo_roster.csv
TEXT = "建议在老城区增设夜间公交线路，很多夜班工人回家不方便"
TITLE = "关于在老城区增设夜间公交线路的建议"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the demo's committee time zone: numbers carry its year


def demo(data_dir: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    script = data_dir.parent / "events.jsonl"
    script.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "demo", "--script", str(script)],
        capture_output=True, text=True, encoding="utf-8", env=cli_env(), cwd=data_dir.parent, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data_dir), *args])
    return code, capsys.readouterr().out


def to_member(lines: list[dict[str, Any]]) -> list[str]:
    return [line["text"] for line in lines if line.get("method") == "sendMessage" and line["chat_id"] == MEMBER]


def test_suggestion_to_closure_through_demo_and_back_office(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cli_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PROPOSALS_WEBHOOK_URL", raising=False)
    data_dir = tmp_path / "data"

    years = {datetime.now(SHANGHAI).year}  # the bot runs on the wall clock: the year it numbers with
    first = demo(data_dir, [
        {"user": MEMBER, "text": TEXT},
        {"user": MEMBER, "press": texts.BTN_PROPOSAL_RECORD},
        {"user": MEMBER, "press": "城乡建设"},
        {"user": MEMBER, "press": texts.BTN_CONFIRM},
    ])
    years.add(datetime.now(SHANGHAI).year)
    said = to_member(first)
    found = re.search(r"WJY-\d{4}-0001", said[-1])
    assert found is not None and found.group(0) in {f"WJY-{year}-0001" for year in years}
    number = found.group(0)
    assert said[0] == texts.PROPOSAL_OFFER.format(preview=TEXT)
    assert f"标题：{TITLE}" in said[2] and "类别：城乡建设" in said[2]
    assert said[-1] == texts.PROPOSAL_SUBMITTED.format(number=number)

    code, out = run(capsys, data_dir, "proposals", "export", "--json")
    assert code == 0
    (record,) = json.loads(out)
    assert (record["number"], record["status"], record["status_label"]) == (number, "submitted", "已提交")
    assert record["member"] == {"name": "张明", "telegram_id": MEMBER}
    assert (record["category"], record["content"], record["title"]) == ("城乡建设", TEXT, TITLE)
    assert record["warning"] is None and [e["status"] for e in record["events"]] == ["submitted"]

    # The back office drives the loop; each step queues one notification for the running bot to send.
    code, out = run(capsys, data_dir, "proposals", "update", number, "--status", "accepted", "--json")
    assert code == 0 and json.loads(out)["notifications_queued"] == 1
    deadline = (datetime.now(SHANGHAI).date() + timedelta(days=30)).isoformat()
    code, out = run(capsys, data_dir, "proposals", "update", number, "--status", "assigned",
                    "--unit", "市交通运输局", "--deadline", deadline, "--json")
    assert code == 0 and json.loads(out)["notifications_queued"] == 1
    code, out = run(capsys, data_dir, "proposals", "update", number, "--status", "closed", "--json")
    assert code == 1 and json.loads(out)["ok"] is False  # only the member's rating closes an item
    code, out = run(capsys, data_dir, "proposals", "update", number, "--status", "answered",
                    "--reply", "已规划开通夜间公交 N3 线路，2027 年 1 月运营。")
    assert code == 0

    # The bot starts, tells the member about each transition once, and the member rates the reply.
    said = to_member(demo(data_dir, [{"user": MEMBER, "press": "满意"}]))
    accepted = texts.PROPOSAL_NOTIFY["accept"].format(who="您的微建议", number=number, title=TITLE)
    assigned = texts.PROPOSAL_NOTIFY["assign"].format(who="您的微建议", number=number, title=TITLE,
                                                      unit="市交通运输局", deadline=deadline)
    assert said[:2] == [accepted, assigned]
    assert "已规划开通夜间公交 N3 线路" in said[2] and texts.PROPOSAL_ASK_RATING in said[2]
    assert said[3:] == [texts.PROPOSAL_RATED.format(rating="满意", number=number)]

    code, out = run(capsys, data_dir, "proposals", "export", "--json")
    (record,) = json.loads(out)
    assert record["status"] == "closed" and record["rating"] == "satisfied" and record["unit"] == "市交通运输局"
    assert [(e["status"], e["actor"]) for e in record["events"]] == [
        ("submitted", "张明"), ("accepted", "后台"), ("assigned", "后台"), ("answered", "后台"), ("closed", "张明")]
    xlsx = tmp_path / "proposals.xlsx"
    assert run(capsys, data_dir, "proposals", "export", "--xlsx", str(xlsx))[0] == 0
    from openpyxl import load_workbook

    book = load_workbook(xlsx)
    assert book["微建议"]["A2"].value == number and book["微建议"]["B2"].value == "已办结"
    assert book["办理记录"].max_row == 6
