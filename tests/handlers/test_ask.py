"""Questions in Telegram: cited answers, refusals passed to staff, feedback, /gaps, FAQ, 查看原文."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from handlers import texts
from handlers.context import Services
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from store.models import Member
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

RULES = """标题：委员履职管理办法（试行） | 发布机关：本委员会办公室 | 版本：2026年

# 委员履职管理办法（试行）

## 第一章 总则

第一条 为规范委员履职，制定本办法。

第二条 委员每年参加集中学习不少于四次，并按时完成学习打卡。

## 第二章 提案

第三条 委员提出的提案，承办单位一般应当在三个月内书面答复；情况复杂的，经同意可以延长，但延长期限不超过三个月。
"""
MEMBER, OTHER, STAFF = 1001, 1002, 9001


@pytest.fixture
def kb(tmp_path: Path, services: Services) -> Iterator[KnowledgeBase]:
    """A small knowledge base on the hashed test embedder, plugged into the services."""
    doc = tmp_path / "委员履职管理办法.md"
    doc.write_text(RULES, encoding="utf-8")
    config = KnowledgeConfig(persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.2))
    base = KnowledgeBase.open(config, embedder=HashEmbedder())
    assert not base.ingest([doc]).skipped
    services.knowledge = base
    yield base
    services.knowledge = None


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[Member]]]) -> list[Member]:
    return await roster({"name": "张明", "telegram_id": MEMBER}, {"name": "王芳", "telegram_id": OTHER},
                        {"name": "李干事", "telegram_id": STAFF, "role": "staff"})


async def test_answer_quotes_the_article_with_citation_and_buttons(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    replies = await chat.send(MEMBER, "委员每年参加几次集中学习")
    assert "《委员履职管理办法（试行）》第二条" in replies.text
    assert "不少于四次" in replies.text
    assert replies.buttons == [texts.BTN_USEFUL, texts.BTN_USELESS, texts.BTN_SOURCE]
    original = await chat.tap(MEMBER, texts.BTN_SOURCE)
    assert any("第二条 委员每年参加集中学习不少于四次" in t for t in original.texts)


async def test_ask_command_answers_and_empty_ask_explains(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    assert (await chat.send(MEMBER, "/ask")).text == texts.ASK_PROMPT
    assert "第二条" in (await chat.send(MEMBER, "/ask 委员每年参加几次集中学习")).text


async def test_refusal_is_passed_to_staff_and_listed_in_gaps(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue, fake: FakeBotApi
) -> None:
    refused = await chat.send(MEMBER, "股票怎么买")
    assert "知识库中暂未找到" in refused.text
    assert refused.buttons == [texts.BTN_PASS_TO_STAFF]
    await chat.tap(MEMBER, texts.BTN_PASS_TO_STAFF)
    (alert,) = fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)
    assert "股票怎么买" in (alert.text or "") and "张明" in (alert.text or "")

    await chat.send(OTHER, "委员每年参加几次集中学习")
    await chat.tap(OTHER, texts.BTN_USELESS)
    gaps = await chat.send(STAFF, "/gaps")
    assert texts.GAPS_HEAD in gaps.text
    assert "股票怎么买（1 次：未答 1，没用 0）" in gaps.text
    assert "委员每年参加几次集中学习（1 次：未答 0，没用 1）" in gaps.text


async def test_gaps_is_staff_only(kb: KnowledgeBase, people: list[Member], chat: Dialogue) -> None:
    assert (await chat.send(MEMBER, "/gaps")).text == texts.STAFF_ONLY
    assert (await chat.send(MEMBER, "/faq 问题 | 答案")).text == texts.STAFF_ONLY


async def test_feedback_only_on_own_questions_and_forged_data(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    answer = await chat.send(MEMBER, "委员每年参加几次集中学习")
    useful = await chat.tap(MEMBER, texts.BTN_USEFUL)
    assert useful.text == texts.FEEDBACK_THANKS_USEFUL
    data = next(c for c in chat.fake.bot_calls("sendMessage", chat_id=MEMBER) if c.buttons)
    assert data is not None and answer
    # Another member pressing forged data for that question changes nothing.
    assert (await chat.press(OTHER, "qa:fb:1:x")).text == texts.NOT_YOUR_QUESTION
    assert (await chat.press(OTHER, "qa:fb:abc:x")).text == texts.STALE_BUTTON
    assert (await chat.press(OTHER, "qa:src:999")).text == texts.STALE_BUTTON
    gaps = await chat.send(STAFF, "/gaps")
    assert gaps.text == texts.GAPS_EMPTY


async def test_staff_faq_is_matched_before_retrieval(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    saved = await chat.send(STAFF, "/faq 委员证丢了怎么补办？ | 请带身份证到委员会办公室填写补办申请表。")
    assert saved.text == texts.FAQ_SAVED.format(id=1)
    reply = await chat.send(MEMBER, "委员证丢了怎么补办")
    assert "请带身份证到委员会办公室" in reply.text and texts.FAQ_ANSWER_SOURCE in reply.text
    assert (await chat.send(STAFF, "/faq 只有问题")).text == texts.FAQ_USAGE


async def test_too_long_question_and_no_knowledge_base(
    people: list[Member], chat: Dialogue, services: Services
) -> None:
    long = await chat.send(MEMBER, "提案" * 300)
    assert long.text == texts.QUESTION_TOO_LONG.format(length=600, limit=500)
    assert services.knowledge is None
    assert (await chat.send(MEMBER, "委员每年参加几次集中学习")).text.startswith(texts.KB_UNAVAILABLE)


async def test_a_question_is_passed_to_staff_once(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue, fake: FakeBotApi
) -> None:
    refused = await chat.send(MEMBER, "股票怎么买")
    assert refused.buttons == [texts.BTN_PASS_TO_STAFF]
    presses = [await chat.tap(MEMBER, texts.BTN_PASS_TO_STAFF) for _ in range(5)]
    assert len(fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)) == 1
    assert texts.PASSED_TO_STAFF in presses[0].text
    assert all(texts.ALREADY_PASSED_TO_STAFF in p.text for p in presses[1:])


async def test_thanks_greetings_and_stray_characters_are_not_questions(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    cases = [("谢谢！", texts.REPLY_THANKS), ("好的，谢谢", texts.REPLY_THANKS), (" 收到 ", texts.REPLY_THANKS),
             ("嗯", texts.REPLY_THANKS), ("您好", texts.REPLY_HELLO), ("在吗？", texts.REPLY_HELLO),
             ("Hello", texts.REPLY_HELLO), ("1", texts.QUESTION_TOO_SHORT), ("？", texts.QUESTION_TOO_SHORT),
             ("123", texts.QUESTION_TOO_SHORT)]
    for said, reply in cases:
        replies = await chat.send(MEMBER, said)
        assert replies.texts == [reply], said
    short = await chat.send(MEMBER, "请假")  # two characters of a real topic still go to the knowledge base
    assert short.texts and short.texts[0] not in (texts.REPLY_THANKS, texts.REPLY_HELLO, texts.QUESTION_TOO_SHORT)
    gaps = await chat.send(STAFF, "/gaps")
    assert "谢谢" not in gaps.text and "1（" not in gaps.text and "在吗" not in gaps.text


async def test_a_review_action_typed_by_staff_points_to_the_card_buttons(
    kb: KnowledgeBase, people: list[Member], chat: Dialogue
) -> None:
    for said, action in (("受理", "受理"), ("不予受理。", "不予受理"), (" 交办 ", "交办")):
        replies = await chat.send(STAFF, said)
        assert replies.texts == [texts.PROPOSAL_REVIEW_TYPED_ACTION.format(action=action)], said
    # a member typing the same word is asking about it; staff asking a real question get an answer
    member = await chat.send(MEMBER, "受理")
    assert member.texts and "/review" not in member.text
    question = await chat.send(STAFF, "受理以后多久答复")
    assert "/review" not in question.text
    gaps = await chat.send(STAFF, "/gaps")
    assert "交办" not in gaps.text
