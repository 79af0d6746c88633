"""Docs are part of the product: every command has help and is shown in the README, and
the README's Python examples run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from og_preview.cli.app import app
from tests.cli.helpers import run
from tests.site import Site

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
COMMANDS = ["fetch", "batch", "show", "parse", "report", "watch"]
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


# -- help: what people type, never Typer's rendering of Python types ---------------------

REGISTERED = sorted(c.name or "" for c in app.registered_commands)
TYPES = re.compile(r"<[a-z][\w\[\], |.]*>|\{\w+\}")  # `<list[str]>`, `<str>`, `{urls}`, `{FILE}`
LOWER = re.compile(r"\[[a-z_]+\]|\b[a-z_]+\.\.\.|\b[a-z_]+\b(?! \[)")  # `[files]...`, `urls...`


def argument_names(text: str) -> list[str]:
    """The first column of the Arguments section of a help text."""
    section = text.split("\nArguments:\n", 1)[1].split("\n\n", 1)[0] if "Arguments:" in text else ""
    return [
        line.split()[0] for line in section.splitlines() if line.startswith("  ") and line[2] != " "
    ]


@pytest.mark.parametrize("command", ["", *REGISTERED])
def test_help_shows_no_python_types(command: str) -> None:
    result = run(*([command] if command else []), "--help")
    assert (result.returncode, result.stderr) == (0, "")
    text = result.stdout
    assert TYPES.findall(text) == [], f"og-preview {command} --help:\n{text}"
    usage = text.splitlines()[0].removeprefix(f"Usage: og-preview {command}".rstrip())
    assert LOWER.findall(usage.replace("[OPTIONS]", "")) == [], usage
    for name in argument_names(text):
        assert re.fullmatch(r"[A-Z][A-Z_]*(\.\.\.)?", name), f"{command}: argument {name!r}"


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("fetch", "Usage: og-preview fetch [OPTIONS] URL...\n"),
        ("batch", "Usage: og-preview batch [OPTIONS] [FILE...]\n"),
        ("parse", "Usage: og-preview parse [OPTIONS] [FILE...]\n"),
        ("show", "Usage: og-preview show [OPTIONS]\n"),
        ("report", "Usage: og-preview report [OPTIONS]\n"),
    ],
)
def test_usage_lines_name_arguments_as_people_write_them(command: str, usage: str) -> None:
    text = runner.invoke(app, [command, "--help"]).stdout
    assert text.startswith(usage)


def test_arguments_are_listed_with_their_metavar() -> None:
    fetch = runner.invoke(app, ["fetch", "--help"]).stdout
    batch = runner.invoke(app, ["batch", "--help"]).stdout
    assert re.search(r"^  URL\.\.\.  URLs to preview\.", fetch, re.MULTILINE)
    assert re.search(r"^  FILE\.\.\.  Files of URLs", batch, re.MULTILINE)


def test_a_missing_argument_is_named_by_its_metavar() -> None:
    result = run("fetch")
    assert (result.returncode, result.stdout) == (2, "")
    assert "Missing argument 'URL'." in result.stderr


# -- README: "Use it from Python" runs as written ------------------------------------------


def python_section() -> str:
    """The python code blocks of the README's "Use it from Python", in order."""
    section = README.split("## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 4
    return "\n".join(blocks)


ARTICLE = """<!doctype html><html lang="en"><head><title>Harbour - Journal</title>
<meta property="og:title" content="The harbour at dawn">
<meta property="og:image" content="/img/harbour.jpg">
<meta property="og:site_name" content="Harbour Journal">
</head><body><p>Boats.</p></body></html>"""


def test_readme_python_examples_run_against_a_local_page(site: Site, tmp_path: Path) -> None:
    url = site.page("/article.html", ARTICLE)
    code = python_section()
    for name in ("preview", "preview_all", "preview_many", "preview_sync", "preview_all_sync"):
        assert f"og_preview.{name}(" in code, name
    for call in ("parse_saved(", "Cache(", ".get(", ".query(Query(", ".stats()"):
        assert call in code, call
    out = subprocess.run(
        [sys.executable, "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PAGE_URL": url},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"processed The harbour at dawn {site.url('/img/harbour.jpg')}"
    assert "[('processed', None), ('error', 'invalid_url')]" in lines
    assert f"{url} processed False" in lines  # preview_many, saved as it went
    assert "https://example.com/post https://example.com/img/cover.png" in lines
    assert lines[-1] == "not an HTML page: a PDF document"
    assert (tmp_path / "previews.db").exists()
