"""The composition root: one function builds the Application and registers every feature in order."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypedDict

from telegram.ext import ApplicationBuilder, ContextTypes, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.settings import Settings
from handlers import (
    ask,
    broadcast,
    broadcast_review,
    checkin,
    console,
    credits_view,
    events,
    fallback,
    learn,
    learning_push,
    maintenance,
    member_notices,
    member_settings,
    proposals,
    quiz,
    review,
    start,
)
from handlers.application import CppccApplication, CppccBot
from handlers.context import SERVICES_KEY, BotApplication, BotContext, Services, services_of
from handlers.errors import error_handler
from handlers.menu import publish_default_menu, publish_staff_menu
from handlers.processed_ids import ProcessedIds
from handlers.rate_limit import Limits, SharedRateLimiter, TimeSource
from handlers.registry import Feature
from handlers.update_processor import ChatOrderedUpdateProcessor
from store import members as members_repo

log = logging.getLogger(__name__)

DEMO_TOKEN = "123456789:DEMO-TOKEN-NOT-USED-ON-ANY-NETWORK"

# Order matters: within a group the first matching handler wins, so specific features come
# before the catch-all ones, and the fallback comes last.
FEATURES: Sequence[Feature] = (
    start.FEATURE,
    broadcast.FEATURE,  # staff broadcast drafts take typed input ahead of the text features; receipts
    broadcast_review.FEATURE,  # 批准 / 退回 of broadcasts awaiting approval (the two-person rule)
    member_settings.FEATURE,  # /settings: topics and quiet hours
    proposals.FEATURE,  # before the catch-all Q&A: 建议/希望/反映/呼吁 are offered as micro-proposals
    review.FEATURE,
    events.FEATURE,  # event codes and /start EVT-… deep links (registered ahead of /start's handler)
    checkin.FEATURE,  # before the catch-all Q&A: "今天学习了《…》40分钟" is offered as a check-in
    credits_view.FEATURE,
    learn.FEATURE,  # /learn: the learning library, read page by page, 学完打卡
    quiz.FEATURE,  # 每日一题 typed as text, before the catch-all Q&A
    maintenance.FEATURE,
    member_notices.FEATURE,  # sends what the console queued for members (dispute results, adjustments)
    learning_push.FEATURE,  # weekly learning pushes: plan and sender jobs, 不再推送此主题
    console.FEATURE,  # /console: a sign-in link to the staff console
    ask.FEATURE,
    ask.CATCH_ALL,  # any other text is a question
    fallback.FEATURE,
)


async def _post_init(app: BotApplication) -> None:
    services = services_of(app)
    await services.db.upgrade()
    if app.bot.username and not services.bot_username:
        services.bot_username = app.bot.username
    await publish_default_menu(app)
    async with services.db.session() as session:
        staff_ids = await members_repo.staff_telegram_ids(session)
    await publish_staff_menu(app, staff_ids)


async def _post_shutdown(app: BotApplication) -> None:
    await services_of(app).db.dispose()


class _ApiUrls(TypedDict, total=False):
    base_url: str
    base_file_url: str


def rate_limits(settings: Settings) -> Limits:
    """Telegram's limits as configured: one budget for replies and broadcasts."""
    return Limits(overall=settings.telegram_rate, chat=settings.telegram_chat_rate,
                  chat_burst=settings.telegram_chat_burst, group_per_minute=settings.telegram_group_per_minute)


def rate_limiter(settings: Settings, time_source: TimeSource | None = None) -> SharedRateLimiter:
    """The one limiter every Bot API call of a process goes through (the bot's, or the CLI sender's)."""
    return SharedRateLimiter(rate_limits(settings), time_source=time_source)


def api_urls(settings: Settings) -> _ApiUrls:
    urls: _ApiUrls = {}
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        urls = {"base_url": base, "base_file_url": base.removesuffix("/bot") + "/file/bot"}
    return urls


def build_application(
    settings: Settings,
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    limiter_time: TimeSource | None = None,
    features: Sequence[Feature] = FEATURES,
) -> BotApplication:
    """Build the Application: Bot API connection, rate limiter, context type, services and all handlers.

    ``limiter_time``: the shared rate limiter's clock, the event loop's unless given (tests and the
    in-memory demo pass ``VirtualTime``: the same limits and order, without waiting for real).
    """
    bot: ExtBot[int] = CppccBot(  # int: the limiter's per-call argument (max retries after a 429)
        token=settings.telegram_bot_token or DEMO_TOKEN,
        request=request or HTTPXRequest(connection_pool_size=256),  # PTB's own defaults
        get_updates_request=get_updates_request or request or HTTPXRequest(connection_pool_size=1),
        rate_limiter=rate_limiter(settings, limiter_time),
        **api_urls(settings),
    )
    builder = (
        ApplicationBuilder()
        .application_class(CppccApplication)
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(ChatOrderedUpdateProcessor())  # chats side by side, each chat in order
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: BotApplication = builder.build()
    if isinstance(app, CppccApplication):  # long polling's one consumer (``webhook`` claims instead)
        app.processed_ids = ProcessedIds()
    app.bot_data[SERVICES_KEY] = services
    app.bot_data["features"] = tuple(features)
    for feature in features:
        feature.register(app)
    app.add_error_handler(error_handler)
    return app
