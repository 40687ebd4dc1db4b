"""``cppcc-bot learning plan --week next``: the staff preview from the command line (nothing saved)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.settings import load_settings
from store import preferences
from store.db import Database
from store.learning.materials import MaterialInput, create_material
from store.models import LearningPush, Member

ROSTER = "name,sector,district,groups,role,telegram_id,phone\n张明,经济界,城关区,,member,1001,13800000001\n"
LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BOT_USERNAME", "CPPCC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


async def _seed(url: str) -> None:
    db = Database(url)
    async with db.session() as session:
        member = await session.scalar(select(Member).where(Member.telegram_id == 1001))
        assert member is not None
        await preferences.toggle_topic(session, member_id=member.id, topic="经济发展", now=LONG_AGO)
        await create_material(session, data=MaterialInput(title="优化营商环境条例解读", kind="text", body="正文。",
                                                          estimated_minutes=10, topics=["经济发展"]),
                              created_by=None, now=LONG_AGO)
        await session.commit()
    await db.dispose()


async def _count(url: str) -> int:
    db = Database(url)
    async with db.session() as session:
        n = int(await session.scalar(select(func.count()).select_from(LearningPush)) or 0)
    await db.dispose()
    return n


def test_plan_next_week_json_lists_the_push(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    assert main(["--data-dir", str(data), "members", "import", str(roster)]) == 0
    url = load_settings(None, data_dir=data).resolved_database_url
    asyncio.run(_seed(url))
    capsys.readouterr()
    assert main(["--data-dir", str(data), "learning", "plan", "--week", "next", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["per_week"] == 2 and result["saved"] is False
    assert [(p["member"], p["material"], p["reason"], p["topic"]) for p in result["pushes"]] == [
        ("张明", "优化营商环境条例解读", "topic", "经济发展")]
    assert asyncio.run(_count(url)) == 0
    assert main(["--data-dir", str(data), "learning", "plan", "--week", "next"]) == 0
    text = capsys.readouterr().out
    assert "预览" in text and "《优化营商环境条例解读》" in text and "关注主题（经济发展）" in text
