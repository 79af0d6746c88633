from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from og_preview.config import (
    DEFAULT_USER_AGENT,
    Settings,
    SettingsError,
    default_db_path,
    parse_duration,
    parse_since,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("90", 90)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "7x", "-1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_duration(text)


def test_parse_since_duration() -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_since("12h", now) == datetime(2026, 11, 28, tzinfo=UTC)


def test_parse_since_date() -> None:
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(("text", "size"), [("2MiB", 2097152), ("500k", 512000), ("1024", 1024)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_attempts_is_one_plus_retries() -> None:
    assert Settings(retries=3).attempts == 4


@pytest.mark.parametrize(
    "bad", [{"concurrency": 0}, {"concurrency": -1}, {"timeout": 0}, {"retries": -1}]
)
def test_settings_reject_nonsense(bad: dict[str, int]) -> None:
    with pytest.raises(SettingsError):
        Settings(**bad)  # type: ignore[arg-type]


def test_user_agent_names_the_tool_and_version() -> None:
    from og_preview import __version__

    assert f"og-preview/{__version__}" in DEFAULT_USER_AGENT


def test_default_db_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OG_PREVIEW_DB", "/tmp/x/cache.db")
    assert str(default_db_path()) == "/tmp/x/cache.db"


def test_default_db_in_user_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OG_PREVIEW_DB")
    monkeypatch.setenv("XDG_CACHE_HOME", "/home/u/.cache")
    assert str(default_db_path()) == "/home/u/.cache/og-preview/cache.db"
