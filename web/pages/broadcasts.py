"""通知: compose a broadcast (text, photo or document, audience with a live recipient count, schedule, receipt,
urgent), the review queue of the two-person rule (批准 / 退回 by a reviewer who is not the author), and the
live delivery progress of each broadcast.

The console only records: the bot's sender job sends (and tells reviewers and authors in Telegram). The
same store functions as ``/broadcast`` (``store.broadcasts``) create, approve and count.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from store import audit
from store.broadcasts import approval, audience, outbox, withdrawal
from store.broadcasts.approval import ReviewOutcome
from store.broadcasts.withdrawal import WithdrawOutcome
from store.models import Broadcast
from store.timeparse import EXAMPLES, parse_future
from web import texts
from web.pages.kb import _read_limited
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, StaffDep
from web.state import Console
from web.uploads import UploadRejected, check_broadcast_file

router = APIRouter()
TEXT_MAX = 20000
MEDIA_MAX = 20 * 1024 * 1024  # Telegram bots upload at most 50 MB; keep notices light
REVIEW_FLASH = {
    ReviewOutcome.OWN: "bc_own", ReviewOutcome.NOT_REVIEWER: "bc_not_reviewer", ReviewOutcome.ALREADY: "bc_already",
    ReviewOutcome.NO_REASON: "bc_no_reason", ReviewOutcome.UNKNOWN: "bc_already",
}
WITHDRAW_FLASH = {
    WithdrawOutcome.WITHDRAWN: "bc_withdrawn", WithdrawOutcome.NOT_ALLOWED: "bc_withdraw_not_allowed",
    WithdrawOutcome.ALREADY: "bc_withdraw_too_late", WithdrawOutcome.UNKNOWN: "bc_withdraw_too_late",
}


def _spec_from(values: dict[str, list[str]]) -> audience.Spec:
    clause = {k: [v.strip()[:64] for v in values.get(k, []) if v.strip()][:50] for k in audience.KINDS}
    clause = {k: v for k, v in clause.items() if v}
    return [clause] if clause else [{}]


def _spec_of_request(request: Request) -> audience.Spec:
    return _spec_from({k: request.query_params.getlist(k) for k in audience.KINDS})


async def _choices(console: Console) -> dict[str, list[tuple[str, int]]]:
    async with console.db.session() as session:
        return {kind: await audience.choices(session, kind=kind) for kind in audience.KINDS}


async def _count(console: Console, spec: audience.Spec) -> int:
    async with console.db.session() as session:
        return len(await audience.resolve(session, spec=spec))


@router.get("/broadcasts")
async def broadcasts(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    async with console.db.session() as session:
        queue = await approval.awaiting(session)
        recent = await outbox.recent(session, limit=30)
        statuses = {b.id: await outbox.status(session, broadcast_id=b.id) for b in recent}
        people = await approval.names(session, member_ids={i for b in [*queue, *recent]
                                                          for i in (b.created_by, b.reviewed_by) if i})
        required = await approval.required(session, config=console.config.approval)
    rows = [_row(console, b, people, statuses.get(b.id)) for b in recent]
    return page(request, "broadcasts.html", title=texts.TITLE_BC_LIST, staff=staff, section="broadcasts",
                queue=[_row(console, b, people, None) for b in queue], rows=rows,
                approval_note=texts.BC_APPROVAL_ON if required else texts.BC_APPROVAL_OFF)


def _row(console: Console, b: Broadcast, people: dict[int, str], status: outbox.Status | None) -> dict[str, Any]:
    excerpt = b.text if len(b.text) <= 80 else b.text[:80] + "……"
    return {
        "id": b.id, "excerpt": excerpt, "audience": b.audience_label, "state": b.state,
        "state_label": texts.BC_STATES.get(b.state, b.state), "author": people.get(b.created_by or 0, texts.UNKNOWN),
        "created": local_time(console, b.created_at),
        "sent": status.sent if status else 0, "total": status.total if status else 0,
        "acknowledged": status.acknowledged if status else 0,
    }


def _compose(request: Request, staff: Any, choices: dict[str, list[tuple[str, int]]], *, form: dict[str, Any],
             count: int, required: bool, error: str | None = None, status: int = 200) -> Response:
    return page(request, "broadcast_new.html", title=texts.TITLE_BC_NEW, staff=staff, section="broadcasts",
                choices=[(k, texts.BC_KINDS[k], choices[k]) for k in audience.KINDS], form=form, count=count,
                examples="、".join(EXAMPLES[:4]), error=error, status=status,
                approval_note=texts.BC_APPROVAL_ON if required else texts.BC_APPROVAL_OFF)


@router.get("/broadcasts/new")
async def new_broadcast(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    spec = _spec_of_request(request)
    async with console.db.session() as session:
        required = await approval.required(session, config=console.config.approval)
    form = {"text": "", "when": "", "receipt": False, "urgent": False, "chosen": spec[0]}
    return _compose(request, staff, await _choices(console), form=form, count=await _count(console, spec),
                    required=required)


@router.get("/broadcasts/count")
async def recipient_count(console: ConsoleDep, staff: StaffDep, request: Request) -> Response:
    """The live recipient count of the audience form (the page's script asks as boxes are ticked)."""
    spec = _spec_of_request(request)
    return JSONResponse({"count": await _count(console, spec), "label": audience.describe(spec)},
                        headers={"Cache-Control": "no-store"})


@router.post("/broadcasts")
async def create_broadcast(
    request: Request, console: ConsoleDep, staff: CheckedStaff,
    text: Annotated[str, Form()] = "", when: Annotated[str, Form()] = "", receipt: Annotated[str, Form()] = "",
    urgent: Annotated[str, Form()] = "", op: Annotated[str, Form()] = "",
    sector: Annotated[list[str] | None, Form()] = None, district: Annotated[list[str] | None, Form()] = None,
    group: Annotated[list[str] | None, Form()] = None, topic: Annotated[list[str] | None, Form()] = None,
    media: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """计算人数 (without script) re-shows the form with the count; 提交 records the broadcast."""
    spec = _spec_from({"sector": sector or [], "district": district or [], "group": group or [],
                       "topic": topic or []})
    form = {"text": text, "when": when, "receipt": bool(receipt), "urgent": bool(urgent), "chosen": spec[0]}
    count = await _count(console, spec)
    now = console.clock()
    async with console.db.session() as session:
        required = await approval.required(session, config=console.config.approval)

    async def again(error: str | None = None, status: int = 200) -> Response:
        return _compose(request, staff, await _choices(console), form=form, count=count, required=required,
                        error=error, status=status)

    if op == "count":
        return await again()
    body = text.replace("\r\n", "\n").strip()
    if not body:
        return await again(texts.BC_TEXT_NEEDED, 400)
    if len(body) > TEXT_MAX:
        return await again(texts.BC_TEXT_TOO_LONG, 400)
    scheduled = None
    if when.strip():
        scheduled = parse_future(when.strip()[:64], now=now.astimezone(console.config.tz))
        if scheduled is None:
            return await again(texts.BC_BAD_TIME.format(examples="、".join(EXAMPLES[:4])), 400)
        scheduled = scheduled.astimezone(UTC)
    if count == 0:
        return await again(texts.BC_EMPTY_AUDIENCE, 400)
    media_kind = media_file = None
    if media is not None and media.filename:
        data = await _read_limited(media, MEDIA_MAX)
        try:
            if data is None:
                raise UploadRejected(texts.UPLOAD_TOO_BIG.format(limit=MEDIA_MAX // (1024 * 1024)))
            media_kind, clean = check_broadcast_file(media.filename, data, max_bytes=MEDIA_MAX)
        except UploadRejected as exc:
            return await again(str(exc), 400)
        media_file = f"{secrets.token_hex(8)}{Path(clean).suffix.lower()}"
        await asyncio.to_thread(_write, console.config.media_dir, media_file, data)
    new = outbox.NewBroadcast(
        text=body, audience=spec, media_kind=media_kind, media_file=media_file,
        topic=next(iter(spec[0].get("topic") or []), None), urgent=bool(urgent), receipt=bool(receipt),
        scheduled_at=scheduled, created_by=staff.member.id, created_via="console",
    )
    async with console.db.session() as session:
        awaiting = await approval.required(session, config=console.config.approval)
        broadcast = await outbox.create(session, new=new, now=now, tz=console.config.tz,
                                        defaults=console.config.prefs_defaults, awaiting=awaiting)
        await audit.record(session, actor=staff.member, action="broadcast.create", at=now,
                           target=f"broadcast:{broadcast.id}",
                           detail={"audience": broadcast.audience_label, "via": "console"})
        broadcast_id = broadcast.id
    msg = "bc_submitted" if awaiting else "bc_queued"
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?msg={msg}", status_code=303)


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (name + ".partial")
    partial.write_bytes(data)
    partial.replace(folder / name)


async def _one(console: Console, broadcast_id: int) -> tuple[Broadcast, outbox.Status, dict[int, str]]:
    async with console.db.session() as session:
        b = await outbox.get(session, broadcast_id=broadcast_id)
        status = await outbox.status(session, broadcast_id=broadcast_id) if b is not None else None
        people = await approval.names(session, member_ids={i for i in (b.created_by, b.reviewed_by) if i}) \
            if b is not None else {}
        recipients = await _count(console, b.audience) if b is not None and b.state == "awaiting" else 0
    if b is None or status is None:
        raise HTTPException(404)
    if b.state == "awaiting":
        status = outbox.Status(id=b.id, total=recipients, pending=0, sent=0, failed=0, blocked=0, uncertain=0,
                               acknowledged=0, state=b.state)
    return b, status, people


def _counts(status: outbox.Status) -> dict[str, int | str]:
    return {"state": status.state, "state_label": texts.BC_STATES.get(status.state, status.state),
            "total": status.total, "pending": status.pending, "sent": status.sent, "blocked": status.blocked,
            "failed": status.failed, "uncertain": status.uncertain, "acknowledged": status.acknowledged,
            "deferred": status.deferred, "done": status.done}


@router.get("/broadcasts/{broadcast_id:int}")
async def broadcast_page(request: Request, console: ConsoleDep, staff: StaffDep, broadcast_id: int) -> Response:
    b, status, people = await _one(console, broadcast_id)
    may = approval.may_review(staff.member, b)
    live = b.state in outbox.LIVE_STATES
    return page(
        request, "broadcast.html", title=texts.TITLE_BC_ONE.format(id=b.id), staff=staff, section="broadcasts",
        b=b, counts=_counts(status), live=live, may_review=may is None,
        may_withdraw=withdrawal.withdrawable(b) and withdrawal.may_withdraw(staff.member, b),
        author=people.get(b.created_by or 0, ""),
        reviewer=people.get(b.reviewed_by or 0, ""), created=local_time(console, b.created_at),
        reviewed=local_time(console, b.reviewed_at) if b.reviewed_at else "",
        when=local_time(console, b.scheduled_at) if b.scheduled_at else texts.BC_NOW,
        media=texts.BC_MEDIA_KINDS.get(b.media_kind or "", ""), yes=texts.BC_YES, no=texts.BC_NO,
    )


@router.get("/broadcasts/{broadcast_id:int}/status")
async def broadcast_status(console: ConsoleDep, staff: StaffDep, broadcast_id: int) -> Response:
    """Delivery counts as JSON, polled by the progress page while the broadcast runs."""
    _, status, _ = await _one(console, broadcast_id)
    return JSONResponse(_counts(status), headers={"Cache-Control": "no-store"})


@router.post("/broadcasts/{broadcast_id:int}/approve")
async def approve(console: ConsoleDep, staff: CheckedStaff, broadcast_id: int) -> Response:
    async with console.db.session() as session:
        review = await approval.approve(session, broadcast_id=broadcast_id, reviewer=staff.member,
                                        now=console.clock(), tz=console.config.tz,
                                        defaults=console.config.prefs_defaults)
    msg = "bc_approved" if review.outcome is ReviewOutcome.APPROVED else REVIEW_FLASH[review.outcome]
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?msg={msg}", status_code=303)


@router.post("/broadcasts/{broadcast_id:int}/return")
async def return_broadcast(console: ConsoleDep, staff: CheckedStaff, broadcast_id: int,
                           reason: Annotated[str, Form()] = "") -> Response:
    async with console.db.session() as session:
        review = await approval.return_to_author(session, broadcast_id=broadcast_id, reviewer=staff.member,
                                                 reason=reason, now=console.clock())
    msg = "bc_returned" if review.outcome is ReviewOutcome.RETURNED else REVIEW_FLASH[review.outcome]
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?msg={msg}", status_code=303)


@router.post("/broadcasts/{broadcast_id:int}/withdraw")
async def withdraw_broadcast(console: ConsoleDep, staff: CheckedStaff, broadcast_id: int) -> Response:
    """撤回: the author or an admin stops a notice that has not finished (pending deliveries are cancelled)."""
    async with console.db.session() as session:
        done = await withdrawal.withdraw(session, broadcast_id=broadcast_id, actor=staff.member, now=console.clock())
    return RedirectResponse(f"/console/broadcasts/{broadcast_id}?msg={WITHDRAW_FLASH[done.outcome]}", status_code=303)
