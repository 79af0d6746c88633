"""`og-preview parse`: the preview of a saved page (no network)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings, SettingsError
from ..present.output import writer_for
from .common import ExitCode, fail, quiet_broken_pipe, resolve_format
from .options import FormatOpt, NoJsonldOpt, ParseTimeoutOpt


def parse(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A saved HTML page, or - for stdin.")],
    url: Annotated[
        str,
        typer.Option(
            "--url", metavar="URL", help="The page's address, for resolving relative links."
        ),
    ],
    fmt: FormatOpt = "auto",
    no_jsonld: NoJsonldOpt = False,
    parse_timeout: ParseTimeoutOpt = 10.0,
) -> None:
    """Extract the preview from a saved page (no network)."""
    try:
        Settings(parse_timeout=parse_timeout)
    except SettingsError as exc:
        fail(str(exc))
    fmt = resolve_format(
        fmt, terminal_default="card", allowed=("json", "jsonl", "csv", "table", "card")
    )
    try:
        body = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    from ..run.pipeline import parse_saved

    try:
        record = parse_saved(body, url, include_jsonld=not no_jsonld, parse_timeout=parse_timeout)
    except ValueError as exc:
        fail(f"--url: {exc}")
    writer = writer_for(fmt, sys.stdout, single=True)
    with quiet_broken_pipe():
        writer.write(record)
        writer.close()
    raise typer.Exit(int(ExitCode.OK if record.ok else ExitCode.URL_ERRORS))
