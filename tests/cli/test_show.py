"""`og-preview show`: every filter and format, through CliRunner (stdout is data only)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from og_preview.cli import show as cli_show
from og_preview.cli.show import show
from og_preview.record import RECORD_KEYS, ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache
from og_preview.store.schema import iso_utc

app = typer.Typer()
app.command("show")(show)
app.command("other")(lambda: None)  # keeps `show` a sub-command, as in the real CLI

NOW = datetime.now(UTC).replace(microsecond=0)


def record(url: str, title: str, *, age: timedelta) -> Preview:
    return Preview(
        url=url,
        final_url=url,
        status=Status.PROCESSED,
        http_status=200,
        title=title,
        jsonld=[{"@type": "WebPage", "name": title}],
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
                    "https://slow.example/",
                    ErrorKind.TIMEOUT,
                    "timed out",
                    fetched_at=iso_utc(NOW - timedelta(days=1)),
                ),
            ]
        )
        cache.mark_pending(["https://waiting.example/"])
    return db_path


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["show", *args])


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def urls(result: Result) -> list[str]:
    return [row["url"] for row in lines(result)]


def assert_usage_error(result: Result, needle: str) -> None:
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("og-preview: error: ") and needle in result.stderr
    assert result.stderr.count("\n") == 1


# --- no cache ---------------------------------------------------------------------------


def test_missing_cache_prints_nothing_and_exits_0(db_path: Path) -> None:
    result = run()
    assert (result.exit_code, result.stdout) == (0, "")


def test_missing_cache_says_so_on_stderr(db_path: Path) -> None:
    assert f"no cache yet at {db_path}" in run().stderr


def test_missing_cache_is_not_created(db_path: Path) -> None:
    run()
    assert not db_path.exists()


def test_missing_cache_as_json_is_an_empty_array(db_path: Path) -> None:
    assert json.loads(run("--format", "json").stdout) == []


def test_missing_cache_stats_are_zero(db_path: Path) -> None:
    assert json.loads(run("--stats", "--format", "json").stdout)["total"] == 0


# --- default output ---------------------------------------------------------------------


def test_default_off_a_terminal_is_json_lines_of_every_record_key(filled: Path) -> None:
    assert all(list(row) == list(RECORD_KEYS) for row in lines(run()))


def test_records_are_from_cache(filled: Path) -> None:
    assert all(row["from_cache"] is True for row in lines(run()))


def test_default_shows_processed_and_error_newest_first(filled: Path) -> None:
    assert urls(run()) == [
        "https://down.example/",
        "https://news.example/c",
        "https://blog.example/b",
        "https://slow.example/",
        "https://news.example/a",
    ]


def test_stderr_is_quiet_on_success(filled: Path) -> None:
    assert run().stderr == ""


def test_db_option_picks_the_file(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OG_PREVIEW_DB", str(tmp_path / "elsewhere.db"))
    assert len(urls(run("--db", str(filled)))) == 5


# --- filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            "processed",
            {"https://news.example/a", "https://blog.example/b", "https://news.example/c"},
        ),
        ("error", {"https://down.example/", "https://slow.example/"}),
        ("pending", {"https://waiting.example/"}),
    ],
)
def test_status_filter(filled: Path, status: str, expected: set[str]) -> None:
    assert set(urls(run("--status", status))) == expected


def test_unknown_status_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--status", "done"), "unknown status")


@pytest.mark.parametrize("host", ["news.example", "NEWS.example", "https://news.example/x?y=1"])
def test_host_filter(filled: Path, host: str) -> None:
    assert set(urls(run("--host", host))) == {"https://news.example/a", "https://news.example/c"}


def test_host_filter_is_exact(filled: Path) -> None:
    assert urls(run("--host", "example")) == []


def test_search_filter_matches_title_ignoring_case(filled: Path) -> None:
    assert set(urls(run("--search", "NEWS"))) == {
        "https://news.example/a",
        "https://news.example/c",
    }


def test_search_filter_matches_url(filled: Path) -> None:
    assert urls(run("--search", "blog.example")) == ["https://blog.example/b"]


def test_since_duration(filled: Path) -> None:
    assert set(urls(run("--since", "6h"))) == {
        "https://down.example/",
        "https://news.example/c",
        "https://blog.example/b",
    }


def test_since_date(filled: Path) -> None:
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert urls(run("--since", tomorrow)) == []


def test_bad_since_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--since", "last tuesday"), "--since")


@pytest.mark.parametrize("option", ["--errors", "--error-kind"])
def test_error_kind_filter(filled: Path, option: str) -> None:
    assert urls(run(option, "timeout")) == ["https://slow.example/"]


def test_unknown_error_kind_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--errors", "gremlins"), "unknown error kind")


def test_limit(filled: Path) -> None:
    assert urls(run("--limit", "2")) == ["https://down.example/", "https://news.example/c"]


def test_limit_zero_prints_nothing(filled: Path) -> None:
    assert run("--limit", "0").stdout == ""


def test_negative_limit_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--limit", "-1"), "limit")


@pytest.mark.parametrize(
    ("order", "first"),
    [
        ("url", "https://blog.example/b"),
        ("-url", "https://slow.example/"),
        ("fetched_at", "https://news.example/a"),
        ("title asc", "https://news.example/a"),
    ],
)
def test_order(filled: Path, order: str, first: str) -> None:
    assert urls(run("--order", order))[0] == first


def test_unknown_order_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--order", "size"), "unknown order")


def test_filters_combine(filled: Path) -> None:
    assert urls(run("--host", "news.example", "--since", "1h")) == ["https://news.example/c"]


def test_no_jsonld_empties_jsonld(filled: Path) -> None:
    assert all(row["jsonld"] == [] for row in lines(run("--no-jsonld")))


def test_jsonld_is_shown_by_default(filled: Path) -> None:
    assert lines(run("--status", "processed"))[0]["jsonld"] == [
        {"@type": "WebPage", "name": "Small news"}
    ]


# --- formats ----------------------------------------------------------------------------


def test_format_json_is_one_array(filled: Path) -> None:
    assert len(json.loads(run("--format", "json").stdout)) == 5


def test_format_csv_has_a_header_and_a_row_per_record(filled: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv").stdout)))
    assert [r["url"] for r in rows][:1] == ["https://down.example/"] and len(rows) == 5


def test_format_urls_prints_bare_urls(filled: Path) -> None:
    assert run("--format", "urls", "--status", "error").stdout.splitlines() == [
        "https://down.example/",
        "https://slow.example/",
    ]


def test_format_table_shows_titles(filled: Path) -> None:
    assert "Small news" in run("--format", "table").stdout


def test_format_card_shows_titles(filled: Path) -> None:
    assert "Quiet post" in run("--format", "card").stdout


def test_auto_on_a_terminal_is_a_table(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_show, "stdout_is_terminal", lambda: True)
    out = run().stdout
    assert "Big News" in out and not out.lstrip().startswith("{")


def test_table_without_limit_is_capped_with_a_note(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_show, "PEOPLE_LIMIT", 2)
    result = run("--format", "table")
    assert "showing 2 of 5 rows" in result.stderr


def test_table_with_an_explicit_limit_is_not_capped(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_show, "PEOPLE_LIMIT", 2)
    result = run("--format", "table", "--limit", "5")
    assert "Big News" in result.stdout and result.stderr == ""


def test_table_with_no_match_says_so_on_stderr(filled: Path) -> None:
    result = run("--format", "table", "--host", "nowhere.example")
    assert (result.stdout, result.stderr.strip()) == ("", "og-preview: no matching rows")


def test_unknown_format_is_a_usage_error(filled: Path) -> None:
    assert_usage_error(run("--format", "xml"), "--format")


# --- stats ------------------------------------------------------------------------------


def test_stats_as_json(filled: Path) -> None:
    data = json.loads(run("--stats", "--format", "json").stdout)
    assert (data["total"], data["by_status"], data["by_error_kind"]) == (
        6,
        {"processed": 3, "error": 2, "pending": 1},
        {"dns": 1, "timeout": 1},
    )


def test_stats_as_jsonl_is_one_line(filled: Path) -> None:
    assert len(run("--stats", "--format", "jsonl").stdout.splitlines()) == 1


def test_stats_off_a_terminal_are_plain_lines(filled: Path) -> None:
    out = run("--stats").stdout.splitlines()
    assert "total\t6" in out and "status\tprocessed\t3" in out and "error_kind\tdns\t1" in out


def test_stats_on_a_terminal_are_a_table(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_show, "stdout_is_terminal", lambda: True)
    out = run("--stats").stdout
    assert "processed" in out and "error: timeout" in out and "total\t" not in out


def test_stats_honour_filters(filled: Path) -> None:
    assert (
        json.loads(run("--stats", "--format", "json", "--host", "news.example").stdout)["total"]
        == 2
    )


def test_stats_reject_record_formats(filled: Path) -> None:
    assert_usage_error(run("--stats", "--format", "csv"), "--stats")


# --- broken cache files -----------------------------------------------------------------


def test_not_a_sqlite_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n")
    assert_usage_error(run("--db", str(path)), "not a SQLite database")


def test_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    assert run("--db", str(tmp_path)).exit_code == 2


# --- as a process -----------------------------------------------------------------------

SCRIPT = """
import sys, typer
from og_preview.cli.show import show
app = typer.Typer()
app.command("show")(show)
app.command("other")(lambda: None)
app(["show", *sys.argv[1:]])
"""


def test_broken_pipe_is_a_quiet_exit(db_path: Path) -> None:
    with Cache(db_path) as cache:
        cache.save_many(
            [record(f"https://x.example/{i}", "t" * 200, age=timedelta(0)) for i in range(3000)]
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "--db", str(db_path), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert (proc.wait(timeout=30), stderr) == (0, b"")


def test_show_loads_neither_aiohttp_nor_extruct(filled: Path) -> None:
    code = SCRIPT.replace(
        'app(["show", *sys.argv[1:]])',
        "try:\n    app(['show', '--limit', '1'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('aiohttp', 'extruct', 'lxml') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)",
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"


# --- any cache a user has: read-only, old, or not a cache at all -----------------------------

# Run argv with `directory` read-only: chmod 0o555 for a user; for root, whom permissions
# do not stop, a read-only bind mount of it in a mount namespace of the command's own.
# The shell checks that the directory really refuses a new file (exit 99 if not).
READ_ONLY_SH = """
dir="$1"; shift
if [ "$(id -u)" = 0 ]; then
    mount --bind "$dir" "$dir" && mount -o remount,bind,ro "$dir" || exit 98
