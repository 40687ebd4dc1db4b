"""知识库: upload (several files at once), list, open, replace, remove, and the 命中测试 box."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from knowledge.faq import FaqMatcher, FaqPair
from knowledge.outcome import outcome
from store import audit
from store import kb_documents as docs_repo
from store import questions as questions_repo
from web import texts
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, Staff, StaffDep
from web.state import Console
from web.uploads import UploadRejected, check_kb_file, safe_name, store_file

router = APIRouter()
MAX_FILES = 20


@dataclass(frozen=True)
class DocRow:
    source: str
    title: str
    issuer: str | None
    version: str | None
    chunks: int
    ingested: str | None


@dataclass(frozen=True)
class UploadResult:
    name: str
    chunks: int = 0
    error: str | None = None


async def _documents(console: Console) -> list[DocRow]:
    kb = console.knowledge
    if kb is None:
        return []
    sources = await asyncio.to_thread(kb.list_sources)
    async with console.db.session() as session:
        uploaded = await docs_repo.documents(session)
    rows = []
    for s in sources:
        record = uploaded.get(s.source)
        rows.append(DocRow(s.source, s.title, s.issuer, s.version, s.chunks,
                           local_time(console, record.ingested_at) if record else None))
    uploaded_first = sorted((r for r in rows if r.ingested), key=lambda r: r.ingested or "", reverse=True)
    return uploaded_first + sorted((r for r in rows if not r.ingested), key=lambda r: r.source)


async def _kb_page(request: Request, console: Console, staff: Staff, *, status: int = 200, **context: Any) -> Response:
    return page(request, "kb.html", title=texts.TITLE_KB, staff=staff, section="kb", status=status,
                docs=await _documents(console), available=console.knowledge is not None,
                unavailable=texts.KB_UNAVAILABLE, limit_mb=console.config.upload_max_bytes // (1024 * 1024),
                **context)


@router.get("/kb")
async def kb_home(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    return await _kb_page(request, console, staff)


async def _read_limited(upload: UploadFile, limit: int) -> bytes | None:
    """The upload's bytes, or None as soon as it passes ``limit`` (never more than limit+1 in memory)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        block = await upload.read(1024 * 1024)
        if not block:
            return b"".join(chunks)
        size += len(block)
        if size > limit:
            return None
        chunks.append(block)


