"""The xlsx workbook of proposals (``proposals export --xlsx`` and the console's 导出 of a filtered list)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = ["编号", "状态", "委员", "Telegram ID", "标题", "内容", "类别", "地点", "照片", "承办单位", "办理时限",
           "预警", "答复", "评价", "采纳", "并入", "附议人数", "提交时间"]
EVENT_COLUMNS = ["编号", "状态", "操作人", "时间", "说明"]


def workbook_bytes(records: Sequence[Mapping[str, Any]], *, status_labels: Mapping[str, str],
                   rating_labels: Mapping[str, str]) -> bytes:
    """Two sheets: 微建议 (one row per item) and 办理记录 (one row per event); records as ``export_record``."""
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook has one empty worksheet
    sheet.title = "微建议"
    sheet.append(COLUMNS)
    for r in records:
        photos = "\n".join(p.get("local_path") or p["file_id"] for p in r["photos"])
        sheet.append([
            r["number"], status_labels.get(r["status"], r["status"]), r["member"]["name"], r["member"]["telegram_id"],
            r["title"], r["content"], r["category"], r["place"], photos, r["unit"], r["deadline"], r["warning"],
            r["reply"], rating_labels.get(r["rating"] or "", ""), "是" if r["adopted"] else "", r["merged_into"],
            r["supporters"], r["created_at"],
        ])
    events = book.create_sheet("办理记录")
    events.append(EVENT_COLUMNS)
    for r in records:
        for e in r["events"]:
            events.append([r["number"], status_labels.get(e["status"], e["status"]), e["actor"], e["at"], e["note"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
