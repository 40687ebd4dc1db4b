"""File loaders: .md .txt .docx .pdf .html to Markdown-ish text plus document metadata."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge.models import DocumentMeta

SUPPORTED_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".docx", ".pdf", ".html", ".htm"})

_META_KEYS = {"标题": "title", "发布机关": "issuer", "版本": "version"}
_TERMINAL = "。！？!?；;…”’」』）)】"
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”‘’□■●"
_SPACE_AROUND_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\u00a0]+|[ \t\u00a0]+(?=[{_CJK}])")


class LoaderError(Exception):
    """A file that cannot be read or holds no text; the message is shown to the operator."""


@dataclass(frozen=True)
class LoadedDocument:
    meta: DocumentMeta
    text: str  # Markdown-ish: "#" headings, blank-line separated paragraphs


# Files that describe a folder (provenance, licence, change log) rather than being reference material.
FOLDER_META_NAMES = frozenset({"readme.md", "sources.md", "license.md", "changelog.md"})


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders recursively (sorted) and keep files with a supported suffix.

    Folder meta-documents (README, SOURCES, LICENSE, CHANGELOG) and hidden entries below the folder are left
    out of folder expansion; the folder's own path may contain dots (``../shared/kb-samples``).
    Files given explicitly are always yielded, so an unsupported one is reported, not ignored.
    """
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix.lower() in SUPPORTED_SUFFIXES
                    and not any(part.startswith(".") for part in child.relative_to(path).parts)
                    and child.name.lower() not in FOLDER_META_NAMES
                ):
                    yield child
        else:
            yield path


def load(path: Path) -> LoadedDocument:
    """Read one file; raises LoaderError when it is unreadable, unsupported or empty."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(f"unsupported file type {suffix or '(none)'}")
    if not path.is_file():
        raise LoaderError("file not found")
    try:
        if suffix in (".md", ".markdown"):
            raw, markdown = _read_text(path), True
        elif suffix == ".txt":
            raw, markdown = _read_text(path), False
        elif suffix == ".docx":
            raw, markdown = _read_docx(path), True
        elif suffix == ".pdf":
            raw, markdown = _read_pdf(path), False
        else:
            raw, markdown = _read_html(path), True
    except LoaderError:
        raise
    except Exception as exc:  # any parser failure means "unreadable", never a crash
        raise LoaderError(f"unreadable ({type(exc).__name__}: {exc})") from exc
    meta_fields, body = _split_metadata_line(raw)
    if not markdown or suffix == ".pdf":
        body = plain_to_markdown(body)
    if not re.search(r"\w", body):
        raise LoaderError("no text")
    title = meta_fields.get("title") or _first_h1(body) or path.stem
    meta = DocumentMeta(
        source=path.name,
        title=title.strip(),
        issuer=meta_fields.get("issuer"),
        version=meta_fields.get("version"),
    )
    return LoadedDocument(meta=meta, text=body)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise LoaderError("not UTF-8 or GB18030 text")


def _read_docx(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        match = re.search(r"(?:Heading|标题)\s*(\d)", style)
        if style == "Title":
            lines.append(f"# {text}")
        elif match:
            lines.append(f"{'#' * min(int(match.group(1)) + 1, 6)} {text}")
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    return "\n\n".join(lines)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return "\n".join((page.extract_text() or "") for page in reader.pages)


def _read_html(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if title_tag:
        title_tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for block in soup.find_all(["p", "li", "div", "br", "tr"]):
        block.insert_after("\n\n")
    text = soup.get_text()
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    body = "\n\n".join(p for p in paragraphs if p)
    if title and not body.lstrip().startswith("# "):
        body = f"# {title}\n\n{body}"
    return body


def _split_metadata_line(raw: str) -> tuple[dict[str, str], str]:
    """Parse a first line like ``标题：… | 发布机关：… | 版本：…``; return fields and the rest."""
    stripped = raw.lstrip("\ufeff\n ")
    first, _, rest = stripped.partition("\n")
    if "标题" not in first or ("：" not in first and ":" not in first):
        return {}, raw
    fields: dict[str, str] = {}
    for part in first.split("|"):
        match = re.match(r"\s*([^：:]+)[：:](.*)", part)
        if match and match.group(1).strip() in _META_KEYS and match.group(2).strip():
            fields[_META_KEYS[match.group(1).strip()]] = match.group(2).strip()
    if "title" not in fields:
        return {}, raw
    return fields, rest


def _first_h1(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or None
    return None


# ---------------------------------------------------------------------------------------------
# Plain text (txt, PDF) to Markdown-ish paragraphs


def _ends_sentence(line: str) -> bool:
    return bool(line) and line[-1] in _TERMINAL


def is_hard_wrapped(lines: list[str]) -> bool:
    """Most lines short, of similar width, and not ending a sentence: text extracted from a PDF."""
    content = [ln for ln in (x.strip() for x in lines) if ln]
    if len(content) < 8:
        return False
    open_ended = sum(1 for ln in content if not _ends_sentence(ln)) / len(content)
    return statistics.median(len(ln) for ln in content) <= 45 and open_ended >= 0.5


def _squeeze_spaces(text: str) -> str:
    """Drop the spaces PDF extraction puts between CJK characters ("治 组 织 ，" → "治组织，")."""
    return _SPACE_AROUND_CJK.sub("", text).strip()


def _is_byline(line: str) -> bool:
    return line.startswith(("□", "■", "●", "——"))


def rejoin_wrapped(lines: list[str]) -> list[str]:
    """Re-join hard-wrapped lines into paragraphs.

    A line continues the previous one unless the previous one ends a sentence, or either is a
    byline. Blank lines are not trusted as paragraph breaks (PDF page breaks fall mid-sentence),
    except after a short line that does not end a sentence (a heading).
    """
    widths = [len(x.strip()) for x in lines if x.strip()]
    width = statistics.median(widths) if widths else 0
    paragraphs: list[str] = []
    current = ""
    blank_seen = False
    for raw in lines:
        line = _squeeze_spaces(raw)
        if not line:
            blank_seen = True
            continue
        heading_before = bool(current) and blank_seen and len(current) < width * 0.8 and not _ends_sentence(current)
        if not current or _ends_sentence(current) or _is_byline(line) or _is_byline(current) or heading_before:
            if current:
                paragraphs.append(current)
            current = line
        else:
            current += line
        blank_seen = False
    if current:
        paragraphs.append(current)
    return paragraphs


def plain_to_markdown(text: str) -> str:
    """Turn plain text into blank-line separated paragraphs; short standalone lines become headings."""
    lines = text.split("\n")
    if is_hard_wrapped(lines):
        paragraphs = rejoin_wrapped(lines)
    else:
        paragraphs = [_squeeze_spaces(x) for x in lines if x.strip()]
    out: list[str] = []
    for index, para in enumerate(paragraphs):
        if para.startswith("#"):
            out.append(para)
        elif index == 0 and looks_like_heading(para):
            out.append(f"# {para}")
        elif looks_like_heading(para) and not _is_byline(para):
            out.append(f"## {para}")
        else:
            out.append(para)
    return "\n\n".join(out)


_ARTICLE_LINE = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条")


def looks_like_heading(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > 36 or _ARTICLE_LINE.match(line):
        return False
    if line[-1] in "。！？!?；;，,：:、":
        return False
    return not re.match(r"^\d{4}年", line) and "发布时间" not in line
