"""委员: the roster, CSV/XLSX import with row errors before anything is saved, invite codes and QR codes,
deactivate and reactivate, roles."""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from pathlib import Path
from typing import Annotated

import segno
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from store import audit
from store import members as members_repo
from store.models import Member, Role
from store.roster import RosterParseResult, parse_roster, xlsx_to_csv
from web import texts
from web.pages.kb import _read_limited
from web.render import page
from web.security import CheckedStaff, ConsoleDep, Staff, StaffDep, require_admin
from web.state import Console

router = APIRouter()
IMPORT_MAX = 2 * 1024 * 1024
TICKET_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _status(m: Member) -> str:
    if m.active:
        return texts.ACTIVE
    return texts.BLOCKED if m.blocked_at else texts.INACTIVE


def deep_link(console: Console, code: str) -> str | None:
    username = console.config.bot_username
    return f"https://t.me/{username.lstrip('@')}?start={code}" if username else None


@router.get("/members")
async def roster(request: Request, console: ConsoleDep, staff: StaffDep, q: str = "") -> Response:
    async with console.db.session() as session:
        people = await members_repo.list_members(session)
    needle = q.strip()[:64]
    rows = []
    for m in people:
        groups = "；".join(m.group_names)
        if needle and not any(needle in field for field in (m.name, m.sector, m.district, groups, m.phone or "")):
            continue
        rows.append({"id": m.id, "name": m.name, "sector": m.sector, "district": m.district, "groups": groups,
                     "role": texts.ROLE_LABELS.get(m.role, m.role), "active": m.active,
                     "binding": texts.BOUND if m.telegram_id else f"{texts.UNBOUND} {m.invite_code or ''}",
                     "status": _status(m)})
    return page(request, "members.html", title=texts.TITLE_MEMBERS, staff=staff, section="members", members=rows,
                q=needle)


async def _member(console: Console, member_id: int) -> Member:
    async with console.db.session() as session:
        found = [m for m in await members_repo.list_members(session) if m.id == member_id]
    if not found:
        raise HTTPException(404)
    return found[0]


@router.get("/members/{member_id:int}")
async def member_page(request: Request, console: ConsoleDep, staff: StaffDep, member_id: int) -> Response:
    m = await _member(console, member_id)
    return page(request, "member.html", title=texts.TITLE_MEMBER.format(name=m.name), staff=staff,
                section="members", m=m, groups="；".join(m.group_names), state_label=_status(m),
                role_label=texts.ROLE_LABELS.get(m.role, m.role), roles=list(texts.ROLE_LABELS.items()),
                deep_link=deep_link(console, m.invite_code) if m.invite_code else None)


