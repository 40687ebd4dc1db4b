"""Roster CSV parsing and validation (UTF-8 with or without BOM, or GBK/GB18030 from Excel)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from store.models import Role

# Accepted header spellings → canonical column.
HEADER_ALIASES: dict[str, str] = {
    "name": "name", "姓名": "name",
    "sector": "sector", "界别": "sector",
    "district": "district", "地区": "district", "区县": "district", "所在地区": "district",
    "groups": "groups", "group": "groups", "分组": "groups", "小组": "groups",
    "role": "role", "角色": "role",
    "telegram_id": "telegram_id", "telegram": "telegram_id",
    "phone": "phone", "电话": "phone", "手机": "phone", "手机号": "phone",
}
ROLE_ALIASES: dict[str, Role] = {
    "member": Role.MEMBER, "委员": Role.MEMBER, "": Role.MEMBER,
    "staff": Role.STAFF, "工作人员": Role.STAFF, "机关工作人员": Role.STAFF,
    "reviewer": Role.REVIEWER, "把关人": Role.REVIEWER,
    "admin": Role.ADMIN, "管理员": Role.ADMIN,
}
REQUIRED = ("name",)
PHONE_RE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    sector: str
    district: str
    groups: tuple[str, ...]
    role: Role
    telegram_id: int | None
    phone: str | None


@dataclass
class RosterParseResult:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def decode_roster(data: bytes) -> str:
    """Decode roster bytes: UTF-8 (BOM optional) first, then GB18030 (a superset of GBK)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("文件编码无法识别（请另存为 UTF-8 或 GBK 编码的 CSV）")


def _clean_phone(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not PHONE_RE.match(raw):
        raise ValueError(f"电话号码格式不正确：{raw}")
    return re.sub(r"[\- ]", "", raw)


def parse_roster(data: bytes) -> RosterParseResult:
    """Parse and validate a whole roster; any error means the caller must import nothing."""
    result = RosterParseResult()
    try:
        text = decode_roster(data)
    except ValueError as exc:
        result.errors.append((0, str(exc)))
        return result
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append((0, "文件是空的"))
        return result
    columns: dict[str, int] = {}
    for idx, raw in enumerate(header):
        key = HEADER_ALIASES.get(raw.strip().lower())
        if key and key not in columns:
            columns[key] = idx
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        result.errors.append((1, f"表头缺少列：{', '.join(missing)}（应为 name, sector, district, groups, role, "
                                 "telegram_id, phone）"))
        return result

    seen_ids: dict[int, int] = {}
    seen_keys: dict[tuple[str, str | None], int] = {}
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(name: str, cells: list[str] = cells) -> str:
            idx = columns.get(name)
            return cells[idx].strip() if idx is not None and idx < len(cells) else ""

        name = cell("name")
        if not name:
            result.errors.append((line_no, "姓名为空"))
            continue
        if len(name) > 64:
            result.errors.append((line_no, "姓名过长（最多 64 字）"))
            continue
        role = ROLE_ALIASES.get(cell("role").lower())
        if role is None:
            result.errors.append((line_no, f"角色无效：{cell('role')}（应为 member、staff、reviewer 或 admin）"))
            continue
        tid_raw = cell("telegram_id")
        telegram_id: int | None = None
        if tid_raw:
            if not re.fullmatch(r"[0-9]{1,15}", tid_raw):
                result.errors.append((line_no, f"telegram_id 应为数字：{tid_raw}"))
                continue
            telegram_id = int(tid_raw)
            if telegram_id in seen_ids:
                result.errors.append((line_no, f"telegram_id {telegram_id} 与第 {seen_ids[telegram_id]} 行重复"))
                continue
            seen_ids[telegram_id] = line_no
        try:
            phone = _clean_phone(cell("phone"))
        except ValueError as exc:
            result.errors.append((line_no, str(exc)))
            continue
        person = (name, phone)
        if person in seen_keys:
            result.errors.append((line_no, f"与第 {seen_keys[person]} 行重复（姓名和电话相同）"))
            continue
        seen_keys[person] = line_no
        groups = tuple(dict.fromkeys(g.strip() for g in re.split(r"[;；]", cell("groups")) if g.strip()))
        result.rows.append(
            RosterRow(
                line=line_no,
                name=name,
                sector=cell("sector"),
                district=cell("district"),
                groups=groups,
                role=role,
                telegram_id=telegram_id,
                phone=phone,
            )
        )
    if not result.rows and not result.errors:
        result.errors.append((0, "文件中没有成员记录"))
    return result


def xlsx_to_csv(data: bytes) -> bytes:
    """The first sheet of an Excel workbook as UTF-8 CSV (row numbers stay those Excel shows).

    Numbers typed into cells (telegram_id, phone) come back as integers, not ``13800000000.0``.
    ValueError when the file is not a readable workbook.
    """
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) on bad input
        raise ValueError("无法读取这个 Excel 文件") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ValueError("Excel 文件中没有工作表")
        out = io.StringIO()
        writer = csv.writer(out)
        for row in sheet.iter_rows(values_only=True):
            writer.writerow(["" if v is None else _cell_text(v) for v in row])
        return out.getvalue().encode("utf-8")
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
