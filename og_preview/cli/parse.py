"""`og-preview parse`: the previews of saved pages (no network), one record per file."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings, SettingsError
from ..present.output import writer_for
from ..urls import InvalidURL, normalise
from .common import fail, resolve_format
from .notes import print_records
from .options import ParseFormatOpt, ParseNoJsonldOpt, ParseTimeoutOpt


def parse(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE",
            help="Saved pages, one record each, in order; - for stdin (read when no FILE "
            "is given and stdin is not a terminal).",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="The pages' address, for resolving relative links. Default: each page's "
            "own og:url or canonical link when absolute, else links stay as written.",
            show_default=False,
        ),
    ] = None,
    fmt: ParseFormatOpt = "auto",
    no_jsonld: ParseNoJsonldOpt = False,
    parse_timeout: ParseTimeoutOpt = 10.0,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No failure lines on stderr (the records say them)."),
    ] = False,
) -> None:
    """Extract previews from pages saved to disk (no network): one record per FILE.

    A FILE that is not an HTML page (a PDF, an image, gzip, other binary data) is an error
    record of kind not_html. Exit status: 0 when every page was read, 1 when a record is an
    error, 2 when a FILE cannot be read (nothing is printed then).
    """
    try:
        Settings(parse_timeout=parse_timeout)
    except SettingsError as exc:
        fail(str(exc))
    sources = _sources(files)
    fmt = resolve_format(
        fmt, terminal_default="card", allowed=("json", "jsonl", "csv", "table", "card")
    )
    if url is not None:
        try:
            normalise(url)
        except InvalidURL as exc:
            fail(f"--url: {exc}")
    from ..run.pipeline import parse_saved

    writer = writer_for(fmt, sys.stdout, single=len(sources) == 1)
    records = (
        parse_saved(
            _read(name),
            url,
            source=_source_url(name),
            include_jsonld=not no_jsonld,
            parse_timeout=parse_timeout,
        )
        for name in sources
    )
    raise typer.Exit(print_records(records, writer, fmt, quiet=quiet))


def _sources(files: list[str] | None) -> list[str]:
    """The files to read, checked before any is: a missing one stops the command."""
    if not files:
        if sys.stdin is None or sys.stdin.isatty():
            fail("give one or more saved pages, or pipe a page on stdin (og-preview parse -)")
        return ["-"]
    if files.count("-") > 1:
        fail("- (stdin) can be read only once")
    for name in files:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            fail(f"file not found: {name}")
        if path.is_dir():
            fail(f"{name} is a directory, not a saved page")
        if not os.access(path, os.R_OK):
            fail(f"cannot read {name} (permission denied)")
    return files


def _read(name: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        fail(f"cannot read {name}: {exc.strerror or exc}")


def _source_url(name: str) -> str:
    """The record's `url` for a page that gives no address: its file as a `file:` URL."""
    return "-" if name == "-" else Path(os.path.abspath(name)).as_uri()
