"""微建议: the queue as a board by status and colour, filters, an item with its photos, place and history,
every transition the lifecycle allows, bulk 交办 / 合并, and the xlsx export of the filtered list.

Transitions go through ``store.proposals.repository.transition`` (as ``/review`` in Telegram does), which
writes the member notifications in the same transaction; the running bot sends them with the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from store.models import Proposal
from store.proposals import board, lifecycle, photos
from store.proposals import repository as repo
from store.proposals.export import workbook_bytes
from store.proposals.lifecycle import Action, Actor, InvalidTransition, Status
from store.proposals.warning import Warning
from web import texts
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, StaffDep
from web.state import Console

router = APIRouter()
DETAIL_MAX = 2000
PER_COLUMN = 100  # cards per status column on one page (a phone scrolls, a browser must not choke)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIONS = {a.value: a for a in (Action.ACCEPT, Action.REJECT, Action.ASSIGN, Action.ANSWER, Action.MERGE,
                                Action.CONVERT, Action.ADOPT)}
MISSING = {"note": "p_need_note", "unit": "p_need_unit", "reply": "p_need_reply", "target": "p_need_target"}


def _filters(category: str, unit: str, member: str, warning: str, status: str, q: str) -> board.Filters:
    return board.Filters(
        category=category.strip()[:32], unit=unit.strip()[:128],
        member_id=int(member) if member.isdigit() and len(member) < 10 else None,
        warning=warning if warning in board.WARNINGS else "",
        status=status if status in texts.PROPOSAL_STATUS_LABELS else "", text=q.strip()[:64],
    )


def _query(f: board.Filters) -> str:
    pairs = {"category": f.category, "unit": f.unit, "member": str(f.member_id or ""), "warning": f.warning,
             "status": f.status, "q": f.text}
    return urlencode({k: v for k, v in pairs.items() if v})


@dataclass
class Card:
    id: int
    number: str
    title: str
    member: str
    category: str
    unit: str
    deadline: str
    warning: str  # red | yellow | green | none
    warning_label: str
    status: str
    created: str


def _card(console: Console, p: Proposal, w: Warning | None) -> Card:
    colour = w.value if w else "none"
    return Card(p.id, p.number, p.title, p.member.name, p.category, p.unit or "",
                p.deadline.isoformat() if p.deadline else "", colour,
                texts.PROPOSAL_WARNING_LABELS[colour] if w else "", p.status, local_time(console, p.created_at))


@dataclass
class Column:
    status: str
    label: str
    cards: list[Card]  # the page shown
    total: int  # every matching item of this status
    more: str  # link to the next cards of this column ("" when all are shown)
    back: str = ""  # link to the previous page of this column ("" on the first)


def _columns(console: Console, rated: list[tuple[Proposal, Warning | None]], f: board.Filters,
             page_no: int) -> list[Column]:
    """One column per status, at most PER_COLUMN cards each (most urgent first). With a status chosen there is
    one column and ``page_no`` pages through it; otherwise a long column links to its own filtered view."""
    out = []
    for s in board.BOARD_COLUMNS:
        items = [(p, w) for p, w in rated if p.status == s.value]
        if not items and s not in lifecycle.OPEN_STATUSES:
            continue
        start = (page_no - 1) * PER_COLUMN if f.status == s.value else 0
        shown = items[start:start + PER_COLUMN]
        def link(to_page: int, status: str = s.value) -> str:
            params = dict(parse_qsl(_query(f)))
            params.update({"status": status, "page": str(to_page)})
            return "/console/proposals?" + urlencode(params)

        here = page_no if f.status == s.value else 1
        more = link(here + 1) if start + PER_COLUMN < len(items) else ""
        back = link(here - 1) if here > 1 else ""
        out.append(Column(s.value, texts.PROPOSAL_STATUS_LABELS[s.value], [_card(console, p, w) for p, w in shown],
                          len(items), more, back))
    return out


@router.get("/proposals")
async def board_page(request: Request, console: ConsoleDep, staff: StaffDep, category: str = "", unit: str = "",
                     member: str = "", warning: str = "", status: str = "", q: str = "",
                     page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    f = _filters(category, unit, member, warning, status, q)
    cfg = console.config
    async with console.db.session() as session:
        rated = await board.search(session, filters=f, now=console.clock(), tz=cfg.tz, config=cfg.proposals)
        columns = _columns(console, rated, f, page_no)
        known_units = await board.units(session)
        known_authors = await board.authors(session)
    counts = {key: sum(1 for _, w in rated if (w.value if w else "none") == key) for key in board.WARNINGS}
    return page(request, "proposals.html", title=texts.TITLE_PROPOSAL_BOARD, staff=staff, section="proposals",
                columns=columns, total=len(rated), counts=counts, f=f, query=_query(f), page_no=page_no,
                per_column=PER_COLUMN,
                categories=cfg.proposals.categories, units=known_units, authors=known_authors,
                statuses=list(texts.PROPOSAL_STATUS_LABELS.items()),
                warnings=list(texts.PROPOSAL_WARNING_LABELS.items()),
                today=console.clock().astimezone(cfg.tz).date().isoformat())


@router.get("/proposals/export.xlsx")
async def export(console: ConsoleDep, staff: StaffDep, category: str = "", unit: str = "", member: str = "",
                 warning: str = "", status: str = "", q: str = "") -> Response:
    f = _filters(category, unit, member, warning, status, q)
    cfg = console.config
    now = console.clock()
    async with console.db.session() as session:
        rated = await board.search(session, filters=f, now=now, tz=cfg.tz, config=cfg.proposals, limit=100_000)
        records = await board.export_rows(session, items=[p for p, _ in rated], now=now, tz=cfg.tz,
                                          config=cfg.proposals)
    data = workbook_bytes(records, status_labels=texts.PROPOSAL_STATUS_LABELS,
                          rating_labels=texts.PROPOSAL_RATING_LABELS)
    name = texts.PROPOSAL_EXPORT_NAME.format(date=now.astimezone(cfg.tz).date().isoformat())
    disposition = f"attachment; filename=proposals.xlsx; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def map_links(p: Proposal) -> list[tuple[str, str]]:
    """Links to the place on a map (no external script on our page): OpenStreetMap and 高德 (WGS-84 given)."""
    if p.latitude is None or p.longitude is None:
        return []
    lat, lon = f"{p.latitude:.6f}", f"{p.longitude:.6f}"
    name = quote(p.place or p.number)
    return [
        (texts.PROPOSAL_MAP_OSM, f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"),
        (texts.PROPOSAL_MAP_AMAP, f"https://uri.amap.com/marker?position={lon},{lat}&coordinate=wgs84&name={name}"),
    ]


@router.get("/proposals/{proposal_id:int}")
async def item_page(request: Request, console: ConsoleDep, staff: StaffDep, proposal_id: int) -> Response:
    cfg = console.config
    async with console.db.session() as session:
        p = await repo.get(session, proposal_id=proposal_id)
        if p is None:
            raise HTTPException(404)
        warning = repo.warning_for_item(p, now=console.clock(), tz=cfg.tz, config=cfg.proposals)
        target = await repo.get(session, proposal_id=p.merged_into_id) if p.merged_into_id else None
        children = await repo.merged_into(session, proposal_id=p.id)
        allowed = [a.value for a in lifecycle.allowed_actions(repo.state_of(p), Actor.STAFF)]
        similar = []
        if Action.MERGE.value in allowed:
            found = await repo.find_similar(
                session, text=f"{p.title}\n{p.content}", embedding=p.embedding, embedder_id=p.embedder_id,
                limit=5, min_cosine=-1.0, min_jaccard=0.0, exclude_ids=[p.id])
            similar = [(t.number, t.title, texts.PROPOSAL_STATUS_LABELS.get(t.status, t.status)) for t, _ in found]
        known_units = await board.units(session)
        shots = [(ph.id, photos.stored_file(cfg.proposals.photo_dir, ph) is not None) for ph in p.photos]
        events = [(local_time(console, e.at), texts.PROPOSAL_ACTION_LABELS.get(e.action, e.action),
                   texts.PROPOSAL_STATUS_LABELS.get(e.status, e.status), e.actor, e.note or "",
                   (e.data or {}).get("unit") or "", (e.data or {}).get("deadline") or "") for e in p.events]
    colour = warning.value if warning else ""
    return page(request, "proposal.html", title=texts.TITLE_PROPOSAL.format(number=p.number), staff=staff,
                section="proposals", p=p, status_label=texts.PROPOSAL_STATUS_LABELS.get(p.status, p.status),
                warning=colour, warning_label=texts.PROPOSAL_WARNING_LABELS.get(colour, ""),
                rating=texts.PROPOSAL_RATING_LABELS.get(p.rating or "", ""), target=target, children=children,
                allowed=allowed, action_labels=texts.PROPOSAL_ACTION_LABELS, similar=similar, units=known_units,
                shots=shots, unavailable=texts.PROPOSAL_PHOTO_UNAVAILABLE, maps=map_links(p), events=events,
                no_place=texts.PROPOSAL_NO_PLACE, supporters=len(p.supporters),
                today=console.clock().astimezone(cfg.tz).date().isoformat())


@router.get("/proposals/{proposal_id:int}/photos/{photo_id:int}")
async def photo(console: ConsoleDep, staff: StaffDep, proposal_id: int, photo_id: int) -> Response:
    async with console.db.session() as session:
        shot = await photos.get_photo(session, proposal_id=proposal_id, photo_id=photo_id)
    path = photos.stored_file(console.config.proposals.photo_dir, shot) if shot is not None else None
    if path is None:
        raise HTTPException(404)
    media = "image/png" if path.suffix == ".png" else "image/webp" if path.suffix == ".webp" else "image/jpeg"
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, no-store"})


def _deadline(console: Console, value: str) -> tuple[date | None, bool]:
    """(deadline or None, ok): empty is fine; a malformed or past date is not."""
    value = value.strip()
    if not value:
        return None, True
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None, False
    return parsed, parsed >= console.clock().astimezone(console.config.tz).date()


def _to_item(proposal_id: int, msg: str) -> RedirectResponse:
    return RedirectResponse(f"/console/proposals/{proposal_id}?msg={msg}", status_code=303)


@router.post("/proposals/{proposal_id:int}/act")
async def act(
    console: ConsoleDep, staff: CheckedStaff, proposal_id: int,
    action: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "", unit: Annotated[str, Form()] = "",
    deadline: Annotated[str, Form()] = "", reply: Annotated[str, Form()] = "", into: Annotated[str, Form()] = "",
) -> Response:
    wanted = ACTIONS.get(action)
    if wanted is None:
        raise HTTPException(400)
    if max(len(note), len(reply), len(unit)) > DETAIL_MAX:
        return _to_item(proposal_id, "p_too_long")
    due, ok = _deadline(console, deadline)
    if not ok:
        return _to_item(proposal_id, "p_bad_deadline")
    cfg = console.config
    async with console.db.session() as session:
        p = await repo.get(session, proposal_id=proposal_id)
        if p is None:
            raise HTTPException(404)
        target = await repo.find(session, ref=into[:32]) if wanted is Action.MERGE and into.strip() else None
        try:
            await repo.transition(
                session, proposal=p, action=wanted, actor=Actor.STAFF, actor_member=staff.member,
                now=console.clock(), tz=cfg.tz, config=cfg.proposals, note=note or None, unit=unit[:128] or None,
                deadline=due if wanted in (Action.ACCEPT, Action.ASSIGN) else None, reply=reply or None,
                merge_into=target,
            )
        except repo.MissingDetail as exc:
            return _to_item(proposal_id, MISSING.get(exc.field, "p_refused"))
        except InvalidTransition as exc:
            return _to_item(proposal_id, "p_need_target" if exc.code == "target" else "p_refused")
    return _to_item(proposal_id, f"p_{wanted.value}")


@router.post("/proposals/bulk")
async def bulk(
    console: ConsoleDep, staff: CheckedStaff, ids: Annotated[list[str] | None, Form()] = None,
    op: Annotated[str, Form()] = "", unit: Annotated[str, Form()] = "", deadline: Annotated[str, Form()] = "",
    into: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "",
) -> Response:
    query = back if back and all(ch not in back for ch in "\r\n#") and len(back) < 600 else ""

    def to_board(msg: str, n: int | None = None, m: int | None = None) -> RedirectResponse:
        extra = "" if n is None else f"&n={n}&m={m or 0}"
        return RedirectResponse(f"/console/proposals?msg={msg}{extra}" + (f"&{query}" if query else ""),
                                status_code=303)

    chosen = [int(i) for i in (ids or []) if i.isdigit() and len(i) < 10][:200]
    if op not in ("assign", "merge"):
        raise HTTPException(400)
    if not chosen:
        return to_board("p_none_selected")
    cfg = console.config
    async with console.db.session() as session:
        if op == "assign":
            if not unit.strip():
                return to_board("p_need_unit")
            due, ok = _deadline(console, deadline)
            if not ok:
                return to_board("p_bad_deadline")
            result = await board.bulk_assign(session, proposal_ids=chosen, unit=unit.strip()[:128], deadline=due,
                                             staff=staff.member, now=console.clock(), tz=cfg.tz, config=cfg.proposals)
            return to_board("p_bulk_assign", len(result.done), len(result.skipped))
        target = await repo.find(session, ref=into[:32]) if into.strip() else None
        if target is None or Status(target.status) not in lifecycle.OPEN_STATUSES or target.merged_into_id:
            return to_board("p_need_target")
        result = await board.merge_many(session, proposal_ids=chosen, into=target, staff=staff.member,
                                        now=console.clock(), tz=cfg.tz, config=cfg.proposals)
        return to_board("p_bulk_merge", len(result.done), len(result.skipped))
