"""`og-preview show`: query the cache. Loads neither aiohttp nor extruct."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

import typer

from .. import jsontext
from ..config import SettingsError, parse_since
from ..present.output import writer_for
from ..record import ErrorKind, Preview
from ..store.cache import DEFAULT_ORDER, ORDER_FIELDS, Cache, CacheError, Query, QueryError, Stats
from .common import DbOpt, ExitCode, fail, resolve_db, stdout_is_terminal, warn

RECORD_FORMATS = ("auto", "table", "card", "json", "jsonl", "csv", "urls")
STATS_FORMATS = ("auto", "table", "json", "jsonl")
PEOPLE_FORMATS = ("table", "card")
#: Rows a table or cards show when no --limit is given (the rest is a note on stderr).
PEOPLE_LIMIT = 100

StatusOpt = Annotated[
    str | None,
    typer.Option(
        "--status",
        metavar="STATUS",
        help="processed, error or pending. [default: processed and error; pending rows "
        "are URLs of a running or interrupted batch]",
        show_default=False,
    ),
]
HostOpt = Annotated[
    str | None,
    typer.Option(
        "--host",
        metavar="HOST",
        help="Only this exact host (a URL is taken as its host).",
        show_default=False,
    ),
]
SearchOpt = Annotated[
    str | None,
    typer.Option(
        "--search",
        "-s",
        metavar="TEXT",
        help="Only rows whose url or title contains TEXT (case-insensitive).",
        show_default=False,
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DURATION|DATE",
        help="Only rows fetched since then: 12h, 7d, or 2026-11-01 (UTC unless given).",
        show_default=False,
    ),
]
ErrorsOpt = Annotated[
    str | None,
    typer.Option(
        "--errors",
        "--error-kind",
        metavar="KIND",
        help="Only error rows of this kind: " + ", ".join(k.value for k in ErrorKind) + ".",
        show_default=False,
    ),
]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit",
        "-n",
        metavar="N",
        help=f"At most N rows. [default: all; {PEOPLE_LIMIT} for table and card]",
        show_default=False,
    ),
]
OrderOpt = Annotated[
    str,
    typer.Option(
        "--order",
        metavar="FIELD|-FIELD",
        help="Sort by FIELD, ascending; -FIELD (or 'FIELD desc') for descending. Fields: "
        + ", ".join(ORDER_FIELDS)
        + ". Ties go by url; empty values last.",
    ),
]
ShowFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="auto, table, card, json, jsonl, csv or urls (bare URLs, to pipe into "
        "`og-preview batch -`). auto: table on a terminal, else jsonl.",
    ),
]
StatsOpt = Annotated[
    bool,
    typer.Option(
        "--stats",
        help="Print row counts by status and error kind instead of rows (a table on a "
        "terminal, --format json/jsonl for JSON, else 'key<TAB>value' lines).",
    ),
]
NoJsonldOpt = Annotated[
    bool, typer.Option("--no-jsonld", help="Leave out JSON-LD (jsonld is printed as []).")
]


def show(
    db: DbOpt = None,
    status: StatusOpt = None,
    host: HostOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    error_kind: ErrorsOpt = None,
    limit: LimitOpt = None,
    order: OrderOpt = DEFAULT_ORDER,
    fmt: ShowFormatOpt = "auto",
    stats: StatsOpt = False,
    no_jsonld: NoJsonldOpt = False,
) -> None:
    """Query the cache: print the stored previews that match every filter, newest first."""
    fmt = _resolve_format(fmt.strip().lower(), stats=stats)
    user_limit = limit
    if limit is None and fmt in PEOPLE_FORMATS and not stats:
        limit = PEOPLE_LIMIT
    try:
        query = Query(
            status=status.strip().lower() if status else None,
            host=_host(host) if host is not None else None,
            search=search or None,
            since=_since(since) if since is not None else None,
            error_kind=error_kind.strip().lower() if error_kind else None,
            limit=limit + 1 if limit is not None and user_limit is None else limit,
            order=order,
        )
    except QueryError as exc:
        fail(str(exc))
    path = resolve_db(db)
    try:
        if not path.exists():
            warn(f"no cache yet at {path}")
            _print(None, query, fmt, stats=stats, jsonld=not no_jsonld, capped=user_limit is None)
            return
        with Cache(path, read_only=True) as cache:  # never written: read-only media too
            _print(cache, query, fmt, stats=stats, jsonld=not no_jsonld, capped=user_limit is None)
    except CacheError as exc:
        fail(str(exc))
    except BrokenPipeError:
        _quiet_after_broken_pipe()
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)


def _resolve_format(fmt: str, *, stats: bool) -> str:
    allowed = STATS_FORMATS if stats else RECORD_FORMATS
    if fmt not in allowed:
        what = "--stats" if stats else "show"
        fail(f"--format {fmt!r}: {what} prints {', '.join(allowed)}")
    if fmt == "auto":
        if stats:
            return "table" if stdout_is_terminal() else "lines"
        return "table" if stdout_is_terminal() else "jsonl"
    return fmt


def _host(value: str) -> str:
    """`Example.COM`, `https://example.com/page` or `example.com/page` → `example.com`."""
    text = value.strip()
    if "/" in text:
        text = urlsplit(text if "://" in text else "//" + text).hostname or ""
    text = text.lower().rstrip(".")
    if not text:
        fail(f"--host {value!r}: give a host such as example.com (or a URL)")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            fail(f"--host {value!r}: not a valid host name")
    return text


def _since(text: str) -> datetime:
    try:
        return parse_since(text)
    except SettingsError as exc:
        fail(f"--since: {exc}")


def _print(
    cache: Cache | None, query: Query, fmt: str, *, stats: bool, jsonld: bool, capped: bool
) -> None:
    if stats:
        _print_stats(cache.stats(query) if cache else Stats(), fmt)
        return
    rows: Iterable[Preview] = cache.query(query, jsonld=jsonld) if cache else ()
    if fmt in PEOPLE_FORMATS:
        _print_for_people(cache, query, fmt, list(rows), capped=capped)
        return
    writer = writer_for(fmt, sys.stdout)
    for preview in rows:
        writer.write(preview)
    writer.close()


def _print_for_people(
    cache: Cache | None, query: Query, fmt: str, rows: list[Preview], *, capped: bool
) -> None:
    if not rows:
        if cache is not None:  # else "no cache yet" was said already
            warn("no matching rows")
        return
    shown = rows[:-1] if capped and query.limit is not None and len(rows) == query.limit else rows
    writer = writer_for(fmt, sys.stdout)
    for preview in shown:
        writer.write(preview)
    writer.close()
    if len(shown) < len(rows) and cache is not None:
        total = cache.count(replace(query, limit=None))
        warn(f"showing {len(shown)} of {total} rows; use --limit N or --format jsonl for more")


def _print_stats(stats: Stats, fmt: str) -> None:
    data = stats.to_dict()
    if fmt == "json":
        sys.stdout.write(jsontext.dumps(data, indent=True) + "\n")
    elif fmt == "jsonl":
        sys.stdout.write(jsontext.dumps(data) + "\n")
    elif fmt == "lines":
        lines = [f"total\t{stats.total}"]
        lines += [f"status\t{k}\t{n}" for k, n in stats.by_status.items()]
        lines += [f"error_kind\t{k}\t{n}" for k, n in stats.by_error_kind.items()]
        lines += [f"oldest_fetched_at\t{stats.oldest_fetched_at or ''}"]
        lines += [f"newest_fetched_at\t{stats.newest_fetched_at or ''}"]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        _stats_table(stats)
    sys.stdout.flush()


def _stats_table(stats: Stats) -> None:
    from rich.table import Table

    from ..present.render import stdout_console

    table = Table(header_style="bold", expand=False)
    table.add_column("")
    table.add_column("rows", justify="right")
    for name, n in stats.by_status.items():
        table.add_row(name, str(n))
    if stats.by_error_kind:
        table.add_section()
        for kind, n in stats.by_error_kind.items():
            table.add_row(f"error: {kind}", str(n))
    table.add_section()
    table.add_row("total", str(stats.total), style="bold")
    if stats.oldest_fetched_at:
        table.caption = f"fetched {stats.oldest_fetched_at} … {stats.newest_fetched_at}"
    stdout_console(sys.stdout).print(table)


def _quiet_after_broken_pipe() -> None:
    """The reader went away (`| head`): stop quietly, and keep Python's exit flush quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise typer.Exit(int(ExitCode.OK))
