"""The dependency rules of DESIGN.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN: dict[str, set[str]] = {
    "store": {
        "telegram", "langchain", "langchain_core", "langchain_openai", "chromadb", "knowledge", "handlers", "bot",
        "web", "fastapi", "starlette", "jinja2",
    },
    "knowledge": {"telegram", "store", "handlers", "bot", "web"},
    "handlers": {"bot", "web", "langchain", "langchain_core", "langchain_openai", "chromadb"},
    "web": {"telegram", "bot", "handlers", "langchain", "langchain_core", "langchain_openai", "chromadb"},
}
SQL_CALLS = {"select", "insert", "update", "delete", "text"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_import_rules(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("package", ["handlers", "web"])
def test_adapters_contain_no_sql(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
                imported = {a.name for a in node.names}
                if imported & SQL_CALLS:
                    offenders.append(f"{path.relative_to(ROOT)}: {sorted(imported & SQL_CALLS)}")
    assert offenders == []


def test_forbidden_import_is_detected(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import telegram.ext\nfrom store.models import Member\nfrom . import x\n")
    assert _imports(sample) == {"telegram", "store"}


def test_web_never_mentions_telegram_in_code() -> None:
    """The console is a second adapter: nothing of Telegram's API in it (links to t.me are data, not code)."""
    for path in (ROOT / "web").rglob("*.py"):
        assert "telegram" not in _imports(path), path
        assert "sqlalchemy" not in _imports(path), path
