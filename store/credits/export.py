"""The credit report of a period as data (the JSON shape of DESIGN.md) and as an .xlsx workbook (汇总 + 明细):
one builder for ``cppcc-bot credits report`` and the console's export, so both give the same file."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from store.credits import reports
from store.credits.reports import Period
from store.credits.rules import CreditRules

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "明细"
SUMMARY_HEAD = ["姓名", "telegram_id", "界别", "地区", "合计"]
DETAIL_HEAD = ["编号", "姓名", "日期", "类型", "类型名称", "积分", "申请积分", "封顶原因", "依据类型", "依据编号",
               "内容", "备注", "规则版本", "记录时间", "依据"]
SOURCE_LABELS = {"checkin": "打卡", "event": "活动签到", "proposal": "微建议", "adjustment": "人工调整", "quiz": "答题"}
# What backs an entry (store.credits.reports.EVIDENCE_KINDS); a self-reported check-in is labelled 自报.
EVIDENCE_LABELS = {"reading": "阅读", "quiz": "答题", "self_report": "自报", "event": "活动签到", "proposal": "微建议",
                   "adjustment": "人工调整"}
CAP_LABELS = {"daily": "当日上限", "weekly": "每周上限", "annual": "年度上限"}


@dataclass(frozen=True)
class Report:
    """``data``: the JSON report; ``detail``: one row per ledger entry of the period (the 明细 sheet)."""

    data: dict[str, Any]
    detail: list[list[Any]]


async def build(session: AsyncSession, *, rules: CreditRules, period: Period, tz: ZoneInfo) -> Report:
    rows = await reports.report_rows(session, rules=rules, period=period)
    entries = await reports.ledger_entries(session, period=period)
    evidence = await reports.entry_evidence(session, entries=[e for e, _ in entries])
    by_evidence = await reports.points_by_evidence(session, period=period)
    data = {
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
         e.title or "", e.note or "", e.rules_version, e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
         EVIDENCE_LABELS.get(evidence[e.id], evidence[e.id])]
        for e, m in entries
    ]
    return Report(data, detail)


def xlsx_bytes(report: Report, rules: CreditRules) -> bytes:
    """The workbook: 汇总 (one row per member, one column per type) and 明细 (the ledger of the period)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    members: list[dict[str, Any]] = report.data["members"]
    type_ids = list(dict.fromkeys([*rules.type_ids(), *(k for m in members for k in m["by_type"])]))
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    summary.append(SUMMARY_HEAD + [f"{rules.label(t)}（{t}）" for t in type_ids]
                   + [f"依据：{EVIDENCE_LABELS[k]}" for k in reports.EVIDENCE_KINDS])
    for member in members:
        summary.append([member["name"], member["telegram_id"], member["sector"], member["district"],
                        member["total"], *(member["by_type"].get(t, 0) for t in type_ids),
                        *(member["by_evidence"].get(k, 0) for k in reports.EVIDENCE_KINDS)])
    sheet = book.create_sheet(DETAIL_SHEET)
    sheet.append(DETAIL_HEAD)
    for row in report.detail:
        sheet.append(row)
    for ws in (summary, sheet):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
