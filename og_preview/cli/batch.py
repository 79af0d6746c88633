"""`og-preview batch`: preview every URL of files or stdin, streaming the records, on
worker processes here (`run.pool`) or on a Dask cluster (`--cluster`, `run.cluster`)."""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import DEFAULT_USER_AGENT, Settings
from ..present.output import Writer, writer_for
from ..present.progress import NEXT_STEPS, Counts, NullProgress, Progress, RichProgress
from ..urls import InputError
from .common import (
    ChangedOnlyOpt,
    CheckImagesOpt,
    DbOpt,
    ExitCode,
    QuietOpt,
    VerboseOpt,
    exit_code,
    fail,
    open_cache,
    quiet_broken_pipe,
    resolve_format,
    stderr_is_terminal,
    stopped_by_sigterm,
    warn,
)
from .notes import FailureNotes
from .options import (
    AllowPrivateOpt,
    BatchFormatOpt,
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

if TYPE_CHECKING:
    from ..record import Preview
    from ..run.pool import WorkerPool
    from ..store.cache import Cache


class NewsOnly:
    """`--changed-only`: a writer that passes on new previews and changed ones only."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def write(self, preview: Preview) -> None:
        from ..run.watch import is_news

        if is_news(preview):
            self.writer.write(preview)

    def close(self) -> None:
        self.writer.close()


def stdin_is_file() -> bool:
    """Is stdin a regular file (`< urls.txt`), rather than a pipe or a terminal?"""
    try:
        return stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


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
    check_images: CheckImagesOpt = False,
    changed_only: ChangedOnlyOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Preview every URL in FILES (or stdin), streaming records as they finish."""
    settings = settings_from(
        locals(),
        concurrency=concurrency,
        per_host=per_host,
        parse_workers=workers,
        check_images=check_images,
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
    # on a terminal with no records on stdout: a line per finished URL above the progress
    lines = show_progress and fmt == "none"
    progress: Progress = (
        RichProgress(no_color="NO_COLOR" in os.environ, lines=lines)
        if show_progress
        else NullProgress()
    )
    notes = None if quiet else FailureNotes(progress, every=verbose, lines=not lines)
    counts = Counts()
    writer = writer_for(fmt, sys.stdout, jsonld=not no_jsonld)
    if changed_only:
        writer = NewsOnly(writer)
    code = ExitCode.OK
    import asyncio

    from ..store.cache import CacheError

    try:
        with quiet_broken_pipe(), progress, stopped_by_sigterm() as stop:
            asyncio.run(
                run_batch(
                    read_lines(sources),
                    sources,
                    settings,
                    cache,
                    writer,
                    counts,
                    progress,
                    notes,
                    pool,
                    cluster,
                )
            )
            writer.close()
        code = exit_code(counts)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            writer.close()
        code = ExitCode.TERMINATED if stop.terminated else ExitCode.INTERRUPTED
        if not quiet:
            how = "terminated" if stop.terminated else "interrupted"
            warn(f"{how}; finished URLs are cached: run the same command again to resume")
    except InputError as exc:
        fail(str(exc))
    except CacheError as exc:  # (the disk is full, the file went away...)
        with contextlib.suppress(Exception):
            writer.close()
        fail(
            f"{exc}; stopped: the records printed so far are cached, "
            "run the same command again to resume once the cache can be written"
        )
    finally:
        if pool is not None:
            pool.shutdown()  # (already done unless the run was cut short)
        if cache is not None:
            with contextlib.suppress(Exception):
                cache.close()
    if not quiet:
        warn(counts.summary())
    if lines and code in (ExitCode.OK, ExitCode.URL_ERRORS):
        sys.stderr.write(NEXT_STEPS + "\n")
    raise typer.Exit(int(code))


async def run_batch(
    lines: Iterable[str],
    sources: list[str],
    settings: Settings,
    cache: Cache | None,
    writer: Writer,
    counts: Counts,
    progress: Progress,
    notes: FailureNotes | None,
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
    finished = False
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
                progress.show(record)
                if notes is not None:
                    notes.add(record)
                progress.update(counts)
        finished = True
    finally:
        counter.cancel()
        if notes is not None:
            notes.close()
        progress.finish(counts, interrupted=not finished)
