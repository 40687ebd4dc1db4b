"""Maps settings onto the staff console: its config, the app, the server, and sign-in links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.broadcast_wiring import approval_config, broadcast_config, media_dir
from bot.credits_wiring import credit_rules
from bot.learning_wiring import learning_push_config
from bot.proposals_wiring import proposals_config
from bot.settings import Settings
from store import audit
from store import console as console_repo
from store import members as members_repo
from store.db import Database
from store.types import Clock, utcnow
from web.state import Console, ConsoleConfig


def console_config(settings: Settings) -> ConsoleConfig:
    return ConsoleConfig(
        data_dir=settings.data_dir,
        public_url=settings.console_url,
        secret=settings.console_secret,
        idle=timedelta(minutes=settings.console_idle_minutes),
        upload_max_bytes=settings.console_upload_max_mb * 1024 * 1024,
        bot_username=settings.bot_username,
        tz=settings.tz,
        proposals=proposals_config(settings, credit_rules=credit_rules(settings)),
        learning_push=learning_push_config(settings),
        prefs_defaults=broadcast_config(settings).defaults,
        topics=tuple(settings.broadcast_topics),
        credits=credit_rules(settings),
        approval=approval_config(settings),
        broadcast_media_dir=media_dir(settings),
    )


def build_console(settings: Settings, db: Database, knowledge: Any, clock: Clock = utcnow) -> Console:
    return Console(db=db, config=console_config(settings), knowledge=knowledge, clock=clock)


def uvicorn_config(app: Any, host: str, port: int) -> Any:
    """Behind the TLS proxy on the same machine: trust its X-Forwarded-For/-Proto (client address, https)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                          log_level="warning", access_log=False, server_header=False, lifespan="off")


def embedded_server(config: Any) -> Any:
    """A uvicorn server that leaves signal handling to its host (the terminal demo keeps Ctrl-C)."""
    import contextlib

    import uvicorn

    class EmbeddedServer(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # uvicorn < 0.29
            return None

        def capture_signals(self) -> Any:  # uvicorn >= 0.29
            return contextlib.nullcontext()

    return EmbeddedServer(config)


class LinkRefused(Exception):
    """The person may not use the console (unknown, a member, or deactivated)."""


async def link_for(settings: Settings, db: Database, telegram_id: int, *, via: str, clock: Clock = utcnow) -> str:
    """A sign-in URL for the staff member bound to ``telegram_id`` (the CLI and the demo)."""
    now = clock()
    async with db.session() as session:
        member = await members_repo.get_by_telegram_id(session, telegram_id=telegram_id)
        url = None
        if member is not None:
            url = await console_repo.issue_link(session, member=member, configured_secret=settings.console_secret,
                                                base_url=settings.console_url, now=now, via=via)
        if url is None or member is None:
            raise LinkRefused(str(telegram_id))
        await audit.record(session, actor=member, action="console.link", at=now, target=f"member:{member.id}",
                           detail={"via": via})
    return url
