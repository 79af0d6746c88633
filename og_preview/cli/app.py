"""The `og-preview` command line: options → Settings, records → stdout, exit codes.

Heavy modules (aiohttp, extruct) are imported inside the commands that need them,
so `og-preview --help` and `og-preview show` start fast.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import __version__
from ..config import DEFAULT_USER_AGENT, Settings, SettingsError
from ..present.output import Writer, writer_for
from ..present.progress import Counts, NullProgress, Progress, RichProgress
from ..urls import InputError
from .common import (
    DbOpt,
    ExitCode,
    QuietOpt,
    VerboseOpt,
    fail,
    resolve_db,
    stderr_is_terminal,
    stdout_is_terminal,
    warn,
)
from .options import (
    AllowPrivateOpt,
    BatchFormatOpt,
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
from .report import report
from .show import show

if TYPE_CHECKING:
    from ..run.pool import WorkerPool
    from ..store.cache import Cache

app = typer.Typer(
    name="og-preview",
    help="Turn URLs into link previews: OpenGraph, Twitter Card, JSON-LD and HTML fallbacks, "
    "cached in SQLite. Data goes to stdout, messages to stderr.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("show")(show)
app.command("report")(report)


def open_cache(db: Path | None, settings: Settings) -> Cache | None:
    if not settings.use_cache:
        return None
    from ..store.cache import Cache, CacheError

    try:
        return Cache(resolve_db(db))
    except CacheError as exc:
        fail(str(exc))


def resolve_format(fmt: str, *, terminal_default: str, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if fmt not in ("auto", *choices):
        fail(f"--format must be one of: auto, {', '.join(choices)} (got {fmt!r})")
    if fmt == "auto":
        return terminal_default if stdout_is_terminal() else "jsonl"
    return fmt


def stdin_is_file() -> bool:
    """Is stdin a regular file (`< urls.txt`), rather than a pipe or a terminal?"""
    try:
        return stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def exit_code(counts: Counts) -> ExitCode:
    return ExitCode.URL_ERRORS if counts.errors else ExitCode.OK


@contextlib.contextmanager
def quiet_broken_pipe() -> Iterator[None]:
    """`og-preview … | head`: stop quietly when the reader goes away."""
    try:
        yield None
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(int(ExitCode.OK)) from None


@app.command()
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
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Preview URLs now and print the results (a card each on a terminal, JSON when piped)."""
    settings = settings_from(locals(), parse_workers=0)
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
    counts = Counts()
    writer = writer_for(fmt, sys.stdout, single=len(records) == 1, jsonld=not no_jsonld)
    with quiet_broken_pipe():
        for record in records:
            counts.add(record)
            writer.write(record)
            if verbose and record.error is not None and not record.ok:
                warn(f"{record.url}: {record.error.kind.value}: {record.error.message}")
        writer.close()
    raise typer.Exit(int(exit_code(counts)))


