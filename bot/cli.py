"""Command line entry point: ``cppcc-bot [--data-dir DIR] COMMAND`` (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.logsetup import setup_logging
from bot.settings import SettingsError, load_settings

# Each module exposes register(subparsers) and sets ``func(args, settings) -> int``.
COMMAND_MODULES: Sequence[str] = (
    "bot.commands.run",
    "bot.commands.demo",
    "bot.commands.db",
    "bot.commands.members",
    "bot.commands.kb",
    "bot.commands.credits",
    "bot.commands.proposals",
    "bot.commands.broadcast",
    "bot.commands.console",
    "bot.commands.learning_push",
    "bot.commands.quiz",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cppcc-bot", description="政协委员履职助手")
    parser.add_argument("--data-dir", type=Path, default=None, help="data folder (env CPPCC_DATA_DIR; default ./data)")
    parser.add_argument("--env-file", type=Path, default=None, help="optional .env file")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env_file, data_dir=args.data_dir)
    except SettingsError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level if args.command not in ("demo",) else "WARNING")
    try:
        return int(args.func(args, settings) or 0)
    except SettingsError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never let Python print a raw traceback: PTB puts the token in some messages
        from telegram.error import InvalidToken

        if isinstance(exc, InvalidToken):
            print("TELEGRAM_BOT_TOKEN was rejected by the Bot API server: check the token from @BotFather",
                  file=sys.stderr)
            return 2
        logging.getLogger("bot").critical("%s failed", args.command, exc_info=exc)  # redacted by logsetup
        return 1


if __name__ == "__main__":
    sys.exit(main())
