"""``cppcc-bot learning plan [--week next|this] [--json] [--save]``: the weekly learning-push plan (staff preview).

Prints who will get which material when, and why, as the bot's planning job would make it now (nothing is
saved unless ``--save``: then the week is planned as the job does, replacing that week's rows not yet sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from bot.broadcast_wiring import broadcast_config
from bot.commands.common import migrated_database
from bot.learning_wiring import learning_push_config
from bot.settings import Settings
from store.learning import pushes
from store.learning.planner import next_week_start, week_start
from store.types import utcnow

REASON_LABELS = {"required": "必学到期", "wrong": "答题错题主题", "topic": "关注主题", "new": "新资料"}


async def _plan(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    now = utcnow()
    tz = settings.tz
    week_from = next_week_start(now, tz) if args.week == "next" else week_start(now, tz)
    config = learning_push_config(settings)
    defaults = broadcast_config(settings).defaults
    async with migrated_database(settings) as db:
        async with db.session() as session:
            if args.save:
                await pushes.plan_and_save(session, week_from=week_from, now=now, config=config, defaults=defaults,
                                           tz=tz)
                await session.commit()
            plan = await pushes.compute_plan(session, week_from=week_from, now=now, config=config,
                                             defaults=defaults, tz=tz) if not args.save else None
            rows = await pushes.describe(session, plan) if plan is not None else await pushes.saved_plan(
                session, week_from=week_from)
    return {
        "week_start": week_from.astimezone(tz).date().isoformat(),
        "per_week": config.per_week,
        "saved": bool(args.save),
        "pushes": [
            {"member_id": r.member_id, "member": r.member_name, "material_id": r.material_id,
             "material": r.material_title, "send_at": r.send_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
             "reason": r.reason, "topic": r.topic}
            for r in rows
        ],
    }


def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    result = asyncio.run(_plan(settings, args))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    members = len({p["member_id"] for p in result["pushes"]})
    print(f"学习推送计划：{result['week_start']} 起一周，共 {len(result['pushes'])} 条，涉及 {members} 位委员"
          f"（每人每周最多 {result['per_week']} 条）{'，已保存' if result['saved'] else '（预览，未保存）'}")
    for p in result["pushes"]:
        topic = f"（{p['topic']}）" if p["topic"] else ""
        reason = REASON_LABELS.get(p["reason"], p["reason"])
        print(f"{p['send_at']}  {p['member']}  《{p['material']}》  {reason}{topic}")
    return 0


def register(subparsers: Any) -> None:
    learning = subparsers.add_parser("learning", help="learning pushes (学习推送)")
    sub = learning.add_subparsers(dest="learning_command", metavar="ACTION", required=True)
    plan = sub.add_parser("plan", help="show (or --save) the weekly push plan")
    plan.add_argument("--week", choices=("next", "this"), default="next")
    plan.add_argument("--json", action="store_true")
    plan.add_argument("--save", action="store_true", help="save the plan as the bot's weekly job would")
    plan.set_defaults(func=run_plan)
