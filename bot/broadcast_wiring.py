"""Builds the broadcast feature's configuration from the settings."""

from __future__ import annotations

from bot.settings import Settings
from handlers.broadcast_sender import BroadcastConfig, SenderConfig
from store.preferences import PrefsDefaults, parse_window

__all__ = ["broadcast_config", "sender_config"]


def sender_config(settings: Settings, *, concurrency: int | None = None) -> SenderConfig:
    return SenderConfig(
        concurrency=concurrency or settings.broadcast_concurrency,
        stale_after=settings.broadcast_stale_seconds,
    )


def broadcast_config(settings: Settings) -> BroadcastConfig:
    start, end = parse_window(settings.quiet_hours_default)
    topics = tuple(settings.broadcast_topics)
    return BroadcastConfig(
        sender=sender_config(settings),
        defaults=PrefsDefaults(quiet_start=start, quiet_end=end, topics_catalogue=topics),
        topics=topics,
        tick_seconds=settings.broadcast_tick_seconds,
    )
