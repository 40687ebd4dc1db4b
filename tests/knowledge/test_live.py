"""The running bot sees knowledge-base changes made by another process within seconds, without a restart."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.live import REVISION_KEY, LiveRevision
from knowledge.service import KnowledgeBase
from tests.knowledge.test_server_paths import chroma_url, loopback_only

__all__ = ["chroma_url", "loopback_only"]  # fixtures of the Chroma server tests, reused here

DOC = ("# 委员履职手册\n\n## 第一章 总则\n\n第一条 委员每年应当提交至少一件提案。\n\n"
       "第二条 委员因故不能出席会议，应当向办公室请假。\n\n第三条 委员应当参加学习。\n")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _doc(tmp_path: Path, name: str = "手册.md", text: str = DOC) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_revision_is_read_at_most_once_per_interval(config: KnowledgeConfig, tmp_path: Path) -> None:
    bot = KnowledgeBase.open(config, embedder=HashEmbedder())
    ticks = Ticks()
    reloads: list[int] = []
    live = LiveRevision(bot.store.collection, lambda: reloads.append(1), interval=1.0, monotonic=ticks)
    reads: list[int] = []
    real_current = live.current

    def counting() -> str | None:
        reads.append(1)
        return real_current()

    live.current = counting  # type: ignore[method-assign]  # counts the reads
    for _ in range(50):
        ticks.now += 0.01
        assert live.refresh() is False
    assert reads == [] and reloads == []
    ticks.now += 1.5
    assert live.refresh() is False and len(reads) == 1  # looked, nothing changed
    other = KnowledgeBase.open(config, embedder=HashEmbedder())
    other.ingest([_doc(tmp_path)])
    assert REVISION_KEY in (other.store.collection.metadata or {})
    assert live.refresh() is False  # within the interval: not even a look
    ticks.now += 1.5
    assert live.refresh() is True and reloads == [1]
    ticks.now += 1.5
    assert live.refresh() is False and reloads == [1]


def test_a_second_instance_sees_ingest_replace_and_remove(config: KnowledgeConfig, tmp_path: Path) -> None:
    bot = KnowledgeBase.open(config, embedder=HashEmbedder())
    ticks = Ticks()
    bot.live.monotonic = ticks
    console = KnowledgeBase.open(config, embedder=HashEmbedder())
    assert bot.answer("委员不能出席会议怎么办").answered is False
    console.ingest([_doc(tmp_path)])
    ticks.now += 1.1
    answer = bot.answer("委员不能出席会议怎么办")
    assert answer.answered and "请假" in answer.text
    assert [s.chunks for s in bot.list_sources()] == [3]
    console.ingest([_doc(tmp_path, text=DOC + "\n第四条 委员应当联系群众。\n")])
    ticks.now += 1.1
    assert [s.chunks for s in bot.list_sources()] == [4]
    assert bot.article_text("手册.md", "第四条") == "第四条 委员应当联系群众。"
    console.remove("手册.md")
    ticks.now += 1.1
    assert bot.list_sources() == [] and bot.answer("委员不能出席会议怎么办").answered is False


@pytest.mark.real
def test_another_process_ingests_and_the_bot_answers_with_dense_hits(config: KnowledgeConfig, tmp_path: Path) -> None:
    """A separate process on the same local Chroma: new vectors too, not only the BM25 mirror."""
    bot = KnowledgeBase.open(config, embedder=HashEmbedder())
    ticks = Ticks()
    bot.live.monotonic = ticks
    assert bot.retrieve("委员不能出席会议怎么办").passages == []
    script = textwrap.dedent(f"""
        from pathlib import Path
        from knowledge.config import KnowledgeConfig, Thresholds
        from knowledge.embedders import HashEmbedder
        from knowledge.service import KnowledgeBase
        kb = KnowledgeBase.open(KnowledgeConfig(persist_dir=Path({str(config.persist_dir)!r}), embedder="hash",
                                                thresholds=Thresholds(min_dense=0.1)), embedder=HashEmbedder())
        report = kb.ingest([Path({str(_doc(tmp_path))!r})])
        assert report.ingested, report
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    ticks.now += 1.1
    retrieval = bot.retrieve("委员不能出席会议怎么办")
    assert retrieval.passages and retrieval.passages[0].article == "第二条"
    assert len(retrieval.dense_scores) == 3  # the new vectors are visible to this process's dense search
    assert bot.answer("委员不能出席会议怎么办").answered


@pytest.mark.real
def test_with_a_chroma_server_the_bot_sees_the_consoles_changes(tmp_path: Path, chroma_url: str) -> None:
    def open_kb(local: str) -> KnowledgeBase:
        return KnowledgeBase.open(KnowledgeConfig(persist_dir=tmp_path / local, chroma_url=chroma_url, embedder="hash",
                                                  thresholds=Thresholds(min_dense=0.1)), embedder=HashEmbedder())

    bot, console = open_kb("bot"), open_kb("console")
    ticks = Ticks()
    bot.live.monotonic = ticks
    assert bot.retrieve("委员不能出席会议怎么办").passages == []
    console.ingest([_doc(tmp_path)])
    ticks.now += 1.1
    retrieval = bot.retrieve("委员不能出席会议怎么办")
    assert retrieval.passages[0].article == "第二条" and len(retrieval.dense_scores) == 3
    console.remove("手册.md")
    ticks.now += 1.1
    assert bot.retrieve("委员不能出席会议怎么办").passages == [] and bot.list_sources() == []
