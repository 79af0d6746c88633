"""The `og-preview` command line: the Typer app, its commands, and `main()`.

Each command lives in a module of its own (`fetch`, `batch`, `parse`, `show`,
`report`); options become Settings (`options`), records go to stdout, messages to
stderr, and exit codes are `common.ExitCode`. Heavy modules (aiohttp, extruct) are
imported inside the commands that need them, so `og-preview --help` and `og-preview
show` start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import __version__
from .batch import batch
from .common import ExitCode
from .fetch import fetch
from .parse import parse
from .report import report
from .show import show

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
app.command("fetch")(fetch)
app.command("batch")(batch)
app.command("parse")(parse)


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
