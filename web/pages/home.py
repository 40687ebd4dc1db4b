"""总览: this week's figures, each linking to a plain list of what it counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from store import dashboard
from web import texts
from web.render import local_time, page
from web.security import ConsoleDep, StaffDep
from web.state import Console

router = APIRouter()


def week_bounds(console: Console) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, in the committee's time zone (as UTC instants)."""
    local = console.clock().astimezone(console.config.tz)
    start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=7)


@dataclass
class Table:
    head: list[str]
    rows: Sequence[Sequence[object]] = field(default_factory=list)
    heading: str = ""
    anchor: str = ""


@router.get("/")
async def overview(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    since, until = week_bounds(console)
    async with console.db.session() as session:
        figures = await dashboard.overview(session, since=since, until=until, now=console.clock(),
                                           tz=console.config.tz, config=console.config.proposals)
    week = texts.WEEK_RANGE.format(start=since.strftime("%m-%d"), end=(until - timedelta(days=1)).strftime("%m-%d"))
    return page(request, "home.html", title=texts.TITLE_HOME, staff=staff, section="home", o=figures, week=week)


@router.get("/lists/checkins")
async def checkins(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    since, until = week_bounds(console)
    async with console.db.session() as session:
        study = await dashboard.checkins_between(session, since=since, until=until)
        events = await dashboard.attendance_between(session, since=since, until=until)
    tables = [
        Table(["时间", "委员", "类型", "内容", "分钟"],
              [[local_time(console, c.created_at), name, c.kind, c.title or c.body or "", c.minutes or ""]
               for c, name in study], heading="自主学习"),
        Table(["时间", "委员", "活动"], [[local_time(console, a.at), name, title] for a, name, title in events],
              heading="线下活动签到", anchor="events"),
    ]
    return page(request, "list.html", title=texts.TITLE_CHECKINS, staff=staff, section="home", tables=tables)


WARNING_LABELS = {"red": "红色", "yellow": "黄色", "green": "绿色", None: "—"}


@router.get("/lists/proposals")
async def proposals(request: Request, console: ConsoleDep, staff: StaffDep, warning: str | None = None) -> Response:
    wanted = warning if warning in ("red", "yellow", "green", "none") else None
    async with console.db.session() as session:
        rated = await dashboard.open_proposals(session, now=console.clock(), tz=console.config.tz,
                                               config=console.config.proposals, warning=wanted)
        rows = [[p.number, WARNING_LABELS[w.value if w else None], p.status, p.member.name, p.title, p.unit or "",
                 str(p.deadline or ""), local_time(console, p.created_at)] for p, w in rated]
    tables = [Table(["编号", "预警", "状态", "委员", "标题", "承办单位", "期限", "提交时间"], rows)]
    return page(request, "list.html", title=texts.TITLE_PROPOSALS, staff=staff, section="home", tables=tables)


@router.get("/lists/broadcasts")
async def broadcasts(request: Request, console: ConsoleDep, staff: StaffDep) -> Response:
    async with console.db.session() as session:
        live = await dashboard.live_broadcasts(session)
    rows = [[b.id, b.state, b.audience_label, b.text[:80], local_time(console, b.scheduled_at or b.created_at)]
            for b in live]
    tables = [Table(["编号", "状态", "对象", "内容", "时间"], rows)]
    return page(request, "list.html", title=texts.TITLE_BROADCASTS, staff=staff, section="home", tables=tables)
