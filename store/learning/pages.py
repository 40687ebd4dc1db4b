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
_HEADING = re.compile(r"^\s*#{1,6}\s+")  # Markdown heading marks of loaded files
_SENTENCE = re.compile(r"(?<=[。！？；!?;])")


def _sentences(paragraph: str, limit: int) -> list[str]:
    """A paragraph's sentences, each at most ``limit`` long (a longer one is cut hard, as a last resort)."""
    pieces: list[str] = []
    for sentence in (s for s in _SENTENCE.split(paragraph) if s):
        pieces += [sentence[i:i + limit] for i in range(0, len(sentence), limit)]
    return pieces


def split_pages(text: str, *, limit: int = PAGE_CHARS) -> list[str]:
    """The pages of ``text`` (at least one page, possibly empty)."""
    lines = re.split(r"\n\s*\n|\n", text.replace("\r\n", "\n"))
    paragraphs = [p for p in (_HEADING.sub("", line).strip() for line in lines) if p]
    pages: list[str] = []
    current = ""
    for paragraph in paragraphs:
        joined = f"{current}\n{paragraph}" if current else paragraph
        if len(joined) <= limit and not (
            _ARTICLE.match(paragraph) and len(current) >= _MIN_FILL and len(joined) > limit * 0.8
        ):
            current = joined
            continue
        if len(paragraph) <= limit:  # the paragraph starts the next page whole
            pages.append(current)
            current = paragraph
            continue
        # A paragraph longer than a page: sentence by sentence, the first ones filling this page.
        separator = "\n" if current else ""
        for sentence in _sentences(paragraph, limit):
            if len(current) + len(separator) + len(sentence) > limit:
                pages.append(current)
                current, separator = "", ""
            current += separator + sentence
            separator = ""
    if current or not pages:
        pages.append(current)
    return [p for p in pages if p] or [""]
