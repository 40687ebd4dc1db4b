"""``cppcc-bot members import|list``: whole-file validation, nothing half-imported, invite codes and links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

GOOD = "name,sector,district,groups,role,telegram_id,phone\n张明,经济界,城关区,经济委员会,member,,13800000001\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BOT_USERNAME", "CPPCC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_bad_roster_imports_nothing_and_names_the_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert run(capsys, "--data-dir", data, "members", "import", str(good))[0] == 0

    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "王芳,教育界,,,member,,\n李四,,,,boss,,\n,,,,member,,\n", encoding="gbk")
    code, _, err = run(capsys, "--data-dir", data, "members", "import", str(bad))
    assert code == 1
    assert "未导入任何记录" in err and "第 4 行" in err and "第 5 行" in err and "第 3 行" not in err
    _, out, _ = run(capsys, "--data-dir", data, "members", "list", "--json")
    assert [m["name"] for m in json.loads(out)] == ["张明"]  # 王芳 (a valid row) was not imported either


def test_json_output_with_invite_codes_and_deep_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_USERNAME", "cppcc_demo_bot")
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    code, out, _ = run(capsys, "--data-dir", str(tmp_path / "data"), "members", "import", str(roster), "--json")
    result = json.loads(out)
    assert code == 0 and result["created"] == 1 and result["updated"] == 0
    (invite,) = result["invites"]
    assert invite["name"] == "张明" and invite["link"] == f"https://t.me/cppcc_demo_bot?start={invite['code']}"
    # Re-importing the same file updates, never duplicates, and keeps the code.
    again = json.loads(run(capsys, "--data-dir", str(tmp_path / "data"), "members", "import", str(roster),
                           "--json")[1])
    assert again["created"] == 0 and again["updated"] == 1 and again["invites"][0]["code"] == invite["code"]


def test_missing_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "data"), "members", "import", str(tmp_path / "no.csv"))
    assert code == 1 and "无法读取文件" in err
