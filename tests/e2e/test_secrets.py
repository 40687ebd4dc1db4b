"""The real entry point never prints the bot token, even when Telegram rejects it at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.botapi import FakeBotApi
from tests.fakes.process import cli_env, run_cli

pytestmark = pytest.mark.real

REJECTED = "7000000099:AAG-rejected_token_shaped_like_real_0123"


async def test_rejected_token_at_start_is_reported_without_the_token(http_fake: FakeBotApi, tmp_path: Path) -> None:
    assert http_fake.base_url is not None
    env = cli_env(TELEGRAM_BOT_TOKEN=REJECTED, TELEGRAM_API_BASE_URL=http_fake.base_url, LOG_LEVEL="DEBUG")
    status, out, err = await run_cli(tmp_path / "data", "run", env=env)
    assert status == 2, err
    assert "TELEGRAM_BOT_TOKEN was rejected" in err
    for text in (out, err):
        assert REJECTED not in text and REJECTED.split(":")[1] not in text, text
