"""The bot token never shows up in logs, error replies or staff alerts (in-process paths).

The subprocess paths (``run`` at DEBUG, a rejected token at start-up) are in tests/e2e/test_secrets.py;
the webhook secret check is in tests/e2e/test_polling.py.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.logsetup import setup_logging
from bot.settings import Settings
from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.registry import Feature
from tests.conftest import STAFF_CHAT_ID
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

TOKEN = "7000000042:AAF-secret_part_of_the_token_0123456789ab"
SECRET_PART = TOKEN.split(":", 1)[1]
USER = 4242


def assert_clean(text: str) -> None:
    assert TOKEN not in text and SECRET_PART not in text, text


@pytest.fixture
def log_output() -> Iterator[Callable[[], str]]:
    """The product's logging set up at DEBUG (as ``LOG_LEVEL=DEBUG`` would); returns what it wrote."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "telegram")}
    setup_logging("DEBUG")
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)  # the product's handler, formatter and redacting filter; our stream
    try:
        yield buffer.getvalue
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


async def _boom(update: Update, context: BotContext) -> None:
    """Fails with the token in the message and in the cause, as a careless library might."""
    try:
        raise ValueError(f"token {TOKEN} refused")
    except ValueError as exc:
        raise RuntimeError(f"could not call https://bot-api.example.invalid/bot{TOKEN}/sendMessage") from exc


def _register_boom(app: BotApplication) -> None:
    app.add_handler(CommandHandler("boom", _boom))


@pytest.fixture
async def token_app(
    settings: Settings, app_factory: Callable[..., Awaitable[BotApplication]], fake: FakeBotApi
) -> Dialogue:
    settings.telegram_bot_token = TOKEN  # the Application's bot carries the real-shaped token
    app = await app_factory([Feature("boom", _register_boom)])
    assert app.bot.token == TOKEN
    return Dialogue(fake, app)


async def test_handler_error_mentioning_the_token_is_redacted(
    token_app: Dialogue, fake: FakeBotApi, log_output: Callable[[], str]
) -> None:
    replies = await token_app.send(USER, "/boom", expect_error=True)
    assert replies.text == texts.ERROR
    [alert] = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)]
    assert "RuntimeError" in alert and "<token>" in alert
    assert_clean(alert)
    logged = log_output()
    assert "error while handling an update" in logged and "ValueError" in logged  # the cause is kept
    assert "<token>" in logged
    assert_clean(logged)


async def test_httpx_error_and_debug_request_log_carrying_the_url_are_redacted(
    token_app: Dialogue, fake: FakeBotApi, http_fake: FakeBotApi, log_output: Callable[[], str]
) -> None:
    """A real httpx request with the token in its URL: httpx's own log line and its error both name it."""
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # an operator turning the quiet logger up
    url = f"{http_fake.base_url}{TOKEN}/getMe"  # the HTTP fake knows another token: 401

    async def call_out(update: Update, context: BotContext) -> None:
        """Reaches a Bot API server with httpx and fails on its status."""
        async with httpx.AsyncClient() as client:
            (await client.post(url)).raise_for_status()

    token_app.app.add_handler(CommandHandler("callout", call_out), group=-1)
    replies = await token_app.send(USER, "/callout", expect_error=True)
    [error] = token_app.errors[-1:]
    assert isinstance(error, httpx.HTTPStatusError) and TOKEN in str(error)  # the raw error does carry it
    assert replies.text == texts.ERROR
    alerts = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=STAFF_CHAT_ID)]
    assert len(alerts) == 1 and "HTTPStatusError" in alerts[0] and "<token>" in alerts[0]
    assert_clean(alerts[0])
    logged = log_output()
    assert "HTTP Request: POST" in logged and "401" in logged  # httpx did log the URL, redacted
    assert_clean(logged)
