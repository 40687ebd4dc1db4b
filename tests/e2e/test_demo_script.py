"""``python -m bot demo --script FILE.jsonl`` prints the JSON Lines contract of DESIGN.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers import texts
from tests.fakes.process import cli_env

pytestmark = pytest.mark.real

ROSTER = (
    "name,sector,district,groups,role,telegram_id,phone\n"
    "张明,经济界,城关区,经济委员会,member,1001,13800000001\n"
    "陈静,医药卫生界,安宁区,教科卫体委员会,member,,13800000003\n"
)


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, encoding="utf-8", env=cli_env(), cwd=data_dir.parent, timeout=120,
    )


def test_demo_script_replays_events_as_json_lines(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    imported = cli(data_dir, "members", "import", str(roster), "--json")
    assert imported.returncode == 0, imported.stderr
    [invite] = json.loads(imported.stdout)["invites"]
    photo = tmp_path / "site.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0fake jpeg")

    events: list[Any] = [
        {"user": 5001, "text": f"/start {invite['code']}"},
        {"user": 5001, "text": "/help"},
        {"user": 5001, "press": "确认"},
        "this is not json",
        {"user": 1001, "photo": "site.jpg"},  # relative to the script's folder
        {"user": 1001},
        {"user": 1001, "location": [36.06, 103.83]},
        {"user": 1001, "text": "/nosuchcommand"},
    ]
    script = tmp_path / "events.jsonl"
    script.write_text("\n".join(e if isinstance(e, str) else json.dumps(e, ensure_ascii=False) for e in events)
                      + "\n", encoding="utf-8")

    result = cli(data_dir, "demo", "--script", str(script))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # stdout is JSON only

    assert lines[0] == {"method": "sendMessage", "chat_id": 5001,
                        "text": texts.BOUND_WELCOME.format(name="陈静"), "buttons": []}
    assert lines[1]["method"] == "sendMessage" and lines[1]["chat_id"] == 5001
    assert lines[1]["text"].startswith(texts.HELP_MEMBER_HEAD) and lines[1]["buttons"] == []
    assert lines[2] == {"error": "no such button", "label": "确认"}
    assert lines[3] == {"error": "bad event", "line": 4}
    assert lines[4] == {"method": "sendMessage", "chat_id": 1001,
                        "text": texts.UNSUPPORTED_MEDIA.format(kind="图片"), "buttons": []}
    assert lines[5] == {"error": "bad event", "line": 6}
    assert lines[6]["chat_id"] == 1001 and lines[6]["text"] == texts.UNSUPPORTED_MEDIA.format(kind="位置")
    assert lines[7] == {"method": "sendMessage", "chat_id": 1001,
                        "text": texts.UNKNOWN_COMMAND.format(command="/nosuchcommand"), "buttons": []}
    assert len(lines) == 8
    assert not {"getMe", "setMyCommands", "deleteWebhook", "getUpdates"} & {line.get("method") for line in lines}
    assert "终端演示" in result.stderr  # the banner goes to stderr in script mode

