"""``cppcc-bot demo [--as TELEGRAM_USER_ID] [--script FILE.jsonl]``: the bot in the terminal, offline."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.demo import DEFAULT_USER, run_demo
from bot.settings import Settings


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.script is not None and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # the JSON Lines contract is UTF-8 whatever the locale
    console = args.script is None and not args.no_console
    return asyncio.run(run_demo(settings, as_user=args.as_user, script=args.script, console=console))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="talk to the bot in the terminal (no token, no network)",
        description="Interactive: type as a member, press buttons as [确认] or by number. "
                    "--script: replay JSON Lines events and print one JSON line per Bot API call.",
    )
    parser.add_argument("--as", dest="as_user", type=int, default=DEFAULT_USER, metavar="TELEGRAM_USER_ID",
                        help=f"who you are in interactive mode (default {DEFAULT_USER}, a bound member)")
    parser.add_argument("--script", type=Path, default=None, metavar="FILE.jsonl",
                        help="replay events from a JSON Lines file; stdout gets JSON only")
    parser.add_argument("--no-console", action="store_true",
                        help="do not serve the staff console (interactive mode serves it on CONSOLE_PORT)")
    parser.set_defaults(func=cmd_demo)
