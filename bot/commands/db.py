"""``cppcc-bot db upgrade|downgrade|current``."""

from __future__ import annotations

import argparse
import asyncio

from bot.settings import Settings
from store.db import Database


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


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
