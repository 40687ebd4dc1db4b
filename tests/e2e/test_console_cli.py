"""``cppcc-bot console link --as ID`` on the server: a link for active staff only; it signs in once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from bot.settings import Settings
from handlers.context import Services
from store.models import Member
from tests.fakes.process import cli_env, run_cli
from web.app import create_app
from web.state import Console, ConsoleConfig

pytestmark = pytest.mark.real


async def test_console_link_for_staff_only(settings: Settings, services: Services,
                                           roster: Callable[..., Awaitable[list[Member]]]) -> None:
    await roster({"name": "张明", "telegram_id": 1001}, {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    env = cli_env(CONSOLE_URL="https://bot.example.org")
    status, out, err = await run_cli(settings.data_dir, "console", "link", "--as", "9001", env=env)
    assert status == 0, err
    url = out.strip()
    assert url.startswith("https://bot.example.org/console/login?t=")
    for who in ("1001", "4242"):
        status, out, err = await run_cli(settings.data_dir, "console", "link", "--as", who, env=env)
        assert status == 1 and out == "" and "no active staff member" in err
    console = Console(db=services.db, config=ConsoleConfig(data_dir=settings.data_dir))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console)),
                                 base_url="https://bot.example.org") as client:
        signed = await client.post("/console/login", data={"t": url.split("?t=", 1)[1]})
        assert signed.status_code == 303 and "Secure" in signed.headers["set-cookie"]
        assert "李干事" in (await client.get("/console/")).text
