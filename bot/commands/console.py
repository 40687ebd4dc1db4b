"""``cppcc-bot console [--host H] [--port P]`` serves the staff console; ``console link --as ID`` prints a link."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.settings import Settings

log = logging.getLogger(__name__)


async def serve(settings: Settings, host: str, port: int) -> int:
    """Serve the console until interrupted; the knowledge base is the same collection the bot reads."""
    import uvicorn

    from bot.console_wiring import build_console, uvicorn_config
    from bot.services import open_knowledge
    from store.db import Database
    from web.app import create_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        await db.upgrade()
        knowledge = await asyncio.to_thread(open_knowledge, settings)
        app = create_app(build_console(settings, db, knowledge))
        server = uvicorn.Server(uvicorn_config(app, host, port))
        print(f"staff console on http://{host}:{port}/console/ (sign-in links: {settings.console_url})",
              file=sys.stderr, flush=True)
        await server.serve()
    finally:
        await db.dispose()
    return 0


async def print_link(settings: Settings, telegram_id: int) -> int:
    from bot.commands.common import migrated_database
    from bot.console_wiring import LinkRefused, link_for

    async with migrated_database(settings) as db:
        try:
            url = await link_for(settings, db, telegram_id, via="cli")
        except LinkRefused:
            print(f"no active staff member is bound to Telegram id {telegram_id}", file=sys.stderr)
            return 1
    print(url)
    return 0


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "console_command", None) == "link":
        return asyncio.run(print_link(settings, args.as_user))
    host = args.host or settings.console_host
    port = args.port or settings.console_port
    return asyncio.run(serve(settings, host, port))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("console", help="the staff console (web); `console link --as ID` prints a link")
    parser.add_argument("--host", default=None, help="listen address (CONSOLE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (CONSOLE_PORT, default 8080)")
    parser.set_defaults(func=cmd_console)
    sub = parser.add_subparsers(dest="console_command", metavar="CONSOLE_COMMAND", required=False)
    p_link = sub.add_parser("link", help="print a one-time sign-in link for a staff member")
    p_link.add_argument("--as", dest="as_user", type=int, required=True, metavar="TELEGRAM_ID")
    p_link.set_defaults(func=cmd_console)
