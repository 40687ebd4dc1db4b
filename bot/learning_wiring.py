"""Settings → the learning pushes' configuration (``services.config(LearningPushConfig)``)."""

from __future__ import annotations

from bot.settings import Settings, SettingsError
from store.learning.pushes import LearningPushConfig
from store.preferences import parse_window


def learning_push_config(settings: Settings) -> LearningPushConfig:
    start, end = parse_window(settings.learning_push_hours)
    if start >= end:
        raise SettingsError(f"LEARNING_PUSH_HOURS={settings.learning_push_hours}: the start must be before the end")
    return LearningPushConfig(per_week=settings.learning_pushes_per_week, day_start=start, day_end=end)
