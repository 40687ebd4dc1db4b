from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.llm import check_citations
from knowledge.models import Passage
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
