"""Bad input everywhere, through the installed CLI: never a traceback, never a damaged cache.

Every case is either a usage error (exit 2, one line on stderr saying what to
do, nothing on stdout) or `invalid_url` records in a batch that carries on,
and every case runs against a cache that already holds good rows, which must
still be there afterwards, in a file that passes `PRAGMA integrity_check`.
Nothing here needs the network: valid URLs are answered from the cache or
refused by the address guard before any lookup.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from og_preview.record import Preview, Status
from og_preview.store.cache import Cache
from tests.cli.helpers import OG_PREVIEW, json_lines, run
from tests.site import Site

pytestmark = pytest.mark.e2e

# Good rows already in the cache before every test (url → title).
CACHED = {
    "https://cached.example/": "Cached page",
    "https://xn--bcher-kva.example/": "Bücher",
    "https://cached.example/with%20space": "A path with a space",
}
LONG_URL = "https://long.example/" + "a" * 10_000


@pytest.fixture
def cache(db_path: Path) -> Path:
    """The default cache ($OG_PREVIEW_DB), holding the rows of CACHED."""
    with Cache(db_path) as filled:
        filled.save_many(
            [
                Preview(url=url, final_url=url, status=Status.PROCESSED, title=title, attempts=1)
                for url, title in CACHED.items()
            ]
        )
    return db_path


def assert_cache_intact(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = dict(conn.execute("SELECT url, title FROM previews WHERE status = 'processed'"))
    finally:
        conn.close()
    assert {url: rows.get(url) for url in CACHED} == CACHED


def assert_usage_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("og-preview: error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def kinds(records: list[dict[str, Any]]) -> dict[str, str]:
    return {r["url"]: r["error"]["kind"] if r["error"] else r["status"] for r in records}


# -- input lines ---------------------------------------------------------------------------

HOSTILE_LINES = [
    b"https://nul.example/\x00x",  # NUL inside
    b"\x00\x00\x00",  # only NULs
    b"\xc3\x28https://bad-utf8.example/",  # invalid UTF-8
    b"\xff\xfe\xfd",  # not text at all
    b"not a url at all",
    b"http://",
    b"https://[::1",
    b"::::",
    b"http://exa mple.com/",  # a space in the host
    LONG_URL.encode(),
]


def hostile_input() -> bytes:
    good = [
        "https://bücher.example/",  # IDN: punycoded, then found in the cache
        "https://cached.example/with space",  # a space in the path: %-encoded
        "  https://CACHED.example:443/#top  ",  # normalised onto a cached row
        "http://bücher.localhost/",  # IDN on a loopback name: blocked, never resolved
    ]
    return b"\n".join([*HOSTILE_LINES, *(line.encode() for line in good)]) + b"\n"


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_hostile_lines_become_records_and_the_batch_goes_on(
    cache: Path, tmp_path: Path, source: str
) -> None:
    data = hostile_input()
    if source == "file":
        listing = tmp_path / "urls.txt"
        listing.write_bytes(data)
        result = subprocess_run(["batch", str(listing)])
    else:
        result = subprocess_run(["batch", "-"], stdin=data)
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    records = json_lines(result.stdout)
    assert len(records) == len(HOSTILE_LINES) + 4
    valid = {
        r["url"]: r for r in records if r["error"] is None or r["error"]["kind"] != "invalid_url"
    }
    assert kinds(list(valid.values())) == {
        "https://xn--bcher-kva.example/": "processed",
        "https://cached.example/with%20space": "processed",
        "https://cached.example/": "processed",
        "http://xn--bcher-kva.localhost/": "blocked",
    }
    invalid = [r["url"] for r in records if r["url"] not in valid]
    assert len(invalid) == len(HOSTILE_LINES)
    assert all(len(url) <= 8 * 1024 and "\x00" not in url for url in invalid)
    cached = [r for r in records if r["from_cache"]]
    assert sorted(r["title"] for r in cached) == sorted(CACHED.values())
    # stderr: the first ten failures a line each, how many more, then the summary
    notes = result.stderr.splitlines()
    assert len(notes) == 12 and "1 more failed URL" in notes[10], notes
    assert all(line.startswith("og-preview: ") for line in notes)
    assert_cache_intact(cache)


def subprocess_run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Like helpers.run, but stdin as raw bytes (invalid UTF-8 included)."""
    done = subprocess.run(
        [OG_PREVIEW, *args], input=stdin, capture_output=True, timeout=60, env={**os.environ}
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def test_10000_character_url_is_an_invalid_url_record(cache: Path) -> None:
    result = run("fetch", LONG_URL, "--format", "json")
    record = json.loads(result.stdout)
    assert (result.returncode, record["error"]["kind"]) == (1, "invalid_url")
    assert "longer than" in record["error"]["message"]
    assert_cache_intact(cache)


def test_idn_is_punycoded_in_the_record(cache: Path) -> None:
    result = run("fetch", "https://bücher.example/", "--format", "json")
    record = json.loads(result.stdout)
    assert (record["url"], record["title"], record["from_cache"]) == (
        "https://xn--bcher-kva.example/",
        "Bücher",
        True,
    )


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--concurrency", "-5"],
        ["--timeout", "abc"],
        ["--timeout", "-1"],
        ["--timeout", "nan"],
        ["--retries", "-1"],
        ["--per-host", "0"],
        ["--max-bytes", "lots"],
    ],
    ids=lambda args: " ".join(args),
)
def test_bad_batch_options_are_usage_errors(cache: Path, args: list[str]) -> None:
    result = run("batch", "-", *args, stdin="https://cached.example/\n")
    assert_usage_error(result)
    assert_cache_intact(cache)


