"""Builds the broadcast feature's configuration from the settings."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from handlers.broadcast_sender import BroadcastConfig, SenderConfig
from store.broadcasts.approval import ApprovalConfig
from store.preferences import PrefsDefaults, parse_window

__all__ = ["approval_config", "broadcast_config", "media_dir", "prefs_defaults", "sender_config"]


def media_dir(settings: Settings) -> Path:
    """Photos and documents uploaded with a broadcast from the console (the bot's sender reads them)."""
    return settings.data_dir / "broadcast-media"


def approval_config(settings: Settings) -> ApprovalConfig:
    return ApprovalConfig(mode=settings.broadcast_approval)


def prefs_defaults(settings: Settings) -> PrefsDefaults:
    start, end = parse_window(settings.quiet_hours_default)
    return PrefsDefaults(quiet_start=start, quiet_end=end, topics_catalogue=tuple(settings.broadcast_topics))


def sender_config(settings: Settings, *, concurrency: int | None = None) -> SenderConfig:
    return SenderConfig(
        concurrency=concurrency or settings.broadcast_concurrency,
        stale_after=settings.broadcast_stale_seconds,
    )


def broadcast_config(settings: Settings) -> BroadcastConfig:
    return BroadcastConfig(
        sender=sender_config(settings),
        defaults=prefs_defaults(settings),
        topics=tuple(settings.broadcast_topics),
        tick_seconds=settings.broadcast_tick_seconds,
        media_dir=media_dir(settings),
    )
