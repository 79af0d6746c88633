"""The `og-preview` command line: the Typer app, its commands, and `main()`.

Each command lives in a module of its own (`fetch`, `batch`, `parse`, `show`,
`report`); options become Settings (`options`), records go to stdout, messages to
stderr, and exit codes are `common.ExitCode`. Heavy modules (aiohttp, extruct) are
imported inside the commands that need them, so `og-preview --help` and `og-preview
show` start fast. Every command is a `Command`: its help names arguments as people
write them (`URL...`, `[FILE...]`), never as Python types.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from typer import _click as click  # the Click Typer builds its commands on (vendored)
from typer.core import TyperArgument, TyperCommand

from .. import __version__
from .batch import batch
from .common import ExitCode
from .fetch import fetch
from .parse import parse
from .report import report
from .show import show
from .watch import watch

F = TypeVar("F", bound=Callable[..., Any])


def _metavar(argument: TyperArgument) -> str:
    """An argument as people write it: `URL...`, `FILE`, `[FILE...]`."""
    name = (argument.metavar or (argument.name or "ARG").upper()).removesuffix("...")
    if argument.nargs != 1:
        name += "..."
    return name if argument.required else f"[{name}]"


class Command(TyperCommand):
    """A command whose help shows arguments as `URL...` / `[FILE...]`, never Typer's
    `{urls}...` or a Python type (`<list[str]>`), and whose errors name them so
    ("Missing argument 'URL'")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.metavar is None:
                name = (param.name or "ARG").upper()
                param.metavar = name.removesuffix("S") if param.nargs != 1 else name  # URLS: URL

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [_metavar(p) for p in self.get_params(ctx) if isinstance(p, TyperArgument)]
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                if not param.hidden:
                    required = "  [required]" if param.required else ""
                    arguments.append((_metavar(param).strip("[]"), (param.help or "") + required))
            elif (record := param.get_help_record(ctx)) is not None:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


class App(typer.Typer):
    """The Typer app, its commands `Command`s unless one says otherwise."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        kwargs["cls"] = kwargs.get("cls") or Command
        register: Callable[[F], F] = super().command(*args, **kwargs)
        return register


app = App(
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
app.command("watch")(watch)


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
