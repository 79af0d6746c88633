"""Settings: every default of the contract in one frozen dataclass."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import __version__

DEFAULT_USER_AGENT = f"og-preview/{__version__} (link preview bot; like Slackbot, Twitterbot)"
MIB = 1024 * 1024

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SettingsError(ValueError):
    """A setting has a value that makes no sense (the caller's mistake)."""


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `7d`, `2w`, `90` (seconds) → timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise SettingsError(f"{text!r} is not a duration: use e.g. 30s, 30m, 12h, 7d or 2w")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit.lower()])


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A duration back from now (`12h`) or an ISO date/time (`2026-11-01`), as aware UTC."""
    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text)
    except SettingsError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SettingsError(
            f"{text!r} is neither a duration (12h, 7d) nor a date (2026-11-01)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def default_db_path() -> Path:
    """`$OG_PREVIEW_DB`, else the user's cache directory."""
    env = os.environ.get("OG_PREVIEW_DB")
    if env:
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "og-preview" / "cache.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How to fetch, extract and cache. The CLI builds one from its options."""

    timeout: float = 10.0  # seconds, per attempt, covering connect + headers + body
    connect_timeout: float = 5.0
    retries: int = 3  # extra attempts after the first
    max_bytes: int = 2 * MIB  # decoded body bytes read at most
    max_redirects: int = 10
    user_agent: str = DEFAULT_USER_AGENT
    allow_private: bool = False
    refresh: bool = False
    max_age: timedelta = timedelta(days=7)
    use_cache: bool = True
    include_jsonld: bool = True
    parse_timeout: float = 10.0  # seconds one page's extraction may take (see deadline.py)
    check_images: bool = False  # one bounded request for each processed record's image
    concurrency: int = 32
    per_host: int = 8
    # retry policy: exponential backoff with jitter; Retry-After honoured up to the cap
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0
    # processes that fetch and parse in a batch (None: one per core; 0: this process only)
    parse_workers: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (
                0 < self.timeout < math.inf,
                "--timeout must be a positive, finite number of seconds",
            ),
            (0 < self.connect_timeout < math.inf, "connect timeout must be positive and finite"),
            (
                0 < self.parse_timeout < math.inf,
                "--parse-timeout must be a positive, finite number of seconds",
            ),
            (self.retries >= 0, "--retries must be 0 or more"),
            (self.max_bytes > 0, "--max-bytes must be positive"),
            (self.max_redirects >= 0, "max redirects must be 0 or more"),
            (self.concurrency >= 1, "--concurrency must be at least 1"),
            (self.per_host >= 1, "--per-host must be at least 1"),
            (self.max_age.total_seconds() >= 0, "--max-age must not be negative"),
            (self.parse_workers is None or self.parse_workers >= 0, "--workers must be 0 or more"),
        ]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)

    @property
    def attempts(self) -> int:
        """`--retries 3` means 1 + 3 attempts."""
        return 1 + self.retries

    def but(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def parse_size(text: str) -> int:
    """`2MiB`, `500k`, `1048576` → bytes."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?\s*$", text, re.IGNORECASE)
    if not match:
        raise SettingsError(f"{text!r} is not a size: use e.g. 2MiB, 500k or 1048576")
    number, unit, _ = match.groups()
    scale = {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[unit.lower()]
    return int(float(number) * scale)
