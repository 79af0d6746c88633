"""`og-preview fetch`: preview URLs now and print them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..config import DEFAULT_USER_AGENT
from ..present.output import writer_for
from .common import (
    CheckImagesOpt,
    DbOpt,
    ExitCode,
    QuietOpt,
    VerboseOpt,
    fail,
    open_cache,
    resolve_format,
)
from .notes import print_records
from .options import (
    AllowPrivateOpt,
    FormatOpt,
    MaxAgeOpt,
    MaxBytesOpt,
    NoCacheOpt,
    NoJsonldOpt,
    ParseTimeoutOpt,
    RefreshOpt,
    RetriesOpt,
    TimeoutOpt,
    UserAgentOpt,
    settings_from,
)


def fetch(
    urls: Annotated[list[str], typer.Argument(help="URLs to preview.", show_default=False)],
    fmt: FormatOpt = "auto",
    db: DbOpt = None,
    timeout: TimeoutOpt = 10.0,
    parse_timeout: ParseTimeoutOpt = 10.0,
    retries: RetriesOpt = 3,
    max_bytes: MaxBytesOpt = "2MiB",
    user_agent: UserAgentOpt = DEFAULT_USER_AGENT,
    allow_private: AllowPrivateOpt = False,
    refresh: RefreshOpt = False,
    max_age: MaxAgeOpt = "7d",
    no_cache: NoCacheOpt = False,
    no_jsonld: NoJsonldOpt = False,
    check_images: CheckImagesOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Preview URLs now and print the results (a card each on a terminal, JSON when piped)."""
    settings = settings_from(locals(), parse_workers=0, check_images=check_images)
    fmt = resolve_format(
        fmt, terminal_default="card", allowed=("json", "jsonl", "csv", "table", "card")
    )
    cache = open_cache(db, settings)
    import asyncio

    from ..run.pipeline import preview_all

    try:
        records = asyncio.run(preview_all(urls, settings=settings, cache=cache))
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)
    finally:
        if cache is not None:
            cache.close()
    writer = writer_for(fmt, sys.stdout, single=len(records) == 1, jsonld=not no_jsonld)
    raise typer.Exit(print_records(records, writer, fmt, quiet=quiet))
