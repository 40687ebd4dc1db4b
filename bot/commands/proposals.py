"""``cppcc-bot proposals export [--json | --xlsx FILE]`` and ``proposals update ID --status …`` (back office).

``update`` records the transition and queues the member notifications in the database outbox; the
running bot delivers them within seconds (one sender, so each member hears once per transition).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.commands.common import migrated_database
from bot.credits_wiring import credit_rules
from bot.proposals_wiring import proposals_config
from bot.settings import Settings
from handlers import texts
from store.proposals import repository as repo
from store.proposals.export import workbook_bytes
from store.proposals.lifecycle import Action, Actor, InvalidTransition
from store.types import utcnow

BACK_OFFICE = "后台"
STATUS_ACTIONS: dict[str, Action] = {
    "accepted": Action.ACCEPT,
    "rejected": Action.REJECT,
    "assigned": Action.ASSIGN,
    "answered": Action.ANSWER,
    "merged": Action.MERGE,
    "converted": Action.CONVERT,
    "adopted": Action.ADOPT,
}
MEMBER_ONLY = {"closed": "办结由委员评价后自动完成", "withdrawn": "撤回只能由提出建议的委员操作"}


class UsageError(Exception):
    """Bad input on the command line: printed and exit code 1, nothing changed."""


def with_label(record: dict[str, Any]) -> dict[str, Any]:
    labelled = {"number": record["number"], "status": record["status"],
                "status_label": texts.PROPOSAL_STATUS_LABELS[record["status"]]}
    labelled.update({k: v for k, v in record.items() if k not in labelled})
    return labelled


async def export_records(settings: Settings) -> list[dict[str, Any]]:
    async with migrated_database(settings) as db:
        async with db.session() as session:
            records = await repo.export_all(session, now=utcnow(), tz=settings.tz, config=proposals_config(settings))
        return [with_label(r) for r in records]


def write_xlsx(records: list[dict[str, Any]], path: Path) -> None:
    path.write_bytes(workbook_bytes(records, status_labels=texts.PROPOSAL_STATUS_LABELS,
                                    rating_labels=texts.PROPOSAL_RATING_LABELS))


def _parse_deadline(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"--deadline 应为 YYYY-MM-DD 格式的日期（收到 {value!r}）") from None


async def update_item(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    status = args.status
    if status in MEMBER_ONLY:
        raise UsageError(f"不能在后台设为 {status}：{MEMBER_ONLY[status]}")
    action = STATUS_ACTIONS.get(status)
    if action is None:
        raise UsageError(f"未知状态 {status!r}，可用：{', '.join(STATUS_ACTIONS)}")
    deadline = _parse_deadline(args.deadline)
    config = proposals_config(settings, credit_rules=credit_rules(settings))
    async with migrated_database(settings) as db:
        async with db.session() as session:
            proposal = await repo.find(session, ref=args.id)
            if proposal is None:
                raise UsageError(f"找不到建议 {args.id}")
            target = None
            if action is Action.MERGE:
                target = await repo.find(session, ref=args.into or "")
                if target is None:
                    raise UsageError("合并需要 --into 目标编号（例如 --into WJY-2026-0001）")
            before = proposal.status
            now = utcnow()
            if deadline is not None and deadline < now.astimezone(settings.tz).date():
                raise UsageError("--deadline 早于今天")
            try:
                event = await repo.transition(
                    session, proposal=proposal, action=action, actor=Actor.STAFF, actor_member=None,
                    actor_label=args.actor or BACK_OFFICE, now=now, tz=settings.tz, config=config,
                    note=args.note if action is not Action.ANSWER else None, unit=args.unit, deadline=deadline,
                    reply=args.reply or (args.note if action is Action.ANSWER else None), merge_into=target,
                )
            except InvalidTransition as exc:
                label = texts.PROPOSAL_STATUS_LABELS[before]
                raise UsageError(f"{proposal.number} 当前为“{label}”，不能设为 {status}（{exc.code}）") from None
            except repo.MissingDetail as exc:
                need = {"note": "--note 理由", "unit": "--unit 承办单位", "reply": "--reply 答复内容"}
                raise UsageError(f"缺少 {need.get(exc.field, exc.field)}") from None
            notified = await repo.notifications_of_event(session, event_id=event.id)
            return {
                "number": proposal.number, "from": before, "status": proposal.status, "event": event.action,
                "unit": proposal.unit, "deadline": proposal.deadline.isoformat() if proposal.deadline else None,
                "notifications_queued": notified,
            }


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    records = asyncio.run(export_records(settings))
    if args.xlsx:
        write_xlsx(records, args.xlsx)
        print(f"已导出 {len(records)} 条微建议到 {args.xlsx}")
        return 0
    print(json.dumps(records, ensure_ascii=False, indent=2))
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    try:
        result = asyncio.run(update_item(settings, args))
    except UsageError as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False))
        else:
            print(f"未更新：{exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **result}, ensure_ascii=False))
        return 0
    labels = texts.PROPOSAL_STATUS_LABELS
    print(f"{result['number']}：{labels[result['from']]} → {labels[result['status']]}；"
          f"已排队通知 {result['notifications_queued']} 位委员（由运行中的机器人发送）。")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("proposals", help="micro-proposals: export and back-office updates")
    sub = parser.add_subparsers(dest="proposals_command", required=True)
    p_export = sub.add_parser("export", help="every item with its full event history")
    fmt = p_export.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON array on stdout (default)")
    fmt.add_argument("--xlsx", type=Path, metavar="FILE", help="Excel workbook")
    p_export.set_defaults(func=cmd_export)
    p_update = sub.add_parser("update", help="apply a transition (the member is notified by the running bot)")
    p_update.add_argument("id", help="tracking number (WJY-2026-0001) or id")
    p_update.add_argument("--status", required=True, help=", ".join(STATUS_ACTIONS))
    p_update.add_argument("--unit", help="handling unit (承办单位), for assigned")
    p_update.add_argument("--deadline", help="YYYY-MM-DD, for accepted/assigned")
    p_update.add_argument("--reply", help="the reply text, for answered")
    p_update.add_argument("--note", help="reason (rejected) or remark")
    p_update.add_argument("--into", help="target number, for merged")
    p_update.add_argument("--actor", help=f"name recorded as the actor (default {BACK_OFFICE})")
    p_update.add_argument("--json", action="store_true")
    p_update.set_defaults(func=cmd_update)
