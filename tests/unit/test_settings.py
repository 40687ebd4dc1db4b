"""Settings: defaults, environment, .env file and readable errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CPPCC_DATA_DIR", "DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TIMEZONE",
                 "STAFF_CHAT_ID", "WEBHOOK_SECRET", "LLM_BASE_URL", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_an_embedded_setup(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'cppcc.sqlite3'}"
    assert settings.timezone == "Asia/Shanghai" and settings.tz.key == "Asia/Shanghai"
    assert settings.telegram_bot_token is None and not settings.llm_configured


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CPPCC_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/cppcc")
    monkeypatch.setenv("STAFF_CHAT_ID", "-100123")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "x" and settings.staff_chat_id == -100123
    assert settings.resolved_database_url == "postgresql://u:p@db/cppcc"
    assert load_settings(data_dir=tmp_path / "y").data_dir == tmp_path / "y"


def test_env_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / "custom.env"
    env.write_text("TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot\nLLM_BASE_URL=http://127.0.0.1:8000/v1\n"
                   "LLM_MODEL=qwen2.5\n", encoding="utf-8")
    settings = load_settings(env)
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081/bot" and settings.llm_configured


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: "),
        ("STAFF_CHAT_ID", "staff-room", "STAFF_CHAT_ID: "),
        ("TELEGRAM_API_BASE_URL", "127.0.0.1:8081", "TELEGRAM_API_BASE_URL: "),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value)


def test_secrets_are_not_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "bad secret with spaces!")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "WEBHOOK_SECRET" in str(info.value) and "spaces" not in str(info.value)


def test_event_token_secret_is_checked_and_wired(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.services import build_services
    from handlers.events import EventTokenSecret

    monkeypatch.setenv("EVENT_TOKEN_SECRET", "tooshort")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "EVENT_TOKEN_SECRET" in str(info.value) and "tooshort" not in str(info.value)
    monkeypatch.setenv("EVENT_TOKEN_SECRET", "a-long-enough-shared-secret")
    settings = load_settings(data_dir=tmp_path)
    services = build_services(settings, with_knowledge=False)
    assert services.config(EventTokenSecret).value == b"a-long-enough-shared-secret"
