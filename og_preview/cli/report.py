"""`og-preview report`: an HTML page of preview cards from the cache.

Loads neither aiohttp nor extruct: it reads the cache and writes one file.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..record import Preview
from ..store.cache import DEFAULT_ORDER, Cache, CacheError, Query, QueryError
from .common import DbOpt, ExitCode, QuietOpt, fail, resolve_db, warn
from .show import (
    ErrorsOpt,
    HostOpt,
    OrderOpt,
    SearchOpt,
    SinceOpt,
    StatusOpt,
    _host,
    _quiet_after_broken_pipe,
    _since,
)

if TYPE_CHECKING:  # (imported when a report is written: `og-preview batch` never needs them)
    from ..present.report import ReportCounts

DEFAULT_OUTPUT = "previews.html"

OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Where to write the page; - for stdout. An existing file is replaced "
        "(only once the new page is complete).",
    ),
]
# show's --limit help mentions its table default; the report has none.
ReportLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--limit",
        "-n",
        metavar="N",
        help="At most N cards (in --order). [default: all]",
        show_default=False,
    ),
]
TitleOpt = Annotated[str, typer.Option("--title", metavar="TEXT", help="The page's heading.")]
OpenOpt = Annotated[
    bool, typer.Option("--open", help="Open the page in the default web browser when written.")
]


def report(
    output: OutputOpt = DEFAULT_OUTPUT,
    db: DbOpt = None,
    status: StatusOpt = None,
    host: HostOpt = None,
    search: SearchOpt = None,
    since: SinceOpt = None,
    error_kind: ErrorsOpt = None,
    limit: ReportLimitOpt = None,
    order: OrderOpt = DEFAULT_ORDER,
    title: TitleOpt = "Link previews",
    open_browser: OpenOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write an HTML page of preview cards from the cache (filters as for `show`).

    One self-contained file (no external scripts or styles; it works opened from
    disk): a card per URL with its image, title, description, site, type and
    date, badges for what a page lacks to share well (ogp.me's og:title, og:type,
    og:image and og:url, og:description, image size, https, lengths), compact
    cards for errors, totals, and filter buttons and a search box. Add
    #filter=errors (processed, issues) or #q=TEXT to the page's address for a
    filtered view.

    Exit status: 0 when the page is written, even if it is empty or shows
    error rows; 2 when the cache does not exist or cannot be read, the output
    cannot be written, or a filter is invalid (nothing is written then).
    """
    to_stdout = output.strip() == "-"
    if to_stdout and open_browser:
        fail("--open needs a file: use -o FILE rather than -o -")
    query = _query(status, host, search, since, error_kind, limit, order)
    target = None if to_stdout else _check_output(Path(output).expanduser())
    path = resolve_db(db)
    if not path.exists():
        fail(f"no cache at {path}: run `og-preview batch` first, or point --db at a cache")
    if target is not None and target.resolve() == path.resolve():
        fail(f"-o {target} is the cache itself: choose another file for the report")
    started = time.perf_counter()
    subtitle = _describe(path, query, limit)
    try:
        with Cache(path, read_only=True) as cache:  # never written: read-only media too
            rows = cache.query(query, jsonld=False)
            if target is None:
                counts = _write_stdout(rows, title, subtitle)
            else:
                counts = _write_file(target, rows, title, subtitle)
    except CacheError as exc:
        fail(str(exc))
    except BrokenPipeError:
        _quiet_after_broken_pipe()
    except KeyboardInterrupt:
        fail("interrupted; no report was written", ExitCode.INTERRUPTED)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc} (choose another -o)")
    elapsed = time.perf_counter() - started
    where = "stdout" if target is None else str(target)
    if not quiet:
        if counts.total == 0:
            warn(f"no matching rows: wrote an empty report to {where}")
        else:
            warn(f"wrote {where} in {elapsed:.1f}s: {counts.summary()}")
    if target is not None and open_browser:
        _open(target)


def _query(
    status: str | None,
    host: str | None,
    search: str | None,
    since: str | None,
    error_kind: str | None,
    limit: int | None,
    order: str,
) -> Query:
    try:
        return Query(
            status=status.strip().lower() if status else None,
            host=_host(host) if host is not None else None,
            search=search or None,
            since=_since(since) if since is not None else None,
            error_kind=error_kind.strip().lower() if error_kind else None,
            limit=limit,
            order=order,
        )
    except QueryError as exc:
        fail(str(exc))


def _check_output(target: Path) -> Path:
    """Refuse, before any work, an output that cannot be a file we write."""
    if target.is_dir():
        fail(f"-o {target}: is a directory (give a file name, e.g. {target / DEFAULT_OUTPUT})")
    parent = target.parent
    if not parent.is_dir():
        fail(f"-o {target}: directory {parent} does not exist (create it or choose another -o)")
    if not os.access(parent, os.W_OK):
        fail(f"-o {target}: cannot write in {parent} (choose another -o)")
    return target


def _describe(db: Path, query: Query, limit: int | None) -> str:
    """The page's subtitle: which cache and which filters (a file name, no home paths)."""
    filters = [
        f"{name} {value}"
        for name, value in (
            ("--status", query.status),
            ("--host", query.host),
            ("--search", query.search),
            ("--since", query.since.strftime("%Y-%m-%d %H:%M") if query.since else None),
            ("--errors", query.error_kind),
            ("--limit", limit),
        )
        if value is not None
    ]
    if query.order != DEFAULT_ORDER:
        filters.append(f"--order {query.order}")
    text = f"from {db.name}"
    return text + (f" · {' '.join(filters)}" if filters else "")


def _write_stdout(rows: Iterable[Preview], title: str, subtitle: str) -> ReportCounts:
    from ..present.report import write_report

    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a replaced sys.stdout without bytes underneath
        counts = write_report(rows, sys.stdout, title=title, subtitle=subtitle)
        sys.stdout.flush()
        return counts
    sys.stdout.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="replace", newline="")
    try:
        counts = write_report(rows, stream, title=title, subtitle=subtitle)
        stream.flush()
    finally:
        stream.detach()
    return counts


def _write_file(target: Path, rows: Iterable[Preview], title: str, subtitle: str) -> ReportCounts:
    import tempfile

    from ..present.report import write_report

    """Write beside `target`, then rename: a failure never leaves half a page."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed below, not closed by `with`)
        "w",
        encoding="utf-8",
        errors="replace",
        newline="",
        dir=target.parent,
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            counts = write_report(rows, handle, title=title, subtitle=subtitle)
        os.chmod(handle.name, _file_mode(target))
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise
    return counts


def _file_mode(target: Path) -> int:
    """Keep an existing file's mode; else what `open()` would give (0o666 less umask)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _open(target: Path) -> None:
    import webbrowser

    try:
        opened = webbrowser.open(target.resolve().as_uri())
    except webbrowser.Error:
        opened = False
    if not opened:
        warn(f"could not start a web browser; open {target} yourself")
