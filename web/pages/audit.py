"""操作记录: every recorded staff action, from the console and from Telegram, newest first."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.responses import Response

from store import audit as audit_repo
from web import texts
from web.render import local_time, page
from web.security import ConsoleDep, StaffDep

router = APIRouter()
PAGE = 100


@router.get("/audit")
async def audit_log(request: Request, console: ConsoleDep, staff: StaffDep, action: str = "",
                    before: int | None = None) -> Response:
    wanted = action if action in texts.ACTION_LABELS else None
    async with console.db.session() as session:
        entries = await audit_repo.entries(session, action=wanted, limit=PAGE, before_id=before)
    rows = [{
        "at": local_time(console, e.at),
        "actor": e.actor,
        "action": texts.ACTION_LABELS.get(e.action, e.action),
        "target": e.target or "",
        "detail": "；".join(filter(None, [json.dumps(e.detail, ensure_ascii=False) if e.detail else "", e.note or ""])),
    } for e in entries]
    next_before = entries[-1].id if len(entries) == PAGE else None
    return page(request, "audit.html", title=texts.TITLE_AUDIT, staff=staff, section="audit", entries=rows,
                actions=list(texts.ACTION_LABELS.items()), action=wanted or "", next_before=next_before)
