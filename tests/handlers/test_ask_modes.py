"""The three-way decision in Telegram: confident answer, candidate articles as buttons, refusal.

The knowledge base is real (hashed embedder, learned-ranking path); its calibrator is replaced by a
constant probability so each test chooses the decision it exercises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from handlers import texts
from handlers.context import Services
from knowledge import texts as kb_texts
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.ranking import CALIB_FEATURES, RANK_FEATURES, DecisionModel, LinearModel
from knowledge.service import KnowledgeBase
from store.models import Member, QuestionLog
from tests.fakes.dialogue import Dialogue
from tests.handlers.test_ask import MEMBER, OTHER, RULES, STAFF


def _model(probability: float, answer: float, candidates: float) -> DecisionModel:
    """Ranker on lexical support and cosine; calibrator constant at ``probability``."""
    rank_w = np.zeros(len(RANK_FEATURES))
    rank_w[RANK_FEATURES.index("support")] = 2.0
    rank_w[RANK_FEATURES.index("dense_cos")] = 1.0
    d = len(CALIB_FEATURES)
    logit = float(np.log(probability / (1 - probability)))
    return DecisionModel(
        ranker=LinearModel(RANK_FEATURES, rank_w, 0.0, np.zeros(len(RANK_FEATURES)), np.ones(len(RANK_FEATURES))),
        calibrator=LinearModel(CALIB_FEATURES, np.zeros(d), logit, np.zeros(d), np.ones(d)),
        answer_threshold=answer,
        candidate_threshold=candidates,
        associations={},
        info={},
    )


@pytest.fixture
def open_kb(tmp_path: Path, services: Services) -> Iterator[Callable[[DecisionModel], KnowledgeBase]]:
    doc = tmp_path / "委员履职管理办法.md"
    doc.write_text(RULES, encoding="utf-8")

    def make(model: DecisionModel) -> KnowledgeBase:
        path = tmp_path / "ranker.json"
        model.save(path)
        config = KnowledgeConfig(
            persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.2), ranker_model=path
        )
        base = KnowledgeBase.open(config, embedder=HashEmbedder())
        assert base.model is not None
        assert not base.ingest([doc]).skipped
        services.knowledge = base
        return base

    yield make
    services.knowledge = None


@pytest.fixture
async def people(roster: Callable[..., Awaitable[list[Member]]]) -> list[Member]:
    return await roster({"name": "张明", "telegram_id": MEMBER}, {"name": "王芳", "telegram_id": OTHER},
                        {"name": "李干事", "telegram_id": STAFF, "role": "staff"})


async def _logged(services: Services) -> list[QuestionLog]:
    async with services.db.session() as session:
        return list(await session.scalars(select(QuestionLog).order_by(QuestionLog.id)))


async def test_uncertain_question_offers_candidate_articles_that_open_their_clause(
    open_kb: Callable[[DecisionModel], KnowledgeBase], people: list[Member], chat: Dialogue, services: Services
) -> None:
    open_kb(_model(0.5, answer=0.9, candidates=0.2))
    reply = await chat.send(MEMBER, "提案的答复期限能延长吗")
    assert reply.text.startswith(kb_texts.CANDIDATES_INTRO)
    assert "《委员履职管理办法（试行）》第三条" in reply.text
    labels = reply.buttons
    assert labels[-1] == texts.BTN_PASS_TO_STAFF and 2 <= len(labels) <= 4
    assert all(label.startswith(f"{i}. 《委员履职管理办法（试行）》") for i, label in enumerate(labels[:-1], start=1))
    (entry,) = await _logged(services)
    assert entry.kb_mode == "candidates" and not entry.answered and entry.opened_candidate is None
    rank = next(i for i, s in enumerate(entry.sources, start=1) if s["article"] == "第三条")

    opened = await chat.tap(MEMBER, labels[rank - 1])
    assert any("第三条 委员提出的提案，承办单位一般应当在三个月内书面答复" in t for t in opened.texts)
    (entry,) = await _logged(services)
    assert entry.opened_candidate == rank

    # Forged or foreign data changes nothing.
    for data in (f"qa:open:{entry.id}:9", f"qa:open:{entry.id}:0", f"qa:open:{entry.id}:x", "qa:open:99:1",
                 f"qa:open:{entry.id}:1:1", f"qa:open:{entry.id}"):
        assert (await chat.press(MEMBER, data)).text == texts.STALE_BUTTON
    assert (await chat.press(OTHER, f"qa:open:{entry.id}:1")).text == texts.STALE_BUTTON
    (entry,) = await _logged(services)
    assert entry.opened_candidate == rank

    await chat.tap(MEMBER, texts.BTN_PASS_TO_STAFF)
    gaps = await chat.send(STAFF, "/gaps")
    assert "提案的答复期限能延长吗（1 次：未答 0，仅给出可能相关条款 1，没用 0）" in gaps.text


async def test_confident_answer_is_quoted_and_logged_as_answer(
    open_kb: Callable[[DecisionModel], KnowledgeBase], people: list[Member], chat: Dialogue, services: Services
) -> None:
    open_kb(_model(0.95, answer=0.9, candidates=0.2))
    reply = await chat.send(MEMBER, "委员每年参加几次集中学习")
    assert "《委员履职管理办法（试行）》第二条" in reply.text and "不少于四次" in reply.text
    assert reply.buttons == [texts.BTN_USEFUL, texts.BTN_USELESS, texts.BTN_SOURCE]
    (entry,) = await _logged(services)
    assert entry.kb_mode == "answer" and entry.answered
    assert (await chat.press(MEMBER, f"qa:open:{entry.id}:1")).text == texts.STALE_BUTTON  # no candidates here


async def test_not_covered_question_is_refused_and_logged_as_refusal(
    open_kb: Callable[[DecisionModel], KnowledgeBase], people: list[Member], chat: Dialogue, services: Services
) -> None:
    open_kb(_model(0.1, answer=0.9, candidates=0.2))
    reply = await chat.send(MEMBER, "股票怎么买")
    assert "知识库中暂未找到" in reply.text
    assert reply.buttons == [texts.BTN_PASS_TO_STAFF]
    (entry,) = await _logged(services)
    assert entry.kb_mode == "refusal" and not entry.answered and entry.sources == []
    gaps = await chat.send(STAFF, "/gaps")
    assert "股票怎么买（1 次：未答 1，没用 0）" in gaps.text
