"""The issue's scripted demo through the real entry point, then ``credits report --json`` and ``--xlsx``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.commands.credits import DETAIL_HEAD, DETAIL_SHEET, EVIDENCE_LABELS, SUMMARY_HEAD, SUMMARY_SHEET
from store.credits.reports import EVIDENCE_KINDS
from store.credits.rules import DEFAULT_RULES_FILE, default_rules
from tests.fakes.process import cli_env

pytestmark = pytest.mark.real

ROSTER = (
    "name,sector,district,groups,role,telegram_id,phone\n"
    "张明,经济界,城关区,经济委员会,member,1001,13800000001\n"
    "王芳,教育界,七里河区,,member,1002,13800000002\n"
    "李干事,,城关区,委员会办公室,staff,9001,13800000009\n"
)
SCRIPT = [
    {"user": 1001, "text": "今天学习了《政协章程》45分钟"},
    {"user": 1001, "press": "确认"},
    {"user": 1001, "text": "下午又学习了90分钟《协商民主概论》"},
    {"user": 1001, "press": "确认"},
    {"user": 9001, "text": "/event 政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01"},
    {"user": 9001, "text": "/event 上午读书会 | 读书 | -5h | -3h | 代码=DS02"},
    {"user": 1001, "text": "EVT-HY01"},
    {"user": 1001, "text": "EVT-HY01"},
    {"user": 1001, "text": "DS02"},
]


def cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, encoding="utf-8", env=cli_env(**env), cwd=data_dir.parent, timeout=120,
    )


def test_scripted_demo_and_report(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert cli(data_dir, "members", "import", str(roster)).returncode == 0
    script = tmp_path / "credits.jsonl"
    script.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in SCRIPT) + "\n", encoding="utf-8")
    demo = cli(data_dir, "demo", "--script", str(script))
    assert demo.returncode == 0, demo.stderr
    calls = [json.loads(line) for line in demo.stdout.splitlines()]
    to_member = [c["text"] for c in calls if c["chat_id"] == 1001 and c["method"] != "answerCallbackQuery"]
    assert "获得 2 分" in to_member[1]
    assert "本次计 1 分（已达当日上限）" in to_member[3]
    assert "签到成功：政协章程学习会，获得 5 分。" in to_member[4]
    assert "不重复计分" in to_member[5]
    assert "签到已于" in to_member[6] and "未能记录" in to_member[6]
    assert [c["method"] for c in calls if c["chat_id"] == 9001].count("sendPhoto") == 2

    report = cli(data_dir, "credits", "report", "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    members = {m["name"]: m for m in data["members"]}
    assert set(members) == {"张明", "王芳"}
    assert members["张明"]["total"] == 8 and members["张明"]["telegram_id"] == 1001
    assert members["张明"]["by_type"] == {
        "study": 3, "note": 0, "reading": 0, "training": 0, "meeting": 5, "activity": 0, "proposal": 0, "quiz": 0
    }
    assert members["王芳"]["total"] == 0 and members["张明"]["sector"] == "经济界"
    assert members["张明"]["by_evidence"] == {  # the typed check-ins are self-reported (自报)
        "reading": 0, "quiz": 0, "self_report": 3, "event": 5, "proposal": 0, "adjustment": 0}

    adjusted = cli(data_dir, "credits", "adjust", "王芳", "5", "--type", "meeting", "--reason", "补录全体会议")
    assert adjusted.returncode == 0, adjusted.stderr

    xlsx = tmp_path / "credits.xlsx"
    exported = cli(data_dir, "credits", "report", "--xlsx", str(xlsx))
    assert exported.returncode == 0, exported.stderr
    book = load_workbook(xlsx)
    assert book.sheetnames == [SUMMARY_SHEET, DETAIL_SHEET]
    summary = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
    rules = default_rules()
    assert list(summary[0]) == SUMMARY_HEAD + [f"{rules.label(t)}（{t}）" for t in rules.type_ids()] + [
        f"依据：{EVIDENCE_LABELS[k]}" for k in EVIDENCE_KINDS]
    assert summary[1][:5] == ("张明", 1001, "经济界", "城关区", 8)
    assert summary[2][:5] == ("王芳", 1002, "教育界", "七里河区", 5)  # the manual adjustment
    detail = list(book[DETAIL_SHEET].iter_rows(values_only=True))
    assert list(detail[0]) == DETAIL_HEAD
    assert sorted((row[1], row[3], row[5], row[8]) for row in detail[1:]) == [
        ("张明", "meeting", 5, "活动签到"), ("张明", "study", 1, "打卡"), ("张明", "study", 2, "打卡"),
        ("王芳", "meeting", 5, "人工调整"),
    ]
    assert sorted(str(row[-1]) for row in detail[1:]) == ["人工调整", "活动签到", "自报", "自报"]


def test_bad_rules_file_refuses_to_start(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8").replace("annual_target = 60", "annual_target = -1")
    bad.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row.startswith("annual_target"))
    result = cli(tmp_path / "data", "run", TELEGRAM_BOT_TOKEN="1:x", CREDIT_RULES_FILE=str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and f"line {line}: annual_target" in result.stderr
