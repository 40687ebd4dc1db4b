"""``cppcc-bot run`` (long polling) and ``cppcc-bot webhook`` (webhook server)."""

from __future__ import annotations

import argparse
import logging
import secrets

from telegram import Update

from bot.app import build_application
from bot.services import build_services
from bot.settings import Settings, SettingsError
from handlers.application import CppccApplication

log = logging.getLogger(__name__)


def _require_token(settings: Settings) -> None:
    if not settings.telegram_bot_token:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is not set: get one from @BotFather, or try `cppcc-bot demo` without a token"
        )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Long polling until SIGINT/SIGTERM; pending updates are kept, so nothing is lost across restarts."""
    _require_token(settings)
    app = build_application(settings, build_services(settings))
    log.info("starting long polling%s", " (custom Bot API server)" if settings.telegram_api_base_url else "")
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False, close_loop=True)
    log.info("stopped cleanly")
    return 0


def cmd_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """A webhook server; Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header is checked on every request."""
    _require_token(settings)
    if not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL is not set: the public https URL Telegram should post updates to")
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    if not settings.webhook_secret:
        log.info("WEBHOOK_SECRET not set: generated a random secret for this run (several workers need one shared)")
    app = build_application(settings, build_services(settings))
    if not isinstance(app, CppccApplication):
        raise TypeError("build_application() must build a CppccApplication")
    # Several workers may serve one webhook (README, "several workers"): each update is claimed first.
    app.claim_before_handling = True
    path = settings.webhook_path.strip("/")
    app.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path=path,
        webhook_url=settings.webhook_url.rstrip("/") + "/" + path,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
        drop_pending_updates=False,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p_run = subparsers.add_parser("run", help="long polling (TELEGRAM_BOT_TOKEN)")
    p_run.set_defaults(func=cmd_run)
    p_hook = subparsers.add_parser("webhook", help="webhook server (WEBHOOK_URL, WEBHOOK_SECRET)")
    p_hook.set_defaults(func=cmd_webhook)
