"""/console in Telegram, and the bot seeing what staff change in the console (FAQ, questions' outcomes)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from handlers import texts
from handlers.context import Services
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from store import app_state, audit
from store import questions as questions_repo
from store.models import Member
from tests.fakes.dialogue import Dialogue
from web.app import create_app
from web.state import Console, ConsoleConfig

LINK = re.compile(r"(http://127\.0\.0\.1:8080/console/login\?t=\S+)")


async def test_staff_get_a_one_time_link_that_signs_them_in(
    chat: Dialogue, services: Services, roster: Callable[..., Awaitable[list[Member]]], tmp_path: Path
) -> None:
    await roster({"name": "张明", "telegram_id": 1001}, {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    refused = await chat.send(1001, "/console")
    assert texts.STAFF_ONLY in refused.text and "console/login" not in refused.text
    replies = await chat.send(9001, "/console")
    found = LINK.search(replies.text)
    assert found, replies.text
    [call] = chat.fake.bot_calls("sendMessage", chat_id=9001)[-1:]
    assert (call.params.get("link_preview_options") or {}).get("is_disabled") is True
    console = Console(db=services.db, config=ConsoleConfig(data_dir=tmp_path), clock=services.clock)
    token = found.group(1).split("?t=", 1)[1]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console)),
                                 base_url="http://127.0.0.1:8080") as client:
        assert (await client.post("/console/login", data={"t": token})).status_code == 303
        assert "李干事" in (await client.get("/console/")).text
        assert (await client.post("/console/login", data={"t": token})).status_code == 410
    async with services.db.session() as session:
        actions = [e.action for e in await audit.entries(session)]
    assert actions[:2] == ["console.signin", "console.link"]


async def test_bot_uses_faq_changed_elsewhere_and_logs_outcomes(
    chat: Dialogue, services: Services, roster: Callable[..., Awaitable[list[Member]]], tmp_path: Path
) -> None:
    """An FAQ entry saved by another process (the console) is used at the next question, without a restart."""
    [member, staff] = await roster({"name": "张明", "telegram_id": 1001},
                                   {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    services.knowledge = KnowledgeBase.open(
        KnowledgeConfig(persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.1)),
        embedder=HashEmbedder())
    try:
        first = await chat.send(1001, "委员证丢了怎么补办")
        assert "办公室补办" not in first.text
        async with services.db.session() as session:  # what the console does, in its own transaction
            await questions_repo.add_faq(session, question="委员证丢了怎么补办", answer="请到办公室补办。",
                                         at=services.clock(), created_by=staff.id)
            await app_state.bump(session, name=app_state.FAQ_REVISION, now=services.clock())
        second = await chat.send(1001, "委员证丢了怎么补办？")
        assert "请到办公室补办。" in second.text
        async with services.db.session() as session:
            logged = await questions_repo.recent_questions(session)
            faq = await questions_repo.active_faq(session)
        assert [q.mode for q in logged] == [questions_repo.MODE_FAQ, questions_repo.MODE_REFUSED]
        assert faq[0].hits == 1
        async with services.db.session() as session:  # retired in the console: the bot stops using it
            await questions_repo.set_faq_active(session, faq_id=faq[0].id, active=False, at=services.clock())
            await app_state.bump(session, name=app_state.FAQ_REVISION, now=services.clock())
        third = await chat.send(1001, "委员证丢了怎么补办")
        assert "请到办公室补办。" not in third.text
        assert member.id == logged[0].member_id
    finally:
        services.knowledge = None