fi
if ( : > "$dir/.probe" ) 2>/dev/null; then rm -f "$dir/.probe"; exit 99; fi
exec "$@"
"""


def run_in_read_only_dir(directory: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    command = ["sh", "-c", READ_ONLY_SH, "sh", str(directory), *argv]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("running as root, where permissions do not bite, and no `unshare`")
        probe = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
        )
        if probe.returncode != 0:
            pytest.skip(
                "running as root, where permissions do not bite, and no mount namespace "
                f"for a read-only bind mount: {probe.stderr.decode(errors='replace').strip()}"
            )
        command = ["unshare", "--mount", "--propagation", "private", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    else:
        directory.chmod(0o555)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        finally:
            directory.chmod(0o755)
    if result.returncode == 98:
        pytest.skip(f"running as root and a read-only bind mount failed: {result.stderr}")
    assert result.returncode != 99, "the directory was not read-only"
    return result


def files_of(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


@pytest.fixture
def sealed(filled: Path) -> Path:
    """`filled`'s cache alone in a directory of its own, closed (no -wal / -shm)."""
    home = filled.parent / "sealed"
    home.mkdir()
    moved = home / "cache.db"
    shutil.move(filled, moved)
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{filled}{suffix}").exists()
    return moved


def test_show_reads_a_cache_in_a_read_only_directory(sealed: Path) -> None:
    before = files_of(sealed.parent)
    result = run_in_read_only_dir(
        sealed.parent, [sys.executable, "-c", SCRIPT, "--db", str(sealed), "--format", "jsonl"]
    )
    assert (result.returncode, result.stderr) == (0, "")
    got = [json.loads(line)["url"] for line in result.stdout.splitlines()]
    assert len(got) == 5 and "https://down.example/" in got
    assert files_of(sealed.parent) == before


