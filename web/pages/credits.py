"""积分: the report by period with totals by type and a chart, the xlsx export, the dispute (申诉) queue,
adjustments with a reason, and events with their attendance and manual marks.

Every action calls the store function the Telegram side calls (``ledger.resolve_dispute``, ``ledger.adjust``,
``events.mark_attendance``), and what the member is told goes through ``store.member_notices`` (the bot sends
it) in the same transaction."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from store import member_notices
from store import members as members_repo
from store.credits import events as events_repo
from store.credits import export, ledger, reports
from store.credits.reports import Period
from store.credits.rules import CreditRules
from store.models import Member
from web import texts
from web.render import local_time, page
from web.security import CheckedStaff, ConsoleDep, Staff, StaffDep
from web.state import Console

router = APIRouter()
REASON_MAX = 500
POINTS_MAX = 1000
INT_RE = re.compile(r"[+-]?[0-9]{1,9}")
CHART_WIDTH = 360  # px of the longest bar in the inline SVG charts


def _int(value: str) -> int | None:
    """A whole number typed in a form (ASCII digits only: int() would take "٣" and refuse "+-3")."""
    text = value.strip()
    return int(text) if INT_RE.fullmatch(text) else None


def _today(console: Console) -> date:
    return console.clock().astimezone(console.config.tz).date()


def _rules(console: Console) -> CreditRules:
    return console.config.credits


def _render(request: Request, template: str, *, title: str, staff: Staff, tab: str, status: int = 200,
            **context: Any) -> Response:
    return page(request, template, title=title, staff=staff, section="credits", status=status,
                tabs=texts.CREDIT_TABS, tab=tab, **context)


# ---- the report -----------------------------------------------------------------------------------


def _period_links(year: int) -> list[tuple[str, str]]:
    links = [(str(year), texts.PERIOD_YEAR.format(year=year))]
    links += [(f"{year}Q{q}", label) for q, label in enumerate(texts.PERIOD_QUARTERS, start=1)]
    links += [(f"{year}-{m:02d}", texts.PERIOD_MONTH.format(month=m)) for m in range(1, 13)]
    return links


def _bars(items: list[tuple[str, int]]) -> dict[str, Any]:
    """Rows of a horizontal bar chart drawn as inline SVG (no script, no inline style: the CSP allows it)."""
    top = max((v for _, v in items), default=0)
    rows = [{"label": label, "value": value, "y": 28 * n,
             "width": round(CHART_WIDTH * value / top) if top > 0 and value > 0 else 0}
            for n, (label, value) in enumerate(items)]
    return {"rows": rows, "height": 28 * len(rows) + 4, "width": CHART_WIDTH + 170}


def _parse(console: Console, text: str | None) -> Period | None:
    try:
        return reports.parse_period((text or "").strip()[:16] or None, today=_today(console))
    except ValueError:
        return None


@router.get("/credits")
async def report(request: Request, console: ConsoleDep, staff: StaffDep, period: str = "") -> Response:
    rules = _rules(console)
    chosen = _parse(console, period)
    if chosen is None:
        return _render(request, "credits.html", title=texts.TITLE_CREDITS, staff=staff, tab="report", status=400,
                       error=texts.PERIOD_BAD, period=None, periods=_period_links(_today(console).year),
                       asked=period[:16])
    async with console.db.session() as session:
        stats = await reports.stats(session, rules=rules, period=chosen, today=_today(console))
        rows = await reports.report_rows(session, rules=rules, period=chosen)
        months = await reports.monthly_totals(session, period=chosen)
    type_ids = list(dict.fromkeys([*rules.type_ids(), *stats.by_type]))
    by_type = [(rules.label(t), stats.by_type.get(t, 0)) for t in type_ids]
    members = [{"name": r.member.name, "sector": r.member.sector or "", "district": r.member.district or "",
                "total": r.total, "cells": [r.by_type.get(t, 0) for t in type_ids]}
               for r in sorted(rows, key=lambda r: (-r.total, r.member.id))]
    return _render(
        request, "credits.html", title=texts.TITLE_CREDITS, staff=staff, tab="report", period=chosen,
        periods=_period_links(chosen.start.year), asked=chosen.label, stats=stats,
        average=stats.total / stats.members if stats.members else 0.0, target=rules.annual_target,
        types=[rules.label(t) for t in type_ids], by_type=by_type, members=members,
        type_chart=_bars(by_type), month_chart=_bars([(m.strftime("%Y-%m"), v) for m, v in months]),
        chart_titles=(texts.CHART_BY_TYPE, texts.CHART_BY_MONTH),
    )


@router.get("/credits/export.xlsx")
async def export_xlsx(console: ConsoleDep, staff: StaffDep, period: str = "") -> Response:
    chosen = _parse(console, period)
    if chosen is None:
        raise HTTPException(400, texts.PERIOD_BAD)
    rules = _rules(console)
    async with console.db.session() as session:
        built = await export.build(session, rules=rules, period=chosen, tz=console.config.tz)
    body = export.xlsx_bytes(built, rules)
    name = f"履职积分-{chosen.label}.xlsx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=\"credits-{chosen.label}.xlsx\"; "
                                                    f"filename*=UTF-8''{quote(name)}",
                             "Cache-Control": "no-store"})


# ---- disputes -------------------------------------------------------------------------------------


def _entry_row(console: Console, entry: Any) -> dict[str, Any]:
    rules = _rules(console)
    return {"id": entry.id, "day": entry.activity_date.isoformat(), "label": rules.label(entry.rule_id),
            "title": entry.title or "", "points": entry.points,
            "source": texts.SOURCE_LABELS.get(entry.source_type, entry.source_type)}


async def _disputes_page(request: Request, console: Console, staff: Staff, *, status: int = 200,
                         error: str | None = None) -> Response:
    async with console.db.session() as session:
        open_rows = await ledger.dispute_rows(session, open_only=True)
        done_rows = await ledger.dispute_rows(session, open_only=False, limit=30)

    def row(d: Any, e: Any, m: Member) -> dict[str, Any]:
        return {"id": d.id, "member": m.name, "reason": d.reason or "", "at": local_time(console, d.created_at),
                "entry": _entry_row(console, e), "status": texts.DISPUTE_STATUS.get(d.status, d.status),
                "resolution": d.resolution or "", "resolved_at": local_time(console, d.resolved_at)}

    return _render(request, "credit_disputes.html", title=texts.TITLE_DISPUTES, staff=staff, tab="disputes",
                   status=status, error=error, open=[row(*r) for r in open_rows], done=[row(*r) for r in done_rows])


@router.get("/credits/disputes")
async def disputes(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    return await _disputes_page(request, console, staff)


def _reason(value: str) -> tuple[str, str | None]:
    reason = value.strip()
    if not reason:
        return reason, texts.REASON_REQUIRED
    if len(reason) > REASON_MAX:
        return reason, texts.REASON_TOO_LONG
    return reason, None


@router.post("/credits/disputes/{dispute_id:int}/{decision}")
async def decide(request: Request, console: ConsoleDep, staff: CheckedStaff, dispute_id: int, decision: str,
                 reason: Annotated[str, Form()] = "") -> Response:
    """采纳 (accept: the entry's points are reversed) or 驳回 (reject: the entry stands), with a reason the
    member receives in Telegram."""
    if decision not in ("accept", "reject"):
        raise HTTPException(404)
    text, problem = _reason(reason)
    if problem:
        return await _disputes_page(request, console, staff, status=400, error=problem)
    now = console.clock()
    async with console.db.session() as session:
        dispute = await ledger.get_dispute(session, dispute_id=dispute_id)
        if dispute is None:
            raise HTTPException(404)
        if dispute.status != "open":
            return _to("/console/credits/disputes", "dispute_gone")
        try:
            await ledger.resolve_dispute(session, rules=_rules(console), dispute=dispute, staff=staff.member,
                                         correct=decision == "accept", now=now, day=_today(console), note=text)
        except ledger.DisputeError as exc:  # decided meanwhile by someone else, or the entry corrected already
            return _to("/console/credits/disputes", "dispute_gone" if exc.code == "gone" else "dispute_corrected")
        result = texts.DISPUTE_RESULTS[dispute.status]
        message = texts.DISPUTE_RESOLVED_MEMBER.format(id=dispute.id, result=result)
        await member_notices.enqueue(session, member_id=dispute.member_id, now=now, kind="credits.dispute",
                                     text=message + texts.DISPUTE_REASON_LINE.format(reason=text))
    return _to("/console/credits/disputes", "dispute_accepted" if decision == "accept" else "dispute_rejected")


def _to(path: str, msg: str, n: int | None = None) -> RedirectResponse:
    extra = f"&n={n}" if n is not None else ""
    return RedirectResponse(f"{path}?msg={msg}{extra}", status_code=303)


# ---- adjustments ----------------------------------------------------------------------------------


async def _adjust_page(request: Request, console: Console, staff: Staff, *, status: int = 200,
                       error: str | None = None, form: dict[str, str] | None = None) -> Response:
    rules = _rules(console)
    async with console.db.session() as session:
        people = await members_repo.list_members(session, active_only=True)
        recent = await ledger.recent_adjustments(session)
    rows = [{"id": e.id, "at": local_time(console, e.at), "member": m.name, "label": rules.label(e.rule_id),
             "points": e.points, "reason": e.note or "",
             "reverses": texts.REVERSAL.format(id=e.reverses_id) if e.reverses_id else ""} for e, m in recent]
    return _render(request, "credit_adjust.html", title=texts.TITLE_ADJUST, staff=staff, tab="adjust",
                   status=status, error=error, members=[(m.id, m.name, m.sector or "") for m in people],
                   types=[(t, rules.label(t)) for t in rules.type_ids()], recent=rows, form=form or {})


@router.get("/credits/adjust")
async def adjust_form(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    return await _adjust_page(request, console, staff)


@router.post("/credits/adjust")
async def adjust(request: Request, console: ConsoleDep, staff: CheckedStaff,
                 member_id: Annotated[str, Form()] = "", rule_id: Annotated[str, Form()] = "",
                 points: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    """+/- points with a mandatory reason: one append-only ledger entry, its audit log entry, and a notice."""
    rules = _rules(console)
    form = {"member_id": member_id, "rule_id": rule_id, "points": points[:8], "reason": reason[:REASON_MAX]}
    text, problem = _reason(reason)
    value = _int(points) or 0
    if rule_id not in rules.types:
        problem = texts.TYPE_BAD
    elif value == 0 or abs(value) > POINTS_MAX:
        problem = texts.POINTS_BAD
    now = console.clock()
    async with console.db.session() as session:
        wanted = _int(member_id)
        member = await members_repo.get(session, member_id=wanted) if wanted and wanted > 0 else None
        if member is None or not member.active:
            problem = texts.MEMBER_BAD
        if problem or member is None:
            entry = None
        else:
            entry = await ledger.adjust(session, rules=rules, member=member, rule_id=rule_id, points=value,
                                        reason=text, staff=staff.member, now=now, day=_today(console))
            await member_notices.enqueue(
                session, member_id=member.id, now=now, kind="credits.adjust",
                text=texts.ADJUSTED_MEMBER.format(label=rules.label(rule_id), points=entry.points, id=entry.id,
                                                  reason=text))
    if entry is None:
        return await _adjust_page(request, console, staff, status=400, error=problem, form=form)
    return _to("/console/credits/adjust", "adjusted", entry.id)


# ---- events ---------------------------------------------------------------------------------------


@router.get("/credits/events")
async def event_list(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    rules = _rules(console)
    async with console.db.session() as session:
        found = await events_repo.recent_events(session, limit=50)
        counts = await events_repo.attendance_counts(session, event_ids=[e.id for e in found])
    rows = [{"id": e.id, "code": events_repo.display_code(e.code), "title": e.title, "label": rules.label(e.rule_id),
             "starts": local_time(console, e.starts_at), "points": e.points, "place": e.place or "",
             "count": counts.get(e.id, 0)} for e in found]
    return _render(request, "credit_events.html", title=texts.TITLE_EVENTS, staff=staff, tab="events", events=rows)


async def _event_page(request: Request, console: Console, staff: Staff, event_id: int, *, status: int = 200,
                      error: str | None = None, form: dict[str, str] | None = None) -> Response:
    rules = _rules(console)
    async with console.db.session() as session:
        event = await events_repo.get_event(session, event_id=event_id)
        if event is None:
            raise HTTPException(404)
        rows = await events_repo.attendance_list(session, event_id=event_id)
        people = await members_repo.list_members(session, active_only=True)
    present = {m.id for _, m in rows}
    attendance = [{"name": m.name, "at": local_time(console, a.at),
                   "method": texts.EVENT_METHODS.get(a.method, a.method),
                   "distance": round(a.distance_m) if a.distance_m is not None else None,
                   "far": a.out_of_radius, "reason": a.reason or ""} for a, m in rows]
    return _render(
        request, "credit_event.html", title=texts.TITLE_EVENT.format(title=event.title), staff=staff, tab="events",
        status=status, error=error, form=form or {}, event=event, code=events_repo.display_code(event.code),
        label=rules.label(event.rule_id), starts=local_time(console, event.starts_at),
        ends=local_time(console, event.ends_at), attendance=attendance,
        absent=[(m.id, m.name, m.sector or "") for m in people if m.id not in present and not m.role_enum.is_staff],
    )


@router.get("/credits/events/{event_id:int}")
async def event_page(request: Request, console: ConsoleDep, staff: StaffDep, event_id: int) -> Response:
    return await _event_page(request, console, staff, event_id)


@router.post("/credits/events/{event_id:int}/mark")
async def mark(request: Request, console: ConsoleDep, staff: CheckedStaff, event_id: int,
               member_id: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    """补签: mark a member present by hand, through the same rules as a check-in (once per event, caps)."""
    text, problem = _reason(reason)
    form = {"member_id": member_id, "reason": reason[:REASON_MAX]}
    now = console.clock()
    async with console.db.session() as session:
        event = await events_repo.get_event(session, event_id=event_id)
        if event is None:
            raise HTTPException(404)
        wanted = _int(member_id)
        member = await members_repo.get(session, member_id=wanted) if wanted and wanted > 0 else None
        if member is None or not member.active:
            problem = texts.MEMBER_BAD
        result = None
        if not problem and member is not None:
            result = await events_repo.mark_attendance(session, rules=_rules(console), event=event, member=member,
                                                       staff=staff.member, reason=text, now=now,
                                                       tz=console.config.tz)
    if result is None:
        return await _event_page(request, console, staff, event_id, status=400, error=problem, form=form)
    path = f"/console/credits/events/{event_id}"
    if result.outcome is events_repo.CheckinOutcome.ALREADY:
        return _to(path, "mark_already")
    return _to(path, "marked", result.award.points if result.award else 0)
