from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from knowledge import texts
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.llm import CHOICE_POOL, check_citations, parse_choice
from knowledge.models import Passage
from knowledge.retrieval import Retrieval
from knowledge.service import KnowledgeBase

P28 = Passage("章程.md", "中国人民政治协商会议章程", "第二十八条", "第二十八条 ……有声明退出的自由。", 1.0)


def test_check_citations_drops_invented_ones() -> None:
    text = "可以退出，见《中国人民政治协商会议章程》第二十八条；另据《政协委员管理办法》第五条，须提前申请。"
    cleaned, cites = check_citations(text, [P28])
    assert [str(c) for c in cites] == ["《中国人民政治协商会议章程》第二十八条"]
    assert "政协委员管理办法" not in cleaned and "第二十八条" in cleaned
    cleaned, cites = check_citations("依据《中国人民政治协商会议章程》第九十条。", [P28])
    assert cites == [] and "第九十条" not in cleaned


def test_llm_path_cites_only_retrieved_clauses(tmp_path, sample_docs) -> None:
    fake = FakeListChatModel(
        responses=[
            "可以。参加政协的单位和个人有声明退出的自由（《中国人民政治协商会议章程》第二十八条）。"
            "另外《委员退出管理办法》第三条规定须提前三十天申请。"
        ]
    )
    config = KnowledgeConfig(persist_dir=tmp_path / "c", embedder="hash", thresholds=Thresholds(min_dense=0.1))
    kb = KnowledgeBase.open(config, chat_model=fake)
    kb.ingest(sample_docs)
    answer = kb.answer("委员可以声明退出政协吗")
    assert answer.answered and answer.mode == "llm"
    retrieved = {(p.title, p.label) for p in answer.passages}
    assert answer.citations and all((c.title, c.label) in retrieved for c in answer.citations)
    assert "委员退出管理办法" not in answer.text
    assert "《中国人民政治协商会议章程》第二十八条" in answer.text


def test_llm_failure_falls_back_to_extractive(tmp_path, sample_docs) -> None:
    class Broken(FakeListChatModel):
        def invoke(self, *args, **kwargs):
            raise RuntimeError("server down")

    config = KnowledgeConfig(persist_dir=tmp_path / "c", embedder="hash", thresholds=Thresholds(min_dense=0.1))
    kb = KnowledgeBase.open(config, chat_model=Broken(responses=["x"]))
    kb.ingest(sample_docs[:4])
    answer = kb.answer("国歌在什么场合奏唱")
    assert answer.answered and answer.mode == "extractive"


def test_llm_not_called_when_evidence_is_missing(tmp_path, sample_docs) -> None:
    fake = FakeListChatModel(responses=[])  # would raise if called
    config = KnowledgeConfig(persist_dir=tmp_path / "c", embedder="hash", thresholds=Thresholds(min_dense=0.99))
    kb = KnowledgeBase.open(config, chat_model=fake)
    kb.ingest(sample_docs[:2])
    assert kb.answer("学习打卡一次能加几个积分").answered is False


# ---- choosing the candidates when no clause answers directly -------------------------------------


class RecordingChat(FakeListChatModel):
    """Answers from its list and keeps every prompt it was sent."""

    prompts: list[list[Any]] = Field(default_factory=list)

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(args[0]))
        return super().invoke(*args, **kwargs)


def _pool(n: int = 10) -> list[Passage]:
    return [
        Passage("办法.md", "履职管理办法", f"第{i}条", f"第{i}条 条文内容{i}。", 1.0 - i / 100) for i in range(1, n + 1)
    ]


def _kb_with_candidates(tmp_path: Path, chat: Any, *, rerank: bool = True) -> tuple[KnowledgeBase, list[int]]:
    """A knowledge base whose retrieval says "candidates" over ten ranked articles; records the k asked for."""
    config = KnowledgeConfig(persist_dir=tmp_path / "c", embedder="hash", llm_rerank=rerank)
    kb = KnowledgeBase.open(config, chat_model=chat)
    asked: list[int] = []

    def retrieve(question: str, k: int = 5) -> Retrieval:
        asked.append(k)
        return Retrieval(_pool()[:k], 0.8, 0.8, 0.5, decision="candidates", probability=0.2)

    kb.retrieve = retrieve  # type: ignore[method-assign]
    return kb, asked