def test_show_stats_and_filters_in_a_read_only_directory(sealed: Path) -> None:
    result = run_in_read_only_dir(
        sealed.parent,
        [sys.executable, "-c", SCRIPT, "--db", str(sealed), "--errors", "dns", "--format", "urls"],
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "https://down.example/\n", "")


def test_show_reads_an_old_cache_in_a_read_only_directory(tmp_path: Path) -> None:
    from tests.unit.test_cache_migration import write_v2

    home = tmp_path / "old"
    home.mkdir()
    write_v2(home / "cache.db")
    before = files_of(home)
    result = run_in_read_only_dir(
        home,
        [sys.executable, "-c", SCRIPT, "--db", str(home / "cache.db"), "--format", "jsonl"],
    )
    assert (result.returncode, result.stderr) == (0, "")
    rows = {row["url"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert sorted(rows) == [
        "https://gone.example/",
        "https://good.example/",
        "https://odd.example/",
    ]
    assert rows["https://good.example/"]["last_error"]["kind"] == "timeout"
    assert files_of(home) == before


def test_show_reads_a_read_only_file_without_writing_it(filled: Path) -> None:
    filled.chmod(0o444)
    before = filled.read_bytes(), filled.stat().st_mtime_ns
    result = run("--format", "jsonl")
    assert result.exit_code == 0 and len(lines(result)) == 5
    assert (filled.read_bytes(), filled.stat().st_mtime_ns) == before


def test_show_does_not_migrate_an_old_cache(db_path: Path) -> None:
    from tests.unit.test_cache_migration import write_v2

    write_v2(db_path)
    before = db_path.read_bytes()
    result = run("--errors", "dns", "--format", "urls")
    assert (result.exit_code, result.stdout) == (0, "https://gone.example/\n")
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("urls.txt", b"https://a.example/\nhttps://b.example/\n"),
        ("notes.db", b"not a database\n"),
    ],
)
def test_a_db_that_is_not_a_cache_is_one_line_never_delete(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run("--db", str(path))
    assert_usage_error(result, "not an og-preview cache")
    assert "delete" not in result.stderr.lower()
    assert path.read_bytes() == content


def test_another_sqlite_database_is_one_line_never_delete(tmp_path: Path) -> None:
    path = tmp_path / "bookmarks.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    result = run("--db", str(path))
    assert_usage_error(result, "not an og-preview cache")
    assert "delete" not in result.stderr.lower()
    assert path.read_bytes() == before
