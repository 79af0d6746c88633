"""Docs are part of the product: every command has help and is shown in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from og_preview.cli.app import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMANDS = ["fetch", "batch", "show", "parse", "report"]
runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert (result.exit_code, "Usage:" in result.stdout) == (0, True)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_in_readme(command: str) -> None:
    assert f"og-preview {command}" in README


def test_every_registered_command_is_documented() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert names == set(COMMANDS)


@pytest.mark.parametrize(
    "option",
    sorted(
        {
            "--db",
            "--format",
            "--timeout",
            "--parse-timeout",
            "--retries",
            "--max-bytes",
            "--user-agent",
            "--allow-private",
            "--refresh",
            "--max-age",
            "--no-cache",
            "--no-jsonld",
            "--concurrency",
            "--per-host",
            "--no-progress",
            "--cluster",
        }
    ),
)
def test_every_option_is_in_readme(option: str) -> None:
    assert re.search(re.escape(option) + r"\b", README)


def test_readme_shows_make_run_and_make_test_first() -> None:
    quick_start = README.split("## Commands")[0]
    assert ("make run" in quick_start, "make test" in quick_start) == (True, True)
