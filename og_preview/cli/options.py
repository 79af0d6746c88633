"""The options `fetch` and `batch` share (`parse` takes a few), and how they become `Settings`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from ..config import Settings, SettingsError, parse_duration, parse_size
from .common import fail

FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="auto (a card per URL on a terminal, JSON lines when piped), json, jsonl, csv, "
        "table or card.",
    ),
]
BatchFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="auto (progress and a summary on a terminal, JSON lines when piped), jsonl, "
        "json, csv, table or urls.",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout", metavar="SECONDS", help="Seconds per attempt (connect + headers + body)."
    ),
]
ParseTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--parse-timeout",
        metavar="SECONDS",
        help="Seconds one page's extraction may take; a page that takes longer is an error "
        "of kind parse_timeout.",
    ),
]
RetriesOpt = Annotated[
    int, typer.Option("--retries", metavar="N", help="Extra attempts on transient failures.")
]
MaxBytesOpt = Annotated[
    str,
    typer.Option(
        "--max-bytes", metavar="SIZE", help="Read at most this much decoded body (2MiB, 500k)."
    ),
]
UserAgentOpt = Annotated[
    str, typer.Option("--user-agent", metavar="TEXT", help="User-Agent header to send.")
]
AllowPrivateOpt = Annotated[
    bool,
    typer.Option(
        "--allow-private", help="Allow loopback, private and link-local addresses (off: blocked)."
    ),
]
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Ignore cached rows; fetch again.")]
MaxAgeOpt = Annotated[
    str,
    typer.Option(
        "--max-age",
        metavar="DURATION",
        help="Fetch again when the cached row is older (30m, 12h, 7d).",
    ),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
NoJsonldOpt = Annotated[
    bool,
    typer.Option("--no-jsonld", help="Print jsonld as [] (the cache still keeps it)."),
]
# `parse` keeps no cache: its own words for the options it shares
ParseFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="auto (a card per page on a terminal, JSON lines when piped), json, jsonl, csv, "
        "table or card.",
    ),
]
ParseNoJsonldOpt = Annotated[
    bool, typer.Option("--no-jsonld", help="Leave out JSON-LD (jsonld is printed as []).")
]


def settings_from(options: Mapping[str, Any], **extra: Any) -> Settings:
    """`Settings` from a command's option values (its `locals()`), plus `extra` fields."""
    try:
        return Settings(
            timeout=options["timeout"],
            connect_timeout=min(options["timeout"], 5.0),
            retries=options["retries"],
            max_bytes=parse_size(options["max_bytes"]),
            user_agent=options["user_agent"],
            allow_private=options["allow_private"],
            refresh=options["refresh"],
            max_age=parse_duration(options["max_age"]),
            use_cache=not options["no_cache"],
            parse_timeout=options["parse_timeout"],
            **extra,
        )
    except SettingsError as exc:
        fail(str(exc))
