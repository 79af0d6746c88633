"""`og-preview batch` end to end: a subprocess against a real local server."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli.helpers import OG_PREVIEW, foreground, json_lines, run
from tests.site import Site

pytestmark = pytest.mark.e2e

PAGE = (
    "<html><head><title>Page {n}</title><meta property='og:title' content='OG {n}'></head></html>"
)


def pages(site: Site, count: int, prefix: str = "/p") -> list[str]:
    return [site.page(f"{prefix}{i}", PAGE.format(n=i)) for i in range(count)]


def slow(site: Site, count: int, delay: float) -> list[str]:
    async def handle(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        return web.Response(text=PAGE.format(n=request.path), content_type="text/html")

    return [site.handler(f"/slow{i}", handle) for i in range(count)]


def test_one_record_per_distinct_input(site: Site, tmp_path: Path) -> None:
    urls = pages(site, 5)
    listing = tmp_path / "urls.txt"
    listing.write_text("# my urls\n\n" + "\n".join(urls + urls[:2] + ["  " + urls[0] + "#frag  "]))
    result = run("batch", str(listing), "--allow-private")
    records = json_lines(result.stdout)
    assert (result.returncode, sorted(r["url"] for r in records)) == (0, sorted(urls))


def test_each_distinct_url_fetched_once(site: Site, tmp_path: Path) -> None:
    urls = pages(site, 3)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls * 3))
    run("batch", str(listing), "--allow-private")
    assert [site.hits[f"/p{i}"] for i in range(3)] == [1, 1, 1]


def test_bad_lines_become_invalid_url_records(site: Site, tmp_path: Path) -> None:
    good = pages(site, 1)
    listing = tmp_path / "urls.txt"
    listing.write_bytes(
        b"javascript:alert(1)\nfile:///etc/passwd\nftp://x.example/\n\xff\xfe\n"
        + ("https://x.example/" + "a" * 9000 + "\n").encode()
        + good[0].encode()
        + b"\n"
    )
    result = run("batch", str(listing), "--allow-private")
    kinds = [r["error"]["kind"] if r["error"] else r["status"] for r in json_lines(result.stdout)]
    assert (result.returncode, sorted(kinds)) == (1, ["invalid_url"] * 5 + ["processed"])


def test_reads_stdin_when_no_file(site: Site) -> None:
    urls = pages(site, 2)
    result = run("batch", "--allow-private", stdin="\n".join(urls) + "\n")
    assert sorted(r["url"] for r in json_lines(result.stdout)) == sorted(urls)


def test_stdout_is_only_json_and_summary_on_stderr(site: Site) -> None:
    urls = pages(site, 3)
    result = run("batch", "-", "--allow-private", stdin="\n".join(urls))
    assert (len(json_lines(result.stdout)), "3 processed" in result.stderr) == (3, True)


def test_missing_input_file_is_exit_2_before_any_work(site: Site, tmp_path: Path) -> None:
    urls = pages(site, 1)
    listing = tmp_path / "urls.txt"
    listing.write_text(urls[0])
    result = run("batch", str(listing), str(tmp_path / "missing.txt"), "--allow-private")
    assert (result.returncode, result.stdout, site.hits["/p0"]) == (2, "", 0)


def test_rerun_serves_from_cache_without_requests(site: Site, tmp_path: Path) -> None:
    urls = pages(site, 4)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls))
    run("batch", str(listing), "--allow-private")
    again = json_lines(run("batch", str(listing), "--allow-private").stdout)
    assert ([r["from_cache"] for r in again], sum(site.hits.values())) == ([True] * 4, 4)


def test_refresh_fetches_again(site: Site, tmp_path: Path) -> None:
    urls = pages(site, 2)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls))
    run("batch", str(listing), "--allow-private")
    run("batch", str(listing), "--allow-private", "--refresh")
    assert sum(site.hits.values()) == 4


def test_no_cache_neither_reads_nor_writes(site: Site, tmp_path: Path, db_path: Path) -> None:
    urls = pages(site, 2)
    run("batch", "-", "--allow-private", "--no-cache", stdin="\n".join(urls))
    assert not db_path.exists()


def test_per_host_cap_is_respected(site: Site) -> None:
    urls = slow(site, 12, 0.2)
    run("batch", "-", "--allow-private", "--per-host", "3", "-c", "10", stdin="\n".join(urls))
    assert 1 <= site.max_in_flight <= 3


def test_concurrency_bounds_pages_in_flight(site: Site) -> None:
    urls = slow(site, 12, 0.2)
    run("batch", "-", "--allow-private", "--per-host", "10", "-c", "2", stdin="\n".join(urls))
    assert site.max_in_flight <= 2


def test_formats_csv_and_json(site: Site) -> None:
    urls = pages(site, 2)
    as_csv = run("batch", "-", "--allow-private", "--format", "csv", stdin="\n".join(urls))
    as_json = run("batch", "-", "--allow-private", "--format", "json", stdin="\n".join(urls))
    assert (
        as_csv.stdout.splitlines()[0].startswith("url,final_url,status"),
        as_json.stdout[0],
    ) == (
        True,
        "[",
    )


def test_sigint_stops_saves_and_resumes(site: Site, tmp_path: Path) -> None:
    urls = slow(site, 40, 0.3)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls))
    args = [OG_PREVIEW, "batch", str(listing), "--allow-private", "-c", "4", "--per-host", "4"]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
        preexec_fn=foreground,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(5)]  # wait for the first five records
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = proc.communicate(timeout=20)
    stopped_within = time.monotonic() - started
    first = {r["url"] for r in json_lines("".join(lines) + out) if r["status"] == "processed"}
    with sqlite3.connect(os.environ["OG_PREVIEW_DB"]) as conn:  # no row left half-done
        statuses = dict(conn.execute("SELECT status, count(*) FROM previews GROUP BY status"))
        kinds = {k for (k,) in conn.execute("SELECT json_extract(error, '$.kind') FROM previews")}
    conn.close()
    assert "pending" not in statuses and kinds <= {None, "interrupted"}, statuses
    hits_before = dict(site.hits)
    second = run("batch", str(listing), "--allow-private", "-c", "8", "--per-host", "8")
    paths = {url: url.removeprefix(site.base) for url in first}
    refetched = [url for url, path in paths.items() if site.hits[path] > hits_before[path]]
    outcome = (proc.returncode, stopped_within < 5, 5 <= len(first) < 40)
    assert outcome == (130, True, True), (len(first), err)
    assert (refetched, second.returncode, len(json_lines(second.stdout))) == ([], 0, 40)


def test_a_slow_pipe_is_previewed_line_by_line(site: Site) -> None:
    """`producer | og-preview batch -`: each URL is previewed as it arrives, not at EOF."""
    urls = pages(site, 2)
    proc = subprocess.Popen(
        [OG_PREVIEW, "batch", "-", "--allow-private"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(urls[0] + "\n")
    proc.stdin.flush()
    ready, _, _ = select.select([proc.stdout], [], [], 30)  # stdin is still open
    first = proc.stdout.readline() if ready else ""
    rest, _ = proc.communicate(urls[1] + "\n", timeout=30)
    assert (json_lines(first)[0]["url"], len(json_lines(rest)), proc.returncode) == (urls[0], 1, 0)


def test_progress_shows_on_a_terminal_stderr(site: Site) -> None:
    """With stderr on a terminal: a live bar with done/total and counts; stdout stays JSON."""
    import pty

    urls = pages(site, 3)
    reader_fd, terminal_fd = pty.openpty()
    proc = subprocess.Popen(
        [OG_PREVIEW, "batch", "-", "--allow-private"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=terminal_fd,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    out, _ = proc.communicate("\n".join(urls) + "\n", timeout=60)
    os.close(terminal_fd)
    shown = b""
    while select.select([reader_fd], [], [], 0.5)[0]:
        try:
            chunk = os.read(reader_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(reader_fd)
    text = shown.decode("utf-8", "replace")
    assert (len(json_lines(out)), "3/3" in text, "3 processed" in text) == (3, True, True)
