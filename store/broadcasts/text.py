"""Splitting long notices into Telegram-sized parts (pure).

Telegram accepts 4096 characters per message and 1024 per media caption. Parts break at a paragraph
boundary if one fits, else at a sentence end (。！？；.!?;), else at a line break or space, else hard.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)]*|\.(?=\s)")


def _cut(text: str, limit: int) -> int:
    """Where to cut ``text`` (longer than ``limit``) so the first part is as long as possible, nicely."""
    window = text[:limit]
    floor = limit // 3  # never produce tiny fragments just to hit a nicer boundary
    para = window.rfind("\n\n")
    if para >= floor:
        return para + 2
    best = -1
    for match in _SENTENCE_END.finditer(window):
        if match.end() >= floor:
            best = match.end()
    if best > 0:
        return best
    for sep in ("\n", " ", "，", ",", "、"):
        pos = window.rfind(sep)
        if pos >= floor:
            return pos + len(sep)
    return limit


def split_text(text: str, limit: int = MESSAGE_LIMIT, *, first_limit: int | None = None) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters (the first at most ``first_limit``).

    Joining the parts with nothing in between gives back the text minus whitespace trimmed at the cuts.
    """
    text = text.strip()
    parts: list[str] = []
    current_limit = first_limit or limit
    while len(text) > current_limit:
        cut = _cut(text, current_limit)
        part = text[:cut].rstrip()
        if part:
            parts.append(part)
        text = text[cut:].lstrip()
        current_limit = limit
    if text:
        parts.append(text)
    return parts


def split_for_media(text: str) -> tuple[str, list[str]]:
    """Caption (≤ 1024) for a photo or document, then the rest as ordinary messages."""
    if not text.strip():
        return "", []
    parts = split_text(text, MESSAGE_LIMIT, first_limit=CAPTION_LIMIT)
    return parts[0], parts[1:]