@router.get("/members/{member_id:int}/qr.svg")
async def invite_qr(console: ConsoleDep, staff: StaffDep, member_id: int) -> Response:
    async with console.db.session() as session:
        m = await members_repo.get(session, member_id=member_id)
    if m is None or m.telegram_id is not None or not m.invite_code:
        raise HTTPException(404)
    out = io.BytesIO()
    segno.make(deep_link(console, m.invite_code) or m.invite_code, error="m").save(out, kind="svg", scale=6, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _back(member_id: int, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/console/members/{member_id}?msg={msg}", status_code=303)


@router.post("/members/{member_id:int}/{action}")
async def member_action(
    request: Request, console: ConsoleDep, staff: CheckedStaff, member_id: int, action: str,
    role: Annotated[str, Form()] = "",
) -> Response:
    if action not in ("deactivate", "reactivate", "role", "invite"):
        raise HTTPException(404)
    if member_id == staff.member.id and action in ("deactivate", "role"):
        return _back(member_id, "self_forbidden")
    target = await _member(console, member_id)
    if action == "role" or (action in ("deactivate", "reactivate") and target.role_enum.is_staff):
        require_admin(staff)  # staff manage members; only admins manage staff and roles
    now = console.clock()
    async with console.db.session() as session:
        if action == "role":
            try:
                new_role = Role(role)
            except ValueError:
                raise HTTPException(400) from None
            changed = await members_repo.set_role(session, member_id=member_id, role=new_role, now=now)
            detail = {"from": target.role, "to": new_role.value}
            msg = "role_changed"
        elif action == "invite":
            changed = await members_repo.new_invite(session, member_id=member_id, now=now)
            detail, msg = {}, "invite_renewed"
        else:
            changed = await members_repo.set_active(session, member_id=member_id, active=action == "reactivate",
                                                    now=now)
            detail, msg = {}, "reactivated" if action == "reactivate" else "deactivated"
        if changed is None:
            raise HTTPException(404)
        await audit.record(session, actor=staff.member, action=f"member.{action}", at=now,
                           target=f"{target.name}（#{member_id}）", detail=detail or None)
    return _back(member_id, msg)


def _parse(name: str, data: bytes) -> RosterParseResult:
    if Path(name).suffix.lower() == ".xlsx":
        try:
            return parse_roster(xlsx_to_csv(data))
        except ValueError as exc:
            result = RosterParseResult()
            result.errors.append((0, str(exc)))
            return result
    return parse_roster(data)


def _ticket_path(console: Console, staff: Staff, ticket: str) -> Path:
    # The ticket is bound to the session that uploaded the file: nobody else can confirm it.
    return console.config.import_dir / f"{staff.session_id}-{ticket}.csv"


def _preview(request: Request, staff: Staff, filename: str, parsed: RosterParseResult, ticket: str = "",
             status: int = 200) -> Response:
    errors = [(texts.LINE.format(line=line) if line else texts.WHOLE_FILE, message) for line, message in parsed.errors]
    return page(request, "import_preview.html", title=texts.TITLE_IMPORT, staff=staff, section="members",
                filename=filename, errors=errors, rows=parsed.rows, ticket=ticket, status=status)


@router.post("/members/import")
async def import_check(request: Request, console: ConsoleDep, staff: CheckedStaff,
                       file: Annotated[UploadFile, File()]) -> Response:
    """Check the whole file and show every row's problem; nothing is saved until 确认导入."""
    name = file.filename or ""
    bad = RosterParseResult()
    if Path(name).suffix.lower() not in (".csv", ".xlsx"):
        bad.errors.append((0, texts.IMPORT_BAD_FILE))
        return _preview(request, staff, name, bad, status=400)
    data = await _read_limited(file, IMPORT_MAX)
    if data is None:
        bad.errors.append((0, texts.IMPORT_TOO_BIG))
        return _preview(request, staff, name, bad, status=400)
    parsed = _parse(name, data)
    if parsed.errors:
        return _preview(request, staff, name, parsed, status=422)
    ticket = secrets.token_urlsafe(18)
    path = _ticket_path(console, staff, ticket)
    csv_bytes = xlsx_to_csv(data) if name.lower().endswith(".xlsx") else data
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(path.write_bytes, csv_bytes)
    return _preview(request, staff, name, parsed, ticket=ticket)


@router.post("/members/import/confirm")
async def import_confirm(request: Request, console: ConsoleDep, staff: CheckedStaff,
                         ticket: Annotated[str, Form()] = "") -> Response:
    path = _ticket_path(console, staff, ticket) if TICKET_RE.match(ticket) else None
    if path is None or not path.is_file():
        return RedirectResponse("/console/members?msg=import_expired", status_code=303)
    data = await asyncio.to_thread(path.read_bytes)
    parsed = parse_roster(data)
    if parsed.errors:
        return _preview(request, staff, path.name, parsed, status=422)
    now = console.clock()
    async with console.db.session() as session:
        report = await members_repo.import_roster(session, rows=parsed.rows, now=now)
        await audit.record(session, actor=staff.member, action="members.import", at=now,
                           detail={"created": len(report.created), "updated": len(report.updated)})
    path.unlink(missing_ok=True)
    return RedirectResponse(f"/console/members?msg=imported&n={len(report.created)}&m={len(report.updated)}",
                            status_code=303)
