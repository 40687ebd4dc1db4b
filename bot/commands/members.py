"""``cppcc-bot members import ROSTER.csv [--json]`` and ``members list [--json]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.commands.common import migrated_database
from bot.settings import Settings
from store import members as members_repo
from store.models import Member
from store.roster import parse_roster
from store.types import utcnow


def deep_link(username: str | None, code: str) -> str | None:
    return f"https://t.me/{username.lstrip('@')}?start={code}" if username else None


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "sector": member.sector,
        "district": member.district,
        "groups": member.group_names,
        "role": member.role,
        "telegram_id": member.telegram_id,
        "phone": member.phone,
        "active": member.active,
        "invite_code": member.invite_code if member.telegram_id is None else None,
    }


async def import_file(settings: Settings, path: Path) -> dict[str, Any]:
    """Validate the whole file first; import all rows in one transaction or none."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        return {"ok": False, "errors": [{"line": 0, "message": f"无法读取文件：{exc.strerror or exc}"}]}
    parsed = parse_roster(data)
    if parsed.errors:
        return {"ok": False, "errors": [{"line": line, "message": msg} for line, msg in parsed.errors]}
    async with migrated_database(settings) as db:
        async with db.session() as session:
            report = await members_repo.import_roster(session, rows=parsed.rows, now=utcnow())
            invites = [
                {"name": m.name, "code": m.invite_code, "link": deep_link(settings.bot_username, m.invite_code or "")}
                for m in report.awaiting_binding
            ]
            return {"ok": True, "created": len(report.created), "updated": len(report.updated), "invites": invites}


async def list_all(settings: Settings) -> list[dict[str, Any]]:
    async with migrated_database(settings) as db:
        async with db.session() as session:
            return [member_json(m) for m in await members_repo.list_members(session)]


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    result = asyncio.run(import_file(settings, args.roster))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0 if result["ok"] else 1
    if not result["ok"]:
        print("名单有误，未导入任何记录：", file=sys.stderr)
        for err in result["errors"]:
            where = f"第 {err['line']} 行" if err["line"] else "文件"
            print(f"  {where}：{err['message']}", file=sys.stderr)
        return 1
    print(f"导入完成：新增 {result['created']} 人，更新 {result['updated']} 人。")
    if result["invites"]:
        print("待绑定成员的邀请码：")
        for inv in result["invites"]:
            print(f"  {inv['name']}\t{inv['code']}" + (f"\t{inv['link']}" if inv["link"] else ""))
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    rows = asyncio.run(list_all(settings))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        status = "已绑定" if r["telegram_id"] else f"待绑定 {r['invite_code'] or ''}"
        groups = "；".join(r["groups"])
        print(f"{r['id']}\t{r['name']}\t{r['role']}\t{r['sector']}\t{r['district']}\t{groups}\t{status}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("members", help="roster and invite codes")
    sub = parser.add_subparsers(dest="members_command", required=True)
    p_import = sub.add_parser("import", help="import or update members from a roster CSV")
    p_import.add_argument("roster", type=Path)
    p_import.add_argument("--json", action="store_true")
    p_import.set_defaults(func=cmd_import)
    p_list = sub.add_parser("list", help="list members")
    p_list.add_argument("--json", action="store_true")
    p_list.set_defaults(func=cmd_list)
