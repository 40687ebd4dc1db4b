"""/console: staff get a one-time sign-in link to the web console (后台)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import LinkPreviewOptions, Update
from telegram.ext import CommandHandler, filters

from handlers import texts
from handlers.context import BotApplication, BotContext
from handlers.guards import require_staff
from handlers.registry import CommandInfo, Feature
from store import audit
from store import console as console_repo
from store.models import Member


@dataclass(frozen=True)
class ConsoleLinks:
    """Where the console is reached and which secret signs its links (wired by ``bot``)."""

    base_url: str
    secret: str | None = None


@require_staff
async def console_command(update: Update, context: BotContext, member: Member) -> None:
    """/console: a signed, single-use sign-in link, valid for 10 minutes."""
    message = update.effective_message
    if message is None:
        return
    links = context.services.config(ConsoleLinks)
    now = context.now()
    url = await console_repo.issue_link(context.session, member=member, configured_secret=links.secret,
                                        base_url=links.base_url, now=now, via="telegram")
    if url is None:
        await message.reply_text(texts.STAFF_ONLY)
        return
    await audit.record(context.session, actor=member, action="console.link", at=now, target=f"member:{member.id}",
                       detail={"via": "telegram"})
    await context.commit()
    # No link preview: a preview fetch must not be what opens the link (it only shows a button anyway).
    await message.reply_text(texts.CONSOLE_LINK.format(url=url),
                             link_preview_options=LinkPreviewOptions(is_disabled=True))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("console", console_command, filters=filters.ChatType.PRIVATE))


FEATURE = Feature(name="console", register=register, commands=(CommandInfo("console", staff=True),))
