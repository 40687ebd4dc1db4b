"""Raw LawRefBook Markdown (the STARD corpus) chunks like kb-samples: one chunk per article, nothing lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.chunking import ARTICLE_RE, chunk_document
from knowledge.loaders import iter_files, load
from tests.support.environment import missing

ARTICLE_LINE = re.compile(r"^(第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?)")


@pytest.fixture(scope="module")
def stard_files(shared_dir: Path) -> list[Path]:
    corpus = shared_dir / "stard" / "corpus"
    if not corpus.is_dir():
        missing(f"STARD corpus not found under {corpus}")
    return list(iter_files([corpus]))


def _article_lines(path: Path) -> list[str]:
    return [m.group(1) for line in path.read_text(encoding="utf-8").splitlines() if (m := ARTICLE_LINE.match(line))]


def test_all_39_files_one_chunk_per_article_with_title_and_chapter(stard_files: list[Path]) -> None:
    assert len(stard_files) == 39  # SOURCES.md is left out of folder expansion
    total = 0
    for path in stard_files:
        doc = load(path)
        chunks = chunk_document(doc)
        expected = _article_lines(path)
        articles = [c for c in chunks if c.article and ARTICLE_RE.match(c.text)]
        labels = list(dict.fromkeys(c.article for c in articles))
        assert labels == expected, path.name  # same articles, same order, none merged or lost
        assert all(c.title == doc.meta.title and "#" not in c.title for c in chunks), path.name
        has_chapters = any(line.startswith("## ") for line in path.read_text(encoding="utf-8").splitlines())
        if has_chapters:
            first_heading = next(i for i, c in enumerate(chunks) if c.chapter)
            assert all(c.chapter for c in articles if c.ordinal >= first_heading), path.name
        # Nothing lost: every article line and every item line is in some chunk.
        text = "\n".join(c.text for c in chunks)
        body = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        for line in body:
            if line and not line.startswith(("#", "<!--")):
                assert line in text, (path.name, line[:40])
        total += len(expected)
    assert total == 3815


def test_amendment_articles_and_code_parts(shared_dir: Path, stard_files: list[Path]) -> None:
    by_name = {p.name: p for p in stard_files}
    criminal = chunk_document(load(by_name["中华人民共和国刑法.md"]))
    inserted = next(c for c in criminal if c.article == "第一百二十条之一")
    assert inserted.text.startswith("第一百二十条之一 资助恐怖活动组织")
    assert inserted.chapter and inserted.chapter.startswith("第二编 分则 第二章 危害公共安全罪")
    assert sum(1 for c in criminal if c.article == "第一百二十条") == 1
    contract = load(by_name["中华人民共和国民法典合同编.md"])
    assert contract.meta.title == "中华人民共和国民法典"
    art = next(c for c in chunk_document(contract) if c.article == "第五百七十七条")
    assert art.chapter == "合同编 第一分编 通则 第八章 违约责任"
    header = "中华人民共和国民法典 | 合同编 第一分编 通则 第八章 违约责任 | 第五百七十七条\n"
    assert art.indexed_text().startswith(header)
