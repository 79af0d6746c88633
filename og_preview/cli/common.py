"""What the commands share: exit codes, one-line errors, common options, opening the
cache, choosing the output format, a quiet stop when stdout's reader goes away."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ..config import default_db_path

if TYPE_CHECKING:
    from ..config import Settings
    from ..present.progress import Counts
    from ..store.cache import Cache


class ExitCode(IntEnum):
    OK = 0
    URL_ERRORS = 1
    USAGE = 2
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM), from `kill`, `timeout` or a process manager


class _Stop:
    terminated = False


@contextlib.contextmanager
def stopped_by_sigterm() -> Iterator[_Stop]:
    """SIGTERM stops a run as Ctrl-C does (finished work kept, nothing left `pending`):
    it goes to SIGINT's handler (asyncio's, which cancels the run, while one runs), even
    where SIGINT itself is ignored (a background job). `.terminated` then tells the two
    apart (exit 143, not 130)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.terminated = True
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """`og-preview: error: <what to do>` on stderr, then exit."""
    sys.stderr.write(f"og-preview: error: {message}\n")
    sys.stderr.flush()
    raise typer.Exit(int(code))


def warn(message: str) -> None:
    sys.stderr.write(f"og-preview: {message}\n")
    sys.stderr.flush()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def resolve_db(db: Path | None) -> Path:
    return db.expanduser() if db is not None else default_db_path()


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


DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="Cache file [default: $OG_PREVIEW_DB, else ~/.cache/og-preview/cache.db].",
        show_default=False,
        dir_okay=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print no warnings or summary.")]
CheckImagesOpt = Annotated[
    bool,
    typer.Option(
        "--check-images",
        help="Request each preview's image (its first 64 KiB): status, size, width, height.",
    ),
]
ChangedOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--changed-only",
        help="Print only new previews and those that changed since the cached copy.",
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")]
