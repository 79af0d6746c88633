"""What a person at a terminal sees (pseudo-terminals of several widths), and failures
told on stderr when stdout goes to another program."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli.helpers import (
    OG_PREVIEW,
    foreground,
    json_lines,
    run,
    run_in_terminal,
    screen_text,
)
from tests.site import Site

WIDTHS = [60, 80, 120, 200]


def _slow(site: Site, count: int, prefix: str, delay: float = 0.3) -> list[str]:
    async def handle(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        return web.Response(text="<title>Slow</title>", content_type="text/html")

    return [site.handler(f"/{prefix}/{i}", handle) for i in range(count)]


def _pages(site: Site, count: int, prefix: str = "t") -> list[str]:
    return [
        site.page(f"/{prefix}/{i}", f"<title>Terminal page {i}</title>".encode())
        for i in range(count)
    ]


@pytest.mark.parametrize("columns", WIDTHS)
def test_batch_on_a_terminal_shows_a_line_per_url_and_what_next(
    site: Site, tmp_path: Path, columns: int
) -> None:
    urls = [*_pages(site, 5), site.page("/t/missing", b"gone", status=404)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    code, output = run_in_terminal(["batch", str(listing), "--allow-private"], columns)
    rows = screen_text(output, columns)
    screen = "\n".join(rows)
    assert code == 1, screen  # one URL failed
    for i in range(5):  # a row each, its URL's end on the same row
        assert any(f"Terminal page {i}" in row and row.endswith(f"/t/{i}") for row in rows)
    assert any("http: HTTP 404" in row and row.endswith("/t/missing") for row in rows), screen
    assert "og-preview show" in screen and "og-preview report" in screen
    assert any("6/6" in row and "eta" in row for row in rows), screen  # total, rate, ETA
    assert "6 URLs in" in screen  # the summary


def test_ctrl_c_at_a_terminal_leaves_the_total_in_sight(site: Site, tmp_path: Path) -> None:
    urls = _slow(site, 60, "slow")
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    code, output = run_in_terminal(
        ["batch", str(listing), "--allow-private", "-c", "4", "--per-host", "4"],
        80,
        interrupt_after="Slow",
    )
    screen = "\n".join(screen_text(output, 80))
    assert code == 130, screen
    assert "/60 " in screen and "interrupted" in screen
    with sqlite3.connect(os.environ["OG_PREVIEW_DB"]) as conn:
        pending = conn.execute("SELECT count(*) FROM previews WHERE status = 'pending'").fetchone()
    conn.close()
    assert pending == (0,)


def test_a_failing_fetch_piped_says_why_on_stderr(site: Site) -> None:
    url = site.page("/gone", b"gone", status=404)
    result = run("fetch", url, "--allow-private")
    assert (result.returncode, json_lines(result.stdout)[0]["error"]["kind"]) == (1, "http")
    assert result.stderr.splitlines() == [f"og-preview: {url}: http: HTTP 404"]


def test_a_blocked_private_address_says_how_to_allow_it(site: Site) -> None:
    result = run("fetch", site.base + "/x")
    assert result.returncode == 1
    assert "blocked" in result.stderr and "--allow-private" in result.stderr


def test_a_batch_piped_lists_its_first_failures_then_counts_the_rest(site: Site) -> None:
    urls = [site.page(f"/bad/{i}", b"no", status=410) for i in range(14)]
    result = run("batch", "-", "--allow-private", stdin="\n".join(urls) + "\n")
    lines = result.stderr.splitlines()
    failures = [line for line in lines if ": http: HTTP 410" in line]
    assert (result.returncode, len(json_lines(result.stdout)), len(failures)) == (1, 14, 10)
    assert any("4 more failed URLs" in line and "og-preview show" in line for line in lines)


def test_sigterm_stops_a_batch_like_ctrl_c(site: Site, tmp_path: Path) -> None:
    urls = _slow(site, 40, "term")
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    args = ["batch", str(listing), "--allow-private", "-c", "4", "--per-host", "4"]
    proc = subprocess.Popen(
        [OG_PREVIEW, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=foreground,
    )
    assert proc.stdout is not None
    first = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, time.monotonic() - started < 5) == (143, True), err
    assert "terminated" in err and "Traceback" not in err
    printed = {r["url"] for r in json_lines("".join(first) + out)}
    with sqlite3.connect(os.environ["OG_PREVIEW_DB"]) as conn:
        rows = dict(conn.execute("SELECT url, status FROM previews"))
    conn.close()
    assert "pending" not in rows.values()
    assert all(rows.get(url) == "processed" for url in printed)
    again = run(*args)
    assert (again.returncode, len(json_lines(again.stdout))) == (0, 40)
