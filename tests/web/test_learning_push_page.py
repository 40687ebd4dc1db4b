"""学习推送 (console): staff see next week's plan before it goes out (nothing saved), and this week's rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from store import preferences
from store.learning import pushes
from store.learning.materials import MaterialInput, create_material
from store.learning.planner import week_start
from store.models import LearningPush, Member
from tests.web.conftest import Clock, SignedIn
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]


async def _setup(console: Console, member: Member, now_days_ago: int = 10) -> None:
    async with console.db.session() as session:
        await preferences.toggle_topic(session, member_id=member.id, topic="经济发展", now=console.clock())
        await create_material(session, data=MaterialInput(title="优化营商环境条例解读", kind="text", body="正文。",
                                                          estimated_minutes=10, topics=["经济发展"]),
                              created_by=None, now=console.clock() - timedelta(days=now_days_ago))
        await session.commit()


async def _rows(console: Console) -> int:
    async with console.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(LearningPush)) or 0)


async def test_next_week_preview_lists_the_push_and_saves_nothing(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member],
) -> None:
    await _setup(console, people["member"])
    await sign_in(client, people["staff"])
    response = await client.get("/console/learning_push")
    assert response.status_code == 200
    html = response.text
    assert "张明" in html and "《优化营商环境条例解读》" in html and "关注主题" in html and "经济发展" in html
    assert "预览" in html
    assert await _rows(console) == 0  # a preview
    assert 'href="/console/learning_push"' in html  # in the navigation


async def test_this_week_shows_saved_rows_with_status(
    client: httpx.AsyncClient, console: Console, clock: Clock, sign_in: SignIn, people: dict[str, Member],
) -> None:
    await _setup(console, people["member"])
    async with console.db.session() as session:
        saved = await pushes.plan_and_save(
            session, week_from=week_start(clock(), console.config.tz), now=clock(),
            config=console.config.learning_push, defaults=console.config.prefs_defaults, tz=console.config.tz)
        await session.commit()
    assert saved >= 1
    await sign_in(client, people["staff"])
    html = (await client.get("/console/learning_push", params={"week": "this"})).text
    assert "《优化营商环境条例解读》" in html and "待发送" in html
    bogus = await client.get("/console/learning_push", params={"week": "<script>"})
    assert bogus.status_code == 200 and "<script>" not in bogus.text


async def test_signed_out_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/learning_push")
    assert response.status_code in (303, 401, 403)
