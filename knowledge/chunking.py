"""Regulation-aware chunking: one chunk per article (章/节/条 kept as metadata), prose by headings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.loaders import LoadedDocument
from knowledge.models import Chunk, indexed_text

_NUM = r"[一二三四五六七八九十百千零〇两\d]+"
# "第一百二十条之一" (articles inserted by amendment) is its own article, not a second 第一百二十条.
_ARTICLE_LABEL = rf"第{_NUM}条(?:之{_NUM})?"
ARTICLE_RE = re.compile(rf"^({_ARTICLE_LABEL})(?:[\s\u3000]+|(?=[\u4e00-\u9fff（(]))")
CHAPTER_RE = re.compile(rf"^第{_NUM}[编章](?:[\s\u3000]|$)")
SECTION_RE = re.compile(rf"^第{_NUM}节(?:[\s\u3000]|$)")
ARTICLE_LABEL_RE = re.compile(_ARTICLE_LABEL)
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
SENTENCE_RE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)]*|\n|$)")

CLAUSE_SPLIT_RE = re.compile(r"(?<=[。；;])|\n")
MIN_CLAUSE_CHARS = 6  # shorter pieces ("（一）", a lone "但是：") carry no meaning of their own
MAX_ARTICLE_CHARS = 700  # longer articles are split on sentence boundaries
PROSE_TARGET_CHARS = 450  # prose chunks gather paragraphs up to about this size
PROSE_MAX_CHARS = 700


@dataclass
class _Block:
    level: int  # 0 = paragraph, 1..6 = heading
    text: str


@dataclass
class _Article:
    label: str | None
    chapter: str | None
    section: str | None
    paragraphs: list[str] = field(default_factory=list)


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    text = COMMENT_RE.sub("", text)  # LawRefBook's "<!-- INFO END -->" marker
    has_md_chapters = any((m := HEADING_RE.match(line)) and len(m.group(1)) >= 2 for line in text.splitlines())
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        heading = HEADING_RE.match(line)
        if heading:
            blocks.append(_Block(len(heading.group(1)), _clean_heading(heading.group(2))))
        elif not has_md_chapters and len(line) <= 40 and CHAPTER_RE.match(line):
            blocks.append(_Block(2, _clean_heading(line)))
        elif not has_md_chapters and len(line) <= 40 and SECTION_RE.match(line):
            blocks.append(_Block(3, _clean_heading(line)))
        else:
            blocks.append(_Block(0, line))
    return blocks


def _clean_heading(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u3000", " ")).strip()


def split_sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in SENTENCE_RE.finditer(text)) if s]


def clauses(text: str) -> list[str]:
    """The sentences and items of an article body (split after 。/；/; and at line ends), each at least
    ``MIN_CLAUSE_CHARS`` long; ``[]`` when the body is a single clause (the article's own vector covers it)."""
    pieces = [piece.strip() for piece in CLAUSE_SPLIT_RE.split(text)]
    kept = [piece for piece in pieces if len(piece) >= MIN_CLAUSE_CHARS]
    return kept if len(kept) > 1 else []


def clause_texts(chunk: Chunk) -> list[str]:
    """What is embedded for each clause of a numbered article (第X条, every part of a long one): the clause
    under the chunk's "title | chapter | article" header. Prose sections and preambles get none: a guide
    section's sentences would reward any section that merely mentions the question's term."""
    if not chunk.article or not ARTICLE_LABEL_RE.fullmatch(chunk.article):
        return []
    body = ARTICLE_RE.sub("", chunk.text, count=1)
    return [indexed_text(chunk.title, chunk.chapter, chunk.label, clause) for clause in clauses(body)]


def _pack(pieces: list[str], limit: int, joiner: str = "") -> list[str]:
    """Greedily pack pieces (sentences or paragraphs) into strings of at most ``limit`` chars."""
    out: list[str] = []
    current = ""
    for piece in pieces:
        if len(piece) > limit:
            if current:
                out.append(current)
                current = ""
            sentences = split_sentences(piece)
            if len(sentences) > 1:
                out.extend(_pack(sentences, limit))
            else:
                out.extend(piece[i : i + limit] for i in range(0, len(piece), limit))
            continue
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) > limit and current:
            out.append(current)
            current = piece
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def is_regulation(text: str) -> bool:
    return sum(1 for line in text.split("\n") if ARTICLE_RE.match(line.strip())) >= 3


