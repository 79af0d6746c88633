"""What every command shares: exit codes, one-line errors, common options."""

from __future__ import annotations

import sys
from enum import IntEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ..config import default_db_path


class ExitCode(IntEnum):
    OK = 0
    URL_ERRORS = 1
    USAGE = 2
    INTERRUPTED = 130


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
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")]
