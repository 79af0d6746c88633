"""`og-preview report`: output paths, filters passed through, exit codes, --open."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from og_preview.cli import report as cli_report
from og_preview.cli.report import report
from og_preview.record import ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache
from og_preview.store.schema import iso_utc

app = typer.Typer()
app.command("report")(report)
app.command("other")(lambda: None)  # keeps `report` a sub-command, as in the real CLI

NOW = datetime.now(UTC).replace(microsecond=0)


def record(url: str, title: str, *, age: timedelta) -> Preview:
    return Preview(
        url=url,
        final_url=url,
        status=Status.PROCESSED,
        http_status=200,
        content_type="text/html",
        title=title,
        og={"og:title": title},
        fetched_at=iso_utc(NOW - age),
    )


@pytest.fixture
def filled(db_path: Path) -> Path:
    with Cache(db_path) as cache:
        cache.save_many(
            [
                record("https://news.example/a", "Big News", age=timedelta(days=3)),
                record("https://blog.example/b", "Quiet post", age=timedelta(hours=5)),
                record("https://news.example/c", "Small news", age=timedelta(minutes=5)),
                error_preview(
                    "https://down.example/", ErrorKind.DNS, "no such host", fetched_at=iso_utc(NOW)
                ),
                error_preview(
                    "https://gone.example/",
                    ErrorKind.HTTP,
                    "HTTP 404",
                    http_status=404,
                    fetched_at=iso_utc(NOW - timedelta(days=1)),
                ),
            ]
        )
    return db_path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "work"
    out.mkdir()
    monkeypatch.chdir(out)
    return out


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["report", *args])


def cards(html: str) -> list[str]:
    """The URL line of every card, in page order."""
    return re.findall(r'class="url"[^>]*>([^<]*)</', html)


def assert_usage_error(result: Result, needle: str) -> None:
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("og-preview: error: ") and needle in result.stderr


def test_default_output_is_previews_html_in_the_current_directory(
    filled: Path, workdir: Path
) -> None:
    result = run()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    html = (workdir / "previews.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert len(cards(html)) == 5
    assert result.stderr.startswith("og-preview: wrote previews.html in ")
    assert "5 cards (3 processed, 2 errors: dns 1, http 1; 3 with issues)" in result.stderr
    assert os.listdir(workdir) == ["previews.html"]  # no temporary file left


def test_output_path_and_newest_first(filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "r.html"
    target.parent.mkdir()
    result = run("-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert cards(target.read_text(encoding="utf-8")) == [
        "https://down.example/",
        "https://news.example/c",
        "https://blog.example/b",
        "https://gone.example/",
        "https://news.example/a",
    ]
    assert str(target) in result.stderr


def test_dash_writes_the_page_to_stdout(filled: Path, workdir: Path) -> None:
    result = run("-o", "-", "--status", "error")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!doctype html>")
    assert cards(result.stdout) == ["https://down.example/", "https://gone.example/"]
    assert "wrote stdout" in result.stderr
    assert not list(workdir.iterdir())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--status", "processed"],
            ["https://news.example/c", "https://blog.example/b", "https://news.example/a"],
        ),
        (
            ["--host", "https://NEWS.example/x"],
            ["https://news.example/c", "https://news.example/a"],
        ),
        (["--search", "quiet"], ["https://blog.example/b"]),
        (["--since", "1h"], ["https://down.example/", "https://news.example/c"]),
        (["--errors", "http"], ["https://gone.example/"]),
        (["--limit", "2"], ["https://down.example/", "https://news.example/c"]),
        (["--order", "url", "-n", "2"], ["https://blog.example/b", "https://down.example/"]),
    ],
)
def test_show_filters_pass_through(filled: Path, args: list[str], expected: list[str]) -> None:
    result = run("-o", "-", *args)
    assert result.exit_code == 0, result.stderr
    assert cards(result.stdout) == expected
    assert f"{args[0]} " in result.stdout  # the subtitle says which filters made the page


def test_title(filled: Path) -> None:
    result = run("-o", "-", "--title", "Share check <beta>")
    assert "<h1>Share check &lt;beta&gt;</h1>" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--status", "nope"], "unknown status"),
        (["--errors", "nope"], "unknown error kind"),
        (["--order", "nope"], "unknown order"),
        (["--since", "yesterday"], "--since"),
        (["--limit", "-1"], "limit"),
        (["--open", "-o", "-"], "--open needs a file"),
    ],
)
def test_bad_options_are_usage_errors(
    filled: Path, workdir: Path, args: list[str], needle: str
) -> None:
    assert_usage_error(run(*args), needle)
    assert not list(workdir.iterdir())


def test_missing_cache_is_a_usage_error_and_creates_nothing(tmp_path: Path, workdir: Path) -> None:
    db = tmp_path / "nowhere" / "cache.db"
    result = run("--db", str(db))
    assert_usage_error(result, f"no cache at {db}")
    assert "og-preview batch" in result.stderr
    assert not db.parent.exists()
    assert not list(workdir.iterdir())


def test_not_a_database_is_a_usage_error(tmp_path: Path, workdir: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("hello")
    assert_usage_error(run("--db", str(db)), "not a SQLite database")


def test_no_matching_rows_writes_an_empty_report(filled: Path, workdir: Path) -> None:
    result = run("--search", "zzz")
    assert result.exit_code == 0
    assert "No previews match." in (workdir / "previews.html").read_text(encoding="utf-8")
    assert "no matching rows: wrote an empty report to previews.html" in result.stderr


def test_output_must_be_a_writable_file_path(filled: Path, tmp_path: Path) -> None:
    assert_usage_error(run("-o", str(tmp_path)), "is a directory")
    assert_usage_error(run("-o", str(tmp_path / "no" / "such.html")), "does not exist")


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root")
def test_unwritable_directory(filled: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert_usage_error(run("-o", str(locked / "r.html")), "cannot write")


def test_the_cache_is_never_overwritten(filled: Path) -> None:
    before = filled.read_bytes()
    assert_usage_error(run("-o", str(filled)), "is the cache itself")
    assert filled.read_bytes() == before


def test_existing_file_is_replaced_keeping_its_mode(filled: Path, workdir: Path) -> None:
    target = workdir / "previews.html"
    target.write_text("old")
    target.chmod(0o640)
    assert run().exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_file_gets_the_usual_mode(filled: Path, workdir: Path) -> None:
    assert run().exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((workdir / "previews.html").stat().st_mode) == 0o666 & ~mask


def test_a_lone_surrogate_cannot_break_the_file(tmp_path: Path) -> None:
    target = tmp_path / "r.html"
    rows = [record("https://x.example/", "Half \ud800 pair", age=timedelta(0))]
    counts = cli_report._write_file(target, rows, "t", "s")
    assert counts.total == 1
    assert "Half ? pair" in target.read_text(encoding="utf-8")


def test_quiet(filled: Path, workdir: Path) -> None:
    result = run("-q")
    assert (result.exit_code, result.stderr) == (0, "")


def test_open_starts_the_browser_on_the_file(
    filled: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_open(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", fake_open)
    result = run("--open", "-o", "r.html")
    assert result.exit_code == 0
    assert opened == [(workdir / "r.html").resolve().as_uri()]


def test_open_without_a_browser_says_so(
    filled: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webbrowser.open", lambda url: False)
    result = run("--open")
    assert result.exit_code == 0
    assert "could not start a web browser; open previews.html yourself" in result.stderr


def test_interrupted_writes_nothing(
    filled: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("og_preview.present.report.write_report", interrupted)
    result = run()
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert not list(workdir.iterdir())


def test_report_does_not_import_heavy_modules(filled: Path, tmp_path: Path) -> None:
    code = (
        "import sys, typer\n"
        "from og_preview.cli.report import report\n"
        "app = typer.Typer()\n"
        "app.command('report')(report)\n"
        "app.command('other')(lambda: None)\n"
        f"sys.argv = ['og-preview', 'report', '-q', '-o', {str(tmp_path / 'r.html')!r}]\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(','.join(m for m in ('aiohttp', 'extruct', 'lxml') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "OG_PREVIEW_DB": str(filled)},
        check=True,
    )
    assert out.stdout.strip() == ""
    assert (tmp_path / "r.html").exists()


# --- any cache a user has ---------------------------------------------------------------------

REPORT_SCRIPT = """
import sys, typer
from og_preview.cli.report import report
app = typer.Typer()
app.command("report")(report)
app.command("other")(lambda: None)
app(["report", *sys.argv[1:]])
"""


def test_report_reads_a_cache_in_a_read_only_directory(filled: Path, tmp_path: Path) -> None:
    from tests.cli.test_show import files_of, run_in_read_only_dir

    home = tmp_path / "sealed"
    home.mkdir()
    cache = home / "cache.db"
    filled.rename(cache)
    before = files_of(home)
    out = tmp_path / "out.html"
    result = run_in_read_only_dir(
        home, [sys.executable, "-c", REPORT_SCRIPT, "--db", str(cache), "-o", str(out), "-q"]
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert len(cards(out.read_text(encoding="utf-8"))) == 5
    assert files_of(home) == before


def test_report_reads_a_read_only_old_cache_without_migrating_it(
    db_path: Path, workdir: Path
) -> None:
    from tests.unit.test_cache_migration import write_v2

    write_v2(db_path)
    db_path.chmod(0o444)
    before = db_path.read_bytes()
    result = run("--errors", "dns")
    assert result.exit_code == 0, result.stderr
    assert cards((workdir / "previews.html").read_text(encoding="utf-8")) == [
        "https://gone.example/"
    ]
    assert db_path.read_bytes() == before


def test_another_sqlite_database_is_one_line_never_delete(tmp_path: Path, workdir: Path) -> None:
    import sqlite3

    db = tmp_path / "app.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    result = run("--db", str(db))
    assert_usage_error(result, "not an og-preview cache")
    assert "delete" not in result.stderr.lower()
    assert not list(workdir.iterdir())
