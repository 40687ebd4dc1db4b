"""学习推送: next week's learning pushes before they go out (a preview: nothing is saved), and this week's."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from starlette.responses import Response

from store.learning import pushes
from store.learning.planner import next_week_start, week_start
from web import texts
from web.render import local_time, page
from web.security import ConsoleDep, StaffDep

router = APIRouter()
SHOWN = 500  # rows in the table; the counts cover the whole plan


@router.get("/learning_push")
async def learning_push(request: Request, console: ConsoleDep, staff: StaffDep, week: str = "next") -> Response:
    week = week if week in texts.LEARNING_PUSH_WEEKS else "next"
    config = console.config
    now = console.clock()
    week_from = next_week_start(now, config.tz) if week == "next" else week_start(now, config.tz)
    async with console.db.session() as session:
        if week == "next":
            plan = await pushes.compute_plan(session, week_from=week_from, now=now, config=config.learning_push,
                                             defaults=config.prefs_defaults, tz=config.tz)
            rows = await pushes.describe(session, plan)
            statuses: dict[str, int] = {}
        else:
            rows = await pushes.saved_plan(session, week_from=week_from)
            statuses = await pushes.week_counts(session, week_from=week_from)
    reasons = Counter(r.reason for r in rows)
    shown = [{
        "at": local_time(console, r.send_at),
        "member": r.member_name,
        "member_id": r.member_id,
        "material": r.material_title,
        "reason": texts.LEARNING_PUSH_REASONS.get(r.reason, r.reason),
        "topic": r.topic or "",
    } for r in rows[:SHOWN]]
    return page(
        request, "learning_push.html", title=texts.TITLE_LEARNING_PUSH, staff=staff, section="learning_push",
        week=week, weeks=list(texts.LEARNING_PUSH_WEEKS.items()), week_from=local_time(console, week_from)[:10],
        total=len(rows), members=len({r.member_id for r in rows}), per_week=config.learning_push.per_week,
        reasons=[(texts.LEARNING_PUSH_REASONS[k], reasons.get(k, 0)) for k in texts.LEARNING_PUSH_REASONS],
        statuses=[(texts.LEARNING_PUSH_STATUSES.get(k, k), n) for k, n in sorted(statuses.items())],
        rows=shown, more=max(0, len(rows) - SHOWN),
    )