def chunk_document(doc: LoadedDocument) -> list[Chunk]:
    """Chunk a loaded document: articles for regulations, heading sections for prose."""
    blocks = _blocks(doc.text)
    pieces = _regulation_pieces(blocks) if is_regulation(doc.text) else _prose_pieces(blocks)
    meta = doc.meta
    chunks: list[Chunk] = []
    for article, chapter, section, part, text in pieces:
        chunks.append(
            Chunk(
                source=meta.source,
                title=meta.title,
                text=text,
                ordinal=len(chunks),
                article=article,
                chapter=chapter,
                section=section,
                part=part,
                issuer=meta.issuer,
                version=meta.version,
            )
        )
    return chunks


_Piece = tuple[str | None, str | None, str | None, int, str]


def _chapter_path(headings: dict[int, str]) -> str | None:
    return " ".join(headings[level] for level in sorted(headings)) or None


def _regulation_pieces(blocks: list[_Block]) -> list[_Piece]:
    """Everything from one 第X条 line to the next stays together (also split enumerations).

    The first H1 is the title. Every later heading (an H1 naming a part, as in the 民法典's
    "# 合同编", or 编/分编/章/节 at any depth) opens a level of the chapter path.
    """
    articles: list[_Article] = []
    headings: dict[int, str] = {}
    seen_title = False
    current: _Article | None = None
    for block in blocks:
        if block.level == 1 and not seen_title:
            seen_title = True
            current = None
            continue
        if block.level >= 1:
            for level in [lv for lv in headings if lv >= block.level]:
                del headings[level]
            headings[block.level] = block.text
            current = None
            continue
        match = ARTICLE_RE.match(block.text)
        if match:
            current = _Article(match.group(1), _chapter_path(headings), None)
            articles.append(current)
        elif current is None:
            # Unnumbered text: a preamble such as 总纲 / 序言 under its own heading, or the
            # adoption note under the title. The heading (if any) is the label.
            label = headings[max(headings)] if headings else None
            current = _Article(label, None, None)
            articles.append(current)
        current.paragraphs.append(block.text)

    pieces: list[_Piece] = []
    for art in articles:
        if not art.paragraphs:
            continue
        is_numbered = bool(art.label and ARTICLE_RE.match(art.paragraphs[0]))
        if is_numbered:
            full = "\n".join(art.paragraphs)
            if len(full) <= MAX_ARTICLE_CHARS:
                pieces.append((art.label, art.chapter, None, 0, full))
                continue
            lead = art.paragraphs[0]
            lead_prefix = lead if len(lead) <= 80 and lead.rstrip().endswith(("：", ":")) else ""
            units: list[str] = []
            for para in art.paragraphs:
                units.extend([para] if len(para) <= MAX_ARTICLE_CHARS // 2 else split_sentences(para))
            parts = _pack(units, MAX_ARTICLE_CHARS, "\n")
            for index, part in enumerate(parts):
                if index and lead_prefix and not part.startswith(lead_prefix):
                    part = f"{lead_prefix}\n{part}"
                pieces.append((art.label, art.chapter, None, index, part))
        else:
            # Preamble-like text: group paragraphs; label is the heading (总纲, 序言) or none.
            for index, part in enumerate(_pack(art.paragraphs, PROSE_MAX_CHARS, "\n")):
                pieces.append((art.label, None, None, index, part))
    return pieces


def _prose_pieces(blocks: list[_Block]) -> list[_Piece]:
    """Prose: paragraphs grouped under their nearest heading, which becomes the section label."""
    pieces: list[_Piece] = []
    headings: dict[int, str] = {}
    buffer: list[str] = []

    def flush() -> None:
        if not buffer:
            return
        levels = sorted(headings)
        section = headings[levels[-1]] if levels else None
        chapter = headings[levels[-2]] if len(levels) >= 2 else None
        for index, part in enumerate(_pack(_group(buffer), PROSE_MAX_CHARS, "\n")):
            pieces.append((None, chapter, section, index, part))
        buffer.clear()

    for block in blocks:
        if block.level == 1:
            flush()
            headings.clear()
            continue
        if block.level:
            flush()
            for level in [lv for lv in headings if lv >= block.level]:
                del headings[level]
            headings[block.level] = block.text
            continue
        buffer.append(block.text)
    flush()
    return pieces


def _group(paragraphs: list[str]) -> list[str]:
    """Merge consecutive short paragraphs so prose chunks approach PROSE_TARGET_CHARS."""
    out: list[str] = []
    for para in paragraphs:
        if out and len(out[-1]) + len(para) < PROSE_TARGET_CHARS:
            out[-1] = f"{out[-1]}\n{para}"
        else:
            out.append(para)
    return out
