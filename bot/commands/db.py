"""``cppcc-bot db upgrade|downgrade|current|backup``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from bot.settings import Settings
from store.db import Database, backup_sqlite, sqlite_path


async def _run(settings: Settings, action: str, revision: str | None) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        if action == "upgrade":
            await db.upgrade(revision or "head")
        elif action == "downgrade":
            await db.downgrade(revision or "-1")
        print(await db.current_revision() or "base")
    finally:
        await db.dispose()
    return 0


def _backup(settings: Settings, file: Path | None) -> int:
    """Copy the SQLite database while the bot may be running; PostgreSQL is backed up with pg_dump."""
    source = sqlite_path(settings.resolved_database_url)
    if source is None:
        print("DATABASE_URL points to PostgreSQL: back it up with pg_dump, e.g.\n"
              "  pg_dump -Fc DBNAME > cppcc.dump      (restore: pg_restore -d DBNAME cppcc.dump)",
              file=sys.stderr)
        return 2
    if not source.is_file():
        print(f"no database at {source}", file=sys.stderr)
        return 1
    if file is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        file = settings.data_dir / "backups" / f"cppcc-{stamp}.sqlite3"
    if file.exists() and file.resolve() == source.resolve():
        print("the backup file must differ from the database file", file=sys.stderr)
        return 2
    print(backup_sqlite(source, file).resolve())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database migrations")
    sub = parser.add_subparsers(dest="db_command", required=True)
    for action, helptext in (
        ("upgrade", "apply migrations (default: to head)"),
        ("downgrade", "revert migrations (default: one step)"),
        ("current", "print the current revision"),
    ):
        p = sub.add_parser(action, help=helptext)
        if action != "current":
            p.add_argument("revision", nargs="?")
        p.set_defaults(func=lambda args, settings, a=action: asyncio.run(
            _run(settings, a, getattr(args, "revision", None))))
    backup = sub.add_parser("backup", help="consistent copy of the SQLite database (safe while the bot runs)")
    backup.add_argument("file", nargs="?", type=Path, help="target file (default: DATA_DIR/backups/cppcc-TIME.sqlite3)")
    backup.set_defaults(func=lambda args, settings: _backup(settings, args.file))