@app.command()
def batch(
    files: Annotated[
        list[str] | None,
        typer.Argument(help="Files of URLs, one per line; - for stdin.", show_default=False),
    ] = None,
    fmt: BatchFormatOpt = "auto",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", help="Pages in flight at once.")
    ] = 32,
    per_host: Annotated[
        int, typer.Option("--per-host", metavar="N", help="Pages in flight per host.")
    ] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            metavar="N",
            help="Processes that fetch and parse: 0 = all in this process. [default: one per core]",
            show_default=False,
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            help="Run on a Dask cluster: tcp://HOST:8786 (its scheduler), or local[:N] "
            "(N worker processes here). Needs og-preview[cluster].",
            show_default=False,
        ),
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
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
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Preview every URL in FILES (or stdin), streaming records as they finish."""
    settings = settings_from(
        locals(), concurrency=concurrency, per_host=per_host, parse_workers=workers
    )
    sources = list(files or [])
    if not sources:
        if sys.stdin is None or sys.stdin.isatty():
            fail("give one or more files of URLs, or pipe URLs on stdin (og-preview batch -)")
        sources = ["-"]
    from ..urls import check_sources, read_lines

    try:
        check_sources(sources)
    except InputError as exc:
        fail(str(exc))
    fmt = resolve_format(
        fmt, terminal_default="none", allowed=("json", "jsonl", "csv", "table", "urls")
    )
    if cluster is not None:
        if workers is not None:
            fail("--workers sizes the local worker pool: with --cluster, size the cluster")
        from ..run.cluster import import_distributed, parse_address

        try:
            parse_address(cluster)
            import_distributed()
        except InputError as exc:
            fail(str(exc))
    from ..run.pipeline import worker_pool

    # The workers start now, in the background (the forkserver imports what they run),
    # while this process opens the cache and reads the first URLs.
    pool = worker_pool(settings) if cluster is None else None
    if pool is not None:
        pool.launch()
    # what is imported by now lives as long as the process: keep the collector off it
    gc.freeze()
    try:
        cache = open_cache(db, settings)
    except BaseException:
        if pool is not None:
            pool.shutdown()
        raise
    show_progress = not (no_progress or quiet) and stderr_is_terminal()
    progress: Progress = (
        RichProgress(no_color="NO_COLOR" in os.environ) if show_progress else NullProgress()
    )
    counts = Counts()
    writer = writer_for(fmt, sys.stdout, jsonld=not no_jsonld)
    code = ExitCode.OK
    import asyncio

    try:
        with quiet_broken_pipe(), progress:
            asyncio.run(
                run_batch(
                    read_lines(sources),
                    sources,
                    settings,
                    cache,
                    writer,
                    counts,
                    progress,
                    verbose,
                    pool,
                    cluster,
                )
            )
            writer.close()
        code = exit_code(counts)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            writer.close()
        code = ExitCode.INTERRUPTED
        if not quiet:
            warn("interrupted; finished URLs are cached: run the same command again to resume")
    except InputError as exc:
        fail(str(exc))
    finally:
        if pool is not None:
            pool.shutdown()  # (already done unless the run was cut short)
        if cache is not None:
            cache.close()
    if not quiet:
        warn(counts.summary())
    raise typer.Exit(int(code))


async def run_batch(
    lines: Iterable[str],
    sources: list[str],
    settings: Settings,
    cache: Cache | None,
    writer: Writer,
    counts: Counts,
    progress: Progress,
    verbose: bool,
    pool: WorkerPool | None = None,
    cluster: str | None = None,
) -> None:
    import asyncio

    from ..run.pipeline import preview_many
    from ..urls import count_urls

    async def total() -> None:
        with contextlib.suppress(OSError):
            progress.set_total(await asyncio.to_thread(count_urls, sources))

    counter = asyncio.create_task(total())
    try:
        # a pipe may deliver a line at a time (`tail -f log | og-preview batch -`): take each
        # as it comes; files are read 256 lines at a time
        chunk = 1 if "-" in sources and not stdin_is_file() else 256
        if cluster is None:
            stream = preview_many(lines, settings, cache, read_chunk=chunk, pool=pool)
        else:
            from ..run.cluster import run_on_cluster

            stream = run_on_cluster(lines, settings, cache, address=cluster, read_chunk=chunk)
        async with contextlib.aclosing(stream) as results:
            async for record in results:
                writer.write(record)
                counts.add(record)
                progress.update(counts)
                if verbose and record.error is not None and not record.ok:
                    warn(f"{record.url}: {record.error.kind.value}: {record.error.message}")
    finally:
        counter.cancel()
        progress.finish(counts)


@app.command()
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


def version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"og-preview {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Turn URLs into link previews, cached in SQLite."""


def main() -> None:
    """Console-script entry: usage errors become one line, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    except Exception as exc:  # Click's exceptions, wherever Typer vendors them from
        code = _usage_exit(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_exit(exc: Exception) -> int:
    name = type(exc).__name__
    if name == "NoArgsIsHelpError":  # `og-preview` alone: the help, on stdout
        sys.stdout.write(exc.format_message() + "\n")  # type: ignore[attr-defined]
        return int(ExitCode.OK)
    if name == "Abort":
        sys.stderr.write("og-preview: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    if not hasattr(exc, "format_message"):
        raise exc
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "og-preview"
    message = " ".join(exc.format_message().split())
    sys.stderr.write(f"og-preview: error: {message} (see: {command} --help)\n")
    return int(getattr(exc, "exit_code", ExitCode.USAGE))
