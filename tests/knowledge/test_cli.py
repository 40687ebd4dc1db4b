from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.commands import kb as kb_commands
from bot.settings import Settings


def _run(argv: list[str], settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    kb_commands.register(sub)
    args = parser.parse_args(argv)
    code = args.func(args, settings)
    return code, capsys.readouterr().out


def test_kb_cli_ingest_search_eval_list_remove(tmp_path: Path, samples: Path, sample_docs, capsys) -> None:
    settings = Settings(CPPCC_DATA_DIR=tmp_path / "data", embedder="hash")
    code, out = _run(["kb", "ingest", *map(str, sample_docs[:3])], settings, capsys)
    assert code == 0 and "3 files ingested" in out

    code, out = _run(["kb", "search", "国歌在什么场合奏唱", "-k", "3", "--json"], settings, capsys)
    obj = json.loads(out)
    assert set(obj) == {"question", "answered", "mode", "answer", "passages", "candidates"}
    assert obj["mode"] in ("answer", "candidates", "refusal") and obj["answered"] == (obj["mode"] == "answer")
    assert len(obj["passages"]) <= 3
    assert set(obj["passages"][0]) == {"source", "title", "article", "text", "score"}

    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(
        "\n".join((samples / "eval-visible.jsonl").read_text(encoding="utf-8").splitlines()[23:25]),
        encoding="utf-8",
    )
    code, out = _run(["kb", "eval", str(eval_file), "--json"], settings, capsys)
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [row["id"] for row in lines[:-1]] == ["v24", "v25"]
    for row in lines[:-1]:  # per-question decision details, so misses can be inspected
        assert row["expected"] == "answer" and row["mode"] in ("answer", "candidates", "refusal")
        assert row["via"] in ("extractive", "candidates", "refusal") and isinstance(row["candidates"], list)
        assert row["correct"] == row["answered"] and isinstance(row["confidence"], float)
        assert row["support"] is None or 0.0 <= row["support"] <= 1.0
        assert row["quoted"] and row["quoted"].startswith(row["passages"][0]["source"])
    assert set(lines[-1]["summary"]) == {"hit@1", "hit@5", "mrr", "refusal_accuracy", "n"}
    assert lines[-1]["summary"]["n"] == 2

    code, out = _run(["kb", "eval", str(eval_file)], settings, capsys)
    assert code == 0 and "mode=" in out and "confidence=" in out and "support=" in out

    code, out = _run(["kb", "list"], settings, capsys)
    assert "中华人民共和国国歌法.md" in out
    code, out = _run(["kb", "remove", "中华人民共和国国歌法.md"], settings, capsys)
    assert code == 0
    code, _ = _run(["kb", "remove", "nope.md"], settings, capsys)
    assert code == 1
