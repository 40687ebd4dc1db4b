"""Uploaded files are checked by content (not only by name), size-limited and kept outside any served path."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from web import texts

KB_SUFFIXES = (".md", ".txt", ".docx", ".pdf", ".html", ".htm")
_UNSAFE = re.compile(r"[^\w.\-（）()\u3000-\u303f\u4e00-\u9fff]+")


class UploadRejected(ValueError):
    """The file is refused; the message (Chinese) says why."""


def safe_name(raw: str | None) -> str:
    """The last path component, NFC, without control or shell-special characters; '' if nothing is left."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    name = _UNSAFE.sub("_", name).strip("._ ")
    if not name or name in (".", "..") or len(name.encode()) > 200:
        return ""
    return name


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            return False
    return True


def check_kb_file(name: str, data: bytes, *, max_bytes: int) -> str:
    """The safe file name when ``data`` really is what its suffix says; UploadRejected otherwise."""
    clean = safe_name(name)
    if not clean:
        raise UploadRejected(texts.UPLOAD_BAD_NAME)
    suffix = Path(clean).suffix.lower()
    if suffix not in KB_SUFFIXES:
        raise UploadRejected(texts.UPLOAD_BAD_TYPE)
    if len(data) > max_bytes:
        raise UploadRejected(texts.UPLOAD_TOO_BIG.format(limit=max_bytes // (1024 * 1024)))
    if not data.strip():
        raise UploadRejected(texts.UPLOAD_EMPTY)
    if suffix == ".pdf":
        ok = data.lstrip()[:5] == b"%PDF-"
    elif suffix == ".docx":
        ok = _is_docx(data)
    elif suffix in (".html", ".htm"):
        ok = _is_text(data) and b"<" in data[:4096]
    else:
        ok = _is_text(data) and not data.lstrip()[:5].lower().startswith((b"%pdf-", b"pk\x03\x04"))
    if not ok:
        raise UploadRejected(texts.UPLOAD_BAD_CONTENT)
    return clean


def _is_docx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                return False
            # a zip bomb guard: the document part must stay reasonably small when unpacked
            return archive.getinfo("word/document.xml").file_size < 200 * 1024 * 1024
    except zipfile.BadZipFile:
        return False


@dataclass(frozen=True)
class Stored:
    path: Path
    sha256: str
    size: int


def store_file(folder: Path, name: str, data: bytes) -> Stored:
    """Keep the file as ``folder/<sha256 prefix>/<name>`` (the name is the KB source; folders keep versions apart)."""
    digest = hashlib.sha256(data).hexdigest()
    target_dir = folder / digest[:16]
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return Stored(target, digest, len(data))


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".xlsx", ".txt")


def check_broadcast_file(name: str, data: bytes, *, max_bytes: int) -> tuple[str, str]:
    """``(kind, safe name)`` of a photo or document to attach to a broadcast, checked by content;
    UploadRejected otherwise. Photos: JPEG or PNG; documents: PDF, DOCX, XLSX or plain text."""
    clean = safe_name(name)
    if not clean:
        raise UploadRejected(texts.UPLOAD_BAD_NAME)
    suffix = Path(clean).suffix.lower()
    if suffix not in PHOTO_SUFFIXES + DOCUMENT_SUFFIXES:
        raise UploadRejected(texts.BC_MEDIA_BAD_TYPE)
    if len(data) > max_bytes:
        raise UploadRejected(texts.UPLOAD_TOO_BIG.format(limit=max_bytes // (1024 * 1024)))
    if not data.strip():
        raise UploadRejected(texts.UPLOAD_EMPTY)
    if suffix in (".jpg", ".jpeg"):
        ok, kind = data[:3] == b"\xff\xd8\xff", "photo"
    elif suffix == ".png":
        ok, kind = data[:8] == b"\x89PNG\r\n\x1a\n", "photo"
    elif suffix == ".pdf":
        ok, kind = data.lstrip()[:5] == b"%PDF-", "document"
    elif suffix == ".docx":
        ok, kind = _is_docx(data), "document"
    elif suffix == ".xlsx":
        ok, kind = data.startswith(b"PK\x03\x04"), "document"
    else:
        ok, kind = _is_text(data), "document"
    if not ok:
        raise UploadRejected(texts.UPLOAD_BAD_CONTENT)
    return kind, clean
