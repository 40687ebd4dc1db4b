"""Split a material's text into pages that fit a phone screen.

A page holds at most ``PAGE_CHARS`` characters. Pages break at paragraph ends first, then at sentence
ends; a paragraph that opens an article (第X条) starts a new page rather than being cut, unless the page
would stay nearly empty. The split is deterministic: the same text always gives the same pages.
"""

from __future__ import annotations

import re

PAGE_CHARS = 700
_MIN_FILL = PAGE_CHARS // 3  # below this a page takes the next article's start anyway
_ARTICLE = re.compile(r"^\s*第[一二三四五六七八九十百千零〇两\d]+条")
_SENTENCE = re.compile(r"(?<=[。！？；!?;])")


def _sentences(paragraph: str, limit: int) -> list[str]:
    """A paragraph longer than ``limit`` cut into pieces at sentence ends (hard cut as a last resort)."""
    pieces: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE.split(paragraph) if s):
        while len(sentence) > limit:  # one sentence longer than a page
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        if len(current) + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current += sentence
    if current:
        pieces.append(current)
    return pieces


def split_pages(text: str, *, limit: int = PAGE_CHARS) -> list[str]:
    """The pages of ``text`` (at least one page, possibly empty)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text.replace("\r\n", "\n")) if p.strip()]
    pages: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            pages.append("\n".join(current))
        current, size = [], 0

    for paragraph in paragraphs:
        for piece in _sentences(paragraph, limit) if len(paragraph) > limit else [paragraph]:
            extra = len(piece) + (1 if current else 0)
            if current and size + extra > limit:
                flush()
                extra = len(piece)
            elif current and _ARTICLE.match(piece) and size >= _MIN_FILL and size + extra > limit * 0.8:
                flush()  # a new article near the end of a page starts the next page
                extra = len(piece)
            current.append(piece)
            size += extra
    flush()
    return pages or [""]
