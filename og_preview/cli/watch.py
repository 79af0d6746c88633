"""`og-preview watch`: keep the previews of a list of URLs fresh; a JSON line per change."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..config import DEFAULT_USER_AGENT, SettingsError, parse_duration
from ..present.output import writer_for
from ..urls import InputError
from .common import (
    CheckImagesOpt,
    DbOpt,
    ExitCode,
    QuietOpt,
    fail,
    open_cache,
    quiet_broken_pipe,
    stderr_is_terminal,
    stopped_by_sigterm,
    warn,
)
from .options import (
    AllowPrivateOpt,
    MaxBytesOpt,
    NoJsonldOpt,
    ParseTimeoutOpt,
    RetriesOpt,
    TimeoutOpt,
    UserAgentOpt,
    settings_from,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..present.output import Writer
    from ..run.watch import WatchStatus
    from ..store.cache import Cache


def watch(
    source: Annotated[
        str,
        typer.Argument(metavar="FILE", help="A file of URLs, one per line; - for stdin."),
    ],
    every: Annotated[
        str,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="How often each URL is revalidated (30s, 15m, 6h, 1d).",
        ),
    ] = "1h",
    jitter: Annotated[
        float,
        typer.Option(
            "--jitter",
            metavar="FRACTION",
            help="Spread of each URL's next check, as a fraction of --every.",
        ),
    ] = 0.1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", help="Pages in flight at once.")
    ] = 32,
    per_host: Annotated[
        int, typer.Option("--per-host", metavar="N", help="Pages in flight per host.")
    ] = 8,
    db: DbOpt = None,
    timeout: TimeoutOpt = 10.0,
    parse_timeout: ParseTimeoutOpt = 10.0,
    retries: RetriesOpt = 3,
    max_bytes: MaxBytesOpt = "2MiB",
    user_agent: UserAgentOpt = DEFAULT_USER_AGENT,
    allow_private: AllowPrivateOpt = False,
    no_jsonld: NoJsonldOpt = False,
    check_images: CheckImagesOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Keep the previews of FILE's URLs fresh: each is revalidated when it goes stale
    (conditionally: an unchanged page costs a 304), and every change is printed as a JSON
    line. Runs until Ctrl-C."""
    try:
        interval = parse_duration(every).total_seconds()
    except SettingsError as exc:
        fail(f"--every: {exc}")
    if interval < 1:
        fail("--every must be at least 1s")
    if not 0 <= jitter < 1:
        fail("--jitter must be at least 0 and below 1")
    options = {**locals(), "refresh": False, "max_age": every, "no_cache": False}
    settings = settings_from(
        options,
        concurrency=concurrency,
        per_host=per_host,
        parse_workers=0,
        check_images=check_images,
    )
    from ..urls import check_sources, read_lines

    try:
        check_sources([source])
        urls = list(read_lines([source]))  # (the list is read once; its URLs kept in memory)
    except InputError as exc:
        fail(str(exc))
    cache = open_cache(db, settings)
    writer = writer_for("jsonl", sys.stdout, jsonld=not no_jsonld)
    import asyncio

    from ..run.watch import WatchStatus

    status = WatchStatus()
    live = not quiet and stderr_is_terminal()
    code = ExitCode.OK
    try:
        with quiet_broken_pipe(), stopped_by_sigterm() as stop:
            asyncio.run(_watch(urls, interval, jitter, settings, cache, writer, status, live))
    except KeyboardInterrupt:
        code = ExitCode.TERMINATED if stop.terminated else ExitCode.INTERRUPTED
    finally:
        with contextlib.suppress(Exception):
            writer.close()
        if cache is not None:
            with contextlib.suppress(Exception):
                cache.close()
    if not quiet:
        warn(
            f"watched {status.watched} URLs: {status.checked} checks "
            f"({status.revalidated} unchanged by 304), {status.changed} changes, "
            f"{status.failed} failures"
        )
    raise typer.Exit(int(code))


async def _watch(
    urls: list[str],
    every: float,
    jitter: float,
    settings: Settings,
    cache: Cache | None,
    writer: Writer,
    status: WatchStatus,
    live: bool,
) -> None:
    import asyncio

    from ..run.watch import watch

    line = _StatusLine(status) if live else None
    ticker = asyncio.create_task(line.run()) if line is not None else None
    try:
        async with contextlib.aclosing(
            watch(urls, every, settings, cache, jitter=jitter, status=status)
        ) as changes:
            async for record in changes:
                if line is not None:
                    line.clear()
                writer.write(record)
    finally:
        if ticker is not None:
            ticker.cancel()
        if line is not None:
            line.clear()


class _StatusLine:
    """One line on stderr (a terminal), rewritten every second: what the watch did."""

    def __init__(self, status: WatchStatus) -> None:
        self.status = status
        self.shown = False
        self.width = _columns()

    def text(self, now: float) -> str:
        s = self.status
        due = "" if s.next_due is None else f" · next in {max(0, s.next_due - now):.0f}s"
        text = (
            f"watching {s.watched} URLs · {s.checked} checks · {s.revalidated} unchanged (304)"
            f" · {s.changed} changes · {s.failed} failures{due}"
        )
        return text[: self.width - 1]

    async def run(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        while True:
            sys.stderr.write("\r\x1b[2K" + self.text(loop.time()))
            sys.stderr.flush()
            self.shown = True
            await asyncio.sleep(1.0)

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self.shown = False


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 80
