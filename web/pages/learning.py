"""学习: the learning library: add materials (text, link, a knowledge-base document, an uploaded file), take them
off and back, and the figures per material and per member (the same store functions as the bot's /stats)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from knowledge.loaders import LoaderError, load
from store import audit
from store.learning import materials as materials_repo
from store.learning import stats as learning_stats
from store.learning.quiz_links import Accuracy
from web import texts
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, Staff, StaffDep
from web.state import Console
from web.uploads import UploadRejected, check_kb_file, store_file

router = APIRouter()


def duration(seconds: int | None) -> str:
    if seconds is None:
        return texts.MINUTES_NONE
    if seconds < 60:
        return texts.DURATION_SEC.format(seconds=seconds)
    return texts.DURATION_MIN.format(minutes=round(seconds / 60))


@dataclass(frozen=True)
class KbChoice:
    source: str
    title: str


async def _kb_choices(console: Console) -> list[KbChoice]:
    kb = console.knowledge
    if kb is None:
        return []
    return [KbChoice(s.source, s.title) for s in await asyncio.to_thread(kb.list_sources)]


def accuracy(found: Accuracy | None) -> str:
    """``"80%（8/10）"``, or a dash when nobody answered."""
    if found is None or found.share is None:
        return texts.MINUTES_NONE
    return texts.QUIZ_ACCURACY.format(share=round(100 * found.share), correct=found.correct, answered=found.answered)


async def _learning_page(request: Request, console: Console, staff: Staff, *, status: int = 200,
                         error: str | None = None, form: dict[str, Any] | None = None) -> Response:
    today = console.clock().astimezone(console.config.tz).date()
    async with console.db.session() as session:
        per_material = await learning_stats.material_stats(session)
        per_member = await learning_stats.member_stats(session, today=today)
    materials = [{
        "id": s.material.id, "title": s.material.title, "kind": texts.MATERIAL_KIND_LABELS.get(s.material.kind, ""),
        "topics": "、".join(s.material.topics or []), "minutes": s.material.estimated_minutes,
        "pages": len(materials_repo.pages_of(s.material)),
        "required": (f"{s.material.required_label or ''} {s.material.required_from}～{s.material.required_until}"
                     if s.material.required_from else ""),
        "active": s.material.active, "opened": s.opened, "finished": s.finished,
        "median": duration(s.median_seconds), "created": local_time(console, s.material.created_at),
        "quiz": accuracy(s.quiz),
    } for s in per_material]
    members = [{
        "name": m.member.name, "sector": m.member.sector or "", "finished": m.finished, "time": duration(m.seconds),
        "missing": "、".join(x.title for x in m.required_missing),
        "quiz": "；".join(f"{topic} {accuracy(a)}" for topic, a in m.quiz_by_topic.items()),
    } for m in per_member]
    return page(request, "learning.html", title=texts.TITLE_LEARNING, staff=staff, section="learning",
                materials=materials, members=members, topics=console.config.topics, kinds=texts.MATERIAL_KIND_LABELS,
                kb_docs=await _kb_choices(console), error=error, form=form or {}, status=status)


@router.get("/learning")
async def learning_home(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    return await _learning_page(request, console, staff)


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise materials_repo.MaterialError("date") from None


async def _file_text(console: Console, upload: UploadFile | None) -> tuple[str, str]:
    """(text, file name) of an uploaded .docx/.pdf/.txt/.md/.html, read by the knowledge base's loaders."""
    if upload is None or not upload.filename:
        raise materials_repo.MaterialError("body")
    limit = console.config.upload_max_bytes
    data = await upload.read(limit + 1)
    try:
        if len(data) > limit:
            raise UploadRejected(texts.UPLOAD_TOO_BIG.format(limit=limit // (1024 * 1024)))
        name = check_kb_file(upload.filename, data, max_bytes=limit)
        stored = await asyncio.to_thread(store_file, console.config.data_dir / "learning-uploads", name, data)
        loaded = await asyncio.to_thread(load, stored.path)
    except (UploadRejected, LoaderError) as exc:
        raise _Unreadable(str(exc)) from None
    return loaded.text, name


class _Unreadable(Exception):
    pass


@router.post("/learning/add")
async def add_material(
    request: Request, console: ConsoleDep, staff: CheckedStaff,
    kind: Annotated[str, Form()] = "", title: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "",
    source_label: Annotated[str, Form()] = "", link_url: Annotated[str, Form()] = "",
    kb_source: Annotated[str, Form()] = "", estimated_minutes: Annotated[str, Form()] = "",
    topics: Annotated[list[str] | None, Form()] = None, required_from: Annotated[str, Form()] = "",
    required_until: Annotated[str, Form()] = "", required_label: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """One new material; the bot lists it at once (it reads the same tables)."""
    form = {"kind": kind, "title": title, "body": body, "source_label": source_label, "link_url": link_url,
            "kb_source": kb_source, "estimated_minutes": estimated_minutes, "topics": topics or [],
            "required_from": required_from, "required_until": required_until, "required_label": required_label}
    file_name = None
    try:
        minutes = int(estimated_minutes) if estimated_minutes.strip().isdigit() else 0
        text = body
        if kind == "kb":
            kb = console.knowledge
            chunks = await asyncio.to_thread(kb.source_chunks, kb_source) if kb is not None and kb_source else []
            if not chunks:
                raise materials_repo.MaterialError("kb_missing")
            text = materials_repo.join_chunks([c.text for c in chunks])
            title = title or chunks[0].title
            source_label = source_label or chunks[0].title
        elif kind == "file":
            text, file_name = await _file_text(console, file)
        elif kind == "link":
            text = body  # an optional summary read in the bot; the page links to the address
        data = materials_repo.MaterialInput(
            title=title, kind=kind, body=text, estimated_minutes=minutes, topics=topics or [],
            source_label=source_label or None, kb_source=kb_source if kind == "kb" else None, file_name=file_name,
            link_url=link_url.strip() if kind == "link" else None, required_from=_date(required_from),
            required_until=_date(required_until), required_label=required_label or None,
        )
        now = console.clock()
        async with console.db.session() as session:
            material = await materials_repo.create_material(session, data=data, created_by=staff.member.id, now=now,
                                                            catalogue=console.config.topics)
            await audit.record(session, actor=staff.member, action="learning.add", at=now,
                               target=f"material:{material.id}",
                               detail={"title": material.title[:200], "kind": kind, "via": "console"})
    except materials_repo.MaterialError as exc:
        return await _learning_page(request, console, staff, status=400, form=form,
                                    error=texts.MATERIAL_ERRORS.get(exc.code, texts.MATERIAL_ERRORS["body"]))
    except _Unreadable as exc:
        return await _learning_page(request, console, staff, status=400, form=form,
                                    error=texts.MATERIAL_ERRORS["file_unreadable"].format(reason=exc))
    return RedirectResponse("/console/learning?msg=material_added", status_code=303)


@router.post("/learning/{material_id:int}/{action}")
async def retire(request: Request, console: ConsoleDep, staff: CheckedStaff, material_id: int,
                 action: str) -> Response:
    if action not in ("retire", "restore"):
        raise HTTPException(404)
    now = console.clock()
    async with console.db.session() as session:
        material = await materials_repo.set_active(session, material_id=material_id, active=action == "restore")
        if material is None:
            raise HTTPException(404)
        await audit.record(session, actor=staff.member, action=f"learning.{action}", at=now,
                           target=f"material:{material_id}", detail={"title": material.title[:200]})
    return RedirectResponse(f"/console/learning?msg=material_{'retired' if action == 'retire' else 'restored'}",
                            status_code=303)