def test_infinite_timeout_is_a_usage_error(cache: Path) -> None:
    assert_usage_error(run("batch", "-", "--timeout", "inf", stdin="https://cached.example/\n"))


# -- the cache file ------------------------------------------------------------------------


def test_unwritable_db_is_a_usage_error(cache: Path) -> None:
    result = run("batch", "-", "--db", "/proc/og-preview/cache.db", stdin="https://a.example/\n")
    assert_usage_error(result)
    assert_cache_intact(cache)


def test_db_under_a_file_is_a_usage_error(cache: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("a file, not a directory\n")
    result = run("batch", "-", "--db", str(plain / "cache.db"), stdin="https://a.example/\n")
    assert_usage_error(result)
    assert plain.read_text() == "a file, not a directory\n"


def test_db_that_is_not_sqlite_is_left_untouched(cache: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"my notes, not a database\n" * 100)
    before = (notes.read_bytes(), notes.stat().st_mtime_ns)
    result = run("batch", "-", "--db", str(notes), stdin="https://cached.example/\n")
    assert_usage_error(result)
    assert "not a SQLite database" in result.stderr
    assert (notes.read_bytes(), notes.stat().st_mtime_ns) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("notes")] == ["notes.db"]
    assert_cache_intact(cache)


def test_db_that_is_a_directory_is_a_usage_error(cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    result = run("batch", "-", "--db", str(folder), stdin="https://cached.example/\n")
    assert_usage_error(result)
    assert list(folder.iterdir()) == []
    assert_cache_intact(cache)


def test_db_that_is_not_a_regular_file_is_a_usage_error(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run("batch", "-", "--db", str(fifo), stdin="https://a.example/\n", timeout=10)
    assert_usage_error(result)


def test_db_that_is_a_device_is_a_usage_error() -> None:
    result = run("batch", "-", "--db", os.devnull, stdin="https://a.example/\n")
    assert (result.returncode, "not a regular file" in result.stderr) == (2, True)


# ------------------------------------------------ inputs that are not what they seem


def _listing_site(site: Site, count: int) -> list[str]:
    return [site.page(f"/in/{i}", f"<title>Page {i}</title>".encode()) for i in range(count)]


def test_a_gzip_listing_is_read_unpacked(site: Site, tmp_path: Path) -> None:
    urls = _listing_site(site, 3)
    listing = tmp_path / "urls.txt.gz"
    listing.write_bytes(gzip.compress(("\n".join(urls) + "\n").encode()))
    result = run("batch", str(listing), "--allow-private")
    records = json_lines(result.stdout)
    assert (result.returncode, sorted(r["title"] for r in records)) == (
        0,
        ["Page 0", "Page 1", "Page 2"],
    )


def test_a_binary_listing_is_refused_in_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "report.pdf"
    listing.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    result = run("batch", str(listing))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"og-preview: error: {listing} is a PDF, not a text file of URLs (one URL per line)\n"
    )


def test_a_fifo_named_as_a_file_is_read_like_stdin(site: Site, tmp_path: Path) -> None:
    """`og-preview batch <(grep http notes.txt)`: the shell names a pipe as a file."""
    urls = _listing_site(site, 2)
    fifo = tmp_path / "urls.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [OG_PREVIEW, "batch", str(fifo), "--allow-private"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with open(fifo, "w") as out:
        out.write("\n".join(urls) + "\n")
    stdout, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, len(json_lines(stdout))) == (0, 2), stderr
