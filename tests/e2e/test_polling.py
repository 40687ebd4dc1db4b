"""The real entry point against the HTTP fake Bot API on 127.0.0.1: long polling and webhooks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from handlers import texts
from tests.fakes.botapi import FakeBotApi
from tests.fakes.process import E2E_TOKEN, BotProcess, cli_env, free_port, run_cli

pytestmark = pytest.mark.real

NEWCOMER, STRANGER = 5001, 6001
ROSTER = (
    "name,sector,district,groups,role,telegram_id,phone\n"
    "陈静,医药卫生界,安宁区,教科卫体委员会,member,,13800000003\n"
)
STARTUP = 60.0  # imports and migrations on a cold, busy machine
REPLY = 15.0


async def import_roster(tmp_path: Path) -> tuple[Path, str]:
    """``members import --json`` through the CLI; returns the data dir and the invite code."""
    data_dir = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    status, out, err = await run_cli(data_dir, "members", "import", str(roster), "--json")
    assert status == 0, err
    [invite] = json.loads(out)["invites"]
    return data_dir, invite["code"]


def bot_env(fake: FakeBotApi, **extra: str) -> dict[str, str]:
    assert fake.base_url is not None
    return cli_env(TELEGRAM_BOT_TOKEN=E2E_TOKEN, TELEGRAM_API_BASE_URL=fake.base_url, LOG_LEVEL="DEBUG", **extra)


async def test_long_polling_binds_helps_retries_and_stops(http_fake: FakeBotApi, tmp_path: Path) -> None:
    data_dir, code = await import_roster(tmp_path)
    bot = await BotProcess.start(data_dir, "run", env=bot_env(http_fake))
    try:
        await http_fake.wait_for_call("getUpdates", timeout=STARTUP)

        http_fake.user_sends(NEWCOMER, f"/start {code}", first_name="陈静")
        welcome = await http_fake.wait_for_call("sendMessage", lambda c: c.chat_id == NEWCOMER, timeout=REPLY)
        assert welcome.text == texts.BOUND_WELCOME.format(name="陈静")

        http_fake.user_sends(NEWCOMER, "/help")
        help_reply = await http_fake.wait_for_call("sendMessage", lambda c: c.chat_id == NEWCOMER, timeout=REPLY)
        assert help_reply.text is not None and help_reply.text.startswith(texts.HELP_MEMBER_HEAD)

        # Telegram says "slow down" once: the rate limiter waits retry_after and sends again.
        http_fake.fail_next("sendMessage", 429, retry_after=1)
        since = http_fake.mark()
        http_fake.user_sends(NEWCOMER, "/nosuchcommand")
        expected = texts.UNKNOWN_COMMAND.format(command="/nosuchcommand")
        retried = await http_fake.wait_for_call("sendMessage", lambda c: c.chat_id == NEWCOMER, timeout=REPLY)
        assert retried.text == expected
        attempts = [c.status for c in http_fake.api.calls[since:] if c.method == "sendMessage"]
        assert attempts == [429, 200]
    finally:
        stopping = time.monotonic()
        status = await bot.stop(grace=15)
    assert status == 0, bot.output()
    assert time.monotonic() - stopping < 10
    assert [c.text for c in http_fake.bot_calls("sendMessage", chat_id=NEWCOMER)].count(expected) == 1
    output = bot.output()
    assert E2E_TOKEN not in output and E2E_TOKEN.split(":")[1] not in output


async def test_webhook_checks_the_secret(http_fake: FakeBotApi, settings: Settings, roster) -> None:
    [chen] = await roster({"name": "陈静"})  # straight into the database the subprocess will open
    data_dir, code = settings.data_dir, chen.invite_code
    port, secret = free_port(), "e2e-webhook-secret_123"
    env = bot_env(http_fake, WEBHOOK_URL="https://bot.example.org/", WEBHOOK_SECRET=secret,
                  WEBHOOK_PORT=str(port), WEBHOOK_LISTEN="127.0.0.1")
    bot = await BotProcess.start(data_dir, "webhook", env=env)
    try:
        registered = await http_fake.wait_for_call("setWebhook", timeout=STARTUP, since=0)
        assert registered.params["url"] == "https://bot.example.org/telegram"
        assert registered.params["secret_token"] == secret
        url = f"http://127.0.0.1:{port}/telegram"

        forged = http_fake.user_sends(STRANGER, "/help")
        assert await http_fake.push_update(url, forged, secret_token="wrong-secret") == 403
        assert await http_fake.push_update(url, forged, secret_token=None) == 403

        genuine = http_fake.user_sends(NEWCOMER, f"/start {code}")
        assert await http_fake.push_update(url, genuine, secret_token=secret) == 200
        welcome = await http_fake.wait_for_call("sendMessage", lambda c: c.chat_id == NEWCOMER, timeout=REPLY)
        assert welcome.text == texts.BOUND_WELCOME.format(name="陈静")
    finally:
        status = await bot.stop(grace=15)
    assert status == 0, bot.output()
    # Updates are handled in order, so had a forged one been accepted its reply would precede this one.
    assert http_fake.bot_calls(chat_id=STRANGER) == []
    assert E2E_TOKEN not in bot.output()