def test_parse_choice() -> None:
    assert parse_choice("3,1", 10) == [2, 0]
    assert parse_choice("[4]、[2]、[7]、[1]", 10) == [3, 1, 6]  # at most three
    assert parse_choice("2，2，12，0", 10) == [1]  # repeats and numbers outside 1..10 are dropped
    assert parse_choice("0", 10) == []
    assert parse_choice("我无法判断", 10) is None
    assert parse_choice("11", 10) is None


def test_the_chat_model_chooses_which_candidates_are_offered(tmp_path: Path) -> None:
    chat = RecordingChat(responses=["7,2"])
    kb, asked = _kb_with_candidates(tmp_path, chat)
    answer = kb.answer("委员请假要走什么手续")
    assert asked == [CHOICE_POOL]
    assert answer.mode == "candidates" and not answer.answered
    assert [c.label for c in answer.candidates] == ["第7条", "第2条", "第1条"]
    assert [p.label for p in answer.passages[:3]] == ["第7条", "第2条", "第1条"]
    assert len(answer.passages) == CHOICE_POOL  # nothing is lost, only reordered
    assert "1. 《履职管理办法》第7条" in answer.text
    (system, user), = chat.prompts
    assert system.content == texts.LLM_CHOOSE_PROMPT
    for i, passage in enumerate(_pool(), start=1):
        assert f"[{i}] 《履职管理办法》{passage.label}\n{passage.text}" in user.content
    assert user.content.endswith(texts.LLM_QUESTION.format(question="委员请假要走什么手续"))


@pytest.mark.parametrize("reply", ["0", "都不相关", "15"])
def test_no_usable_choice_keeps_the_rankers_order(tmp_path: Path, reply: str) -> None:
    kb, _ = _kb_with_candidates(tmp_path, RecordingChat(responses=[reply]))
    answer = kb.answer("委员请假要走什么手续")
    assert answer.mode == "candidates"
    assert [c.label for c in answer.candidates] == ["第1条", "第2条", "第3条"]


def test_a_failing_chat_model_keeps_the_rankers_order(tmp_path: Path) -> None:
    class Broken(FakeListChatModel):
        def invoke(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("server down")

    kb, _ = _kb_with_candidates(tmp_path, Broken(responses=["x"]))
    answer = kb.answer("委员请假要走什么手续")
    assert answer.mode == "candidates"
    assert [c.label for c in answer.candidates] == ["第1条", "第2条", "第3条"]


def test_llm_rerank_off_asks_nothing(tmp_path: Path) -> None:
    kb, asked = _kb_with_candidates(tmp_path, FakeListChatModel(responses=[]), rerank=False)  # raises if called
    answer = kb.answer("委员请假要走什么手续")
    assert asked == [5]
    assert [c.label for c in answer.candidates] == ["第1条", "第2条", "第3条"]


def test_a_confident_answer_is_written_from_the_first_five_clauses_only(tmp_path: Path) -> None:
    chat = RecordingChat(responses=["委员请假应当事先书面请假（《履职管理办法》第1条）。"])
    kb, asked = _kb_with_candidates(tmp_path, chat)

    def confident(question: str, k: int = 5) -> Retrieval:
        asked.append(k)
        return Retrieval(_pool()[:k], 0.9, 0.9, 0.9, decision="answer", probability=0.95)

    kb.retrieve = confident  # type: ignore[method-assign]
    answer = kb.answer("委员请假要走什么手续")
    assert answer.mode == "llm" and answer.answered
    assert [str(c) for c in answer.citations] == ["《履职管理办法》第1条"]
    assert len(answer.passages) == 5
    (_, user), = chat.prompts
    assert "[5] " in user.content and "[6] " not in user.content