@router.post("/kb/upload")
async def upload(
    request: Request, console: ConsoleDep, staff: CheckedStaff,
    files: Annotated[list[UploadFile], File()], replace: Annotated[str, Form()] = "",
) -> Response:
    """Check each file by content, keep it outside any served path, ingest it; the bot sees it within seconds."""
    kb = console.knowledge
    if kb is None:
        return await _kb_page(request, console, staff, status=503, error=texts.KB_UNAVAILABLE)
    limit = console.config.upload_max_bytes
    results: list[UploadResult] = []
    for item in [f for f in files if f.filename][:MAX_FILES]:
        name = item.filename or ""
        data = await _read_limited(item, limit)
        try:
            if data is None:
                raise UploadRejected(texts.UPLOAD_TOO_BIG.format(limit=limit // (1024 * 1024)))
            clean = check_kb_file(name, data, max_bytes=limit)
            if replace:  # a new version keeps the document's name (its source), which must be a safe one
                target = safe_name(replace)
                if target != replace or Path(target).suffix.lower() != Path(clean).suffix.lower():
                    raise UploadRejected(texts.UPLOAD_BAD_TYPE)
                clean = target
        except UploadRejected as exc:
            results.append(UploadResult(name, error=str(exc)))
            continue
        results.append(await _ingest(console, request, staff, clean, data))
    if not results:
        return await _kb_page(request, console, staff, status=400, error=texts.UPLOAD_NO_FILES)
    good = [r for r in results if r.error is None]
    flash = (texts.FLASH["uploaded"].format(n=len(good)) if len(good) == len(results)
             else texts.FLASH["upload_partial"].format(n=len(good), m=len(results) - len(good)))
    return await _kb_page(request, console, staff, status=200 if good else 400, results=results,
                          flash=flash if good else None, error=None if good else flash)


async def _ingest(console: Console, request: Request, staff: Staff, name: str, data: bytes) -> UploadResult:
    kb = console.knowledge
    stored = await asyncio.to_thread(store_file, console.config.upload_dir, name, data)
    if kb.embedder is None:
        return UploadResult(name, error=texts.NO_EMBEDDER)
    async with request.app.state.kb_lock:
        report = await kb.aingest([stored.path])
    outcome_ = report.files[0] if report.files else None
    if outcome_ is None or outcome_.error:
        reason = outcome_.error if outcome_ else ""
        return UploadResult(name, error=texts.UPLOAD_FAILED.format(reason=reason))
    title = next((s.title for s in await asyncio.to_thread(kb.list_sources) if s.source == name), name)
    now = console.clock()
    async with console.db.session() as session:
        await docs_repo.record_upload(session, source=name, title=title, stored_path=str(stored.path),
                                      size=stored.size, sha256=stored.sha256, chunks=outcome_.chunks,
                                      uploaded_by=staff.member.id, at=now)
        await audit.record(session, actor=staff.member, action="kb.upload", at=now, target=name,
                           detail={"chunks": outcome_.chunks, "embedded": outcome_.embedded, "bytes": stored.size,
                                   "sha256": stored.sha256[:16]})
    return UploadResult(name, chunks=outcome_.chunks)


@router.post("/kb/remove")
async def remove(
    request: Request, console: ConsoleDep, staff: CheckedStaff, source: Annotated[str, Form()] = "",
) -> Response:
    kb = console.knowledge
    if kb is None or not source:
        raise HTTPException(404)
    async with request.app.state.kb_lock:
        removed = await asyncio.to_thread(kb.remove, source)
    if not removed:
        raise HTTPException(404)
    now = console.clock()
    async with console.db.session() as session:
        await docs_repo.forget(session, source=source)
        await audit.record(session, actor=staff.member, action="kb.remove", at=now, target=source,
                           detail={"chunks": removed})
    return RedirectResponse("/console/kb?msg=removed", status_code=303)


@router.get("/kb/doc")
async def document(request: Request, console: ConsoleDep, staff: StaffDep, source: str = "") -> Response:
    kb = console.knowledge
    if kb is None:
        raise HTTPException(404)
    chunks = await asyncio.to_thread(kb.source_chunks, source)
    if not chunks:
        raise HTTPException(404)
    row = next((d for d in await _documents(console) if d.source == source), None)
    return page(request, "doc.html", title=texts.TITLE_DOC.format(source=source), staff=staff, section="kb",
                doc=row, chunks=chunks)


@dataclass(frozen=True)
class HitTest:
    text: str
    mode_label: str
    passages: list[Any]


@router.get("/kb/test")
async def hit_test(request: Request, console: ConsoleDep, staff: StaffDep, q: str = "") -> Response:
    """The ranked passages with scores and the reply the bot would give (FAQ first, as the bot does)."""
    question = q.strip()[:500]
    if not question:
        return await _kb_page(request, console, staff)
    async with console.db.session() as session:
        faq = await questions_repo.active_faq(session)
    match = FaqMatcher([FaqPair(e.id, e.question, e.answer) for e in faq]).match(question)
    passages: list[Any] = []
    kb = console.knowledge
    answer = await kb.aanswer(question) if kb is not None else None
    if answer is not None:
        passages = [_PassageView(p.source, p.title, p.label, p.text, p.score) for p in answer.passages]
    if match is not None:
        test = HitTest(match.pair.answer, texts.MODE_LABELS["faq"], passages)
    elif answer is not None:
        test = HitTest(answer.text, texts.MODE_LABELS.get(outcome(answer), ""), passages)
    else:
        test = HitTest(texts.KB_UNAVAILABLE, texts.MODE_LABELS["unavailable"], [])
    return await _kb_page(request, console, staff, q=question, test=test)


@dataclass(frozen=True)
class _PassageView:
    source: str
    title: str
    label: str | None
    text: str
    score: float
    cosine: float | None = None
