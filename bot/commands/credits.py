"""``cppcc-bot credits report [--period 2026|2026Q4|2026-11] [--json | --xlsx FILE]`` and ``credits adjust``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.commands.common import migrated_database
from bot.credits_wiring import credit_rules
from bot.settings import Settings
from store import members as members_repo
from store.credits import ledger, reports
from store.credits.rules import CreditRules
from store.types import utcnow

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "明细"
SUMMARY_HEAD = ["姓名", "telegram_id", "界别", "地区", "合计"]
DETAIL_HEAD = ["编号", "姓名", "日期", "类型", "类型名称", "积分", "申请积分", "封顶原因", "依据类型", "依据编号",
               "内容", "备注", "规则版本", "记录时间", "依据"]
SOURCE_LABELS = {"checkin": "打卡", "event": "活动签到", "proposal": "微建议", "adjustment": "人工调整"}
# What backs an entry (store.credits.reports.EVIDENCE_KINDS); a self-reported check-in is labelled 自报.
EVIDENCE_LABELS = {"reading": "阅读", "self_report": "自报", "event": "活动签到", "proposal": "微建议",
                   "adjustment": "人工调整"}
CAP_LABELS = {"daily": "当日上限", "weekly": "每周上限", "annual": "年度上限"}


async def build_report(settings: Settings, period_text: str | None) -> tuple[dict[str, Any], list[list[Any]]]:
    """The JSON report (DESIGN.md shape) and the ledger rows for the 明细 sheet."""
    rules = credit_rules(settings)
    today = utcnow().astimezone(settings.tz).date()
    period = reports.parse_period(period_text, today=today)
    async with migrated_database(settings) as db:
        async with db.session() as session:
            rows = await reports.report_rows(session, rules=rules, period=period)
            entries = await reports.ledger_entries(session, period=period)
            evidence = await reports.entry_evidence(session, entries=[e for e, _ in entries])
            by_evidence = await reports.points_by_evidence(session, period=period)
    report = {
        "period": period.label,
        "members": [
            {
                "name": r.member.name,
                "telegram_id": r.member.telegram_id,
                "sector": r.member.sector,
                "district": r.member.district,
                "total": r.total,
                "by_type": r.by_type,
                # points by what backs them: reading (a material read in the bot), self_report (自报), event, …
                "by_evidence": {k: by_evidence.get(r.member.id, {}).get(k, 0) for k in reports.EVIDENCE_KINDS},
            }
            for r in rows
        ],
    }
    detail = [
        [e.id, m.name, e.activity_date.isoformat(), e.rule_id, rules.label(e.rule_id), e.points, e.requested_points,
         CAP_LABELS.get(e.capped_reason or "", ""), SOURCE_LABELS.get(e.source_type, e.source_type), e.source_id,
         e.title or "", e.note or "", e.rules_version, e.at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
         EVIDENCE_LABELS.get(evidence[e.id], evidence[e.id])]
        for e, m in entries
    ]
    return report, detail


def write_xlsx(path: Path, report: dict[str, Any], detail: list[list[Any]], rules: CreditRules) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    type_ids = list(dict.fromkeys([*rules.type_ids(), *(k for m in report["members"] for k in m["by_type"])]))
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    summary.append(SUMMARY_HEAD + [f"{rules.label(t)}（{t}）" for t in type_ids]
                   + [f"依据：{EVIDENCE_LABELS[k]}" for k in reports.EVIDENCE_KINDS])
    for member in report["members"]:
        summary.append([member["name"], member["telegram_id"], member["sector"], member["district"],
                        member["total"], *(member["by_type"].get(t, 0) for t in type_ids),
                        *(member["by_evidence"].get(k, 0) for k in reports.EVIDENCE_KINDS)])
    sheet = book.create_sheet(DETAIL_SHEET)
    sheet.append(DETAIL_HEAD)
    for row in detail:
        sheet.append(row)
    for ws in (summary, sheet):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    book.save(path)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report, detail = asyncio.run(build_report(settings, args.period))
    except ValueError as exc:
        print(f"统计期间有误：{exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    rules = credit_rules(settings)
    if args.xlsx:
        write_xlsx(args.xlsx, report, detail, rules)
        count = len(report["members"])
        print(f"已导出 {report['period']} 履职积分：{count} 位委员，{len(detail)} 条明细 → {args.xlsx}")
        return 0
    print(f"{report['period']} 履职积分（目标 {rules.annual_target} 分/年）")
    for member in report["members"]:
        parts = " ".join(f"{rules.label(k)}{v}" for k, v in member["by_type"].items() if v)
        print(f"  {member['name']}\t{member['sector']}\t{member['district']}\t合计 {member['total']}\t{parts}")
    return 0


async def _adjust(settings: Settings, who: str, rule_id: str, points: int, reason: str) -> str:
    rules = credit_rules(settings)
    async with migrated_database(settings) as db:
        async with db.session() as session:
            candidates = [m for m in await members_repo.list_members(session)
                          if m.name == who or str(m.telegram_id) == who or str(m.id) == who]
            if len(candidates) != 1:
                raise LookupError(f"找不到唯一的成员：{who}（{len(candidates)} 个匹配）")
            member = candidates[0]
            now = utcnow()
            entry = await ledger.adjust(
                session, rules=rules, member=member, rule_id=rule_id, points=points, reason=reason, staff=None,
                now=now, day=now.astimezone(settings.tz).date(), actor_label="cli",
            )
            label = rules.label(rule_id)
            return f"已为 {member.name} 调整 {label} {entry.points:+d} 分（记录 #{entry.id}），原因已记入操作日志。"


def cmd_adjust(args: argparse.Namespace, settings: Settings) -> int:
    try:
        print(asyncio.run(_adjust(settings, args.member, args.type, args.points, args.reason)))
    except (LookupError, ValueError) as exc:
        print(f"调整失败：{exc}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("credits", help="credit reports and manual adjustments")
    sub = parser.add_subparsers(dest="credits_command", required=True)
    p_report = sub.add_parser("report", help="one row per member, one column per credit type")
    p_report.add_argument("--period", default=None, help="2026, 2026Q4 or 2026-11 (default: this year)")
    output = p_report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--xlsx", type=Path, metavar="FILE")
    p_report.set_defaults(func=cmd_report)
    p_adjust = sub.add_parser("adjust", help="add or remove points with a reason (audit log)")
    p_adjust.add_argument("member", help="name, telegram_id or member id")
    p_adjust.add_argument("points", type=int)
    p_adjust.add_argument("--type", required=True, help="credit type id, e.g. meeting")
    p_adjust.add_argument("--reason", required=True)
    p_adjust.set_defaults(func=cmd_adjust)
