"""`--parse-timeout`: a page whose extraction runs too long costs its URL, never the worker.

Real pages from the local `site` server, the real extraction, the real SIGALRM deadline: in
this process (`--workers 0`), in worker processes (`--workers 2`), and in `parse`. A bug in
a worker is a record of kind `internal`, never a network kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from og_preview.config import Settings
from og_preview.record import Preview
from og_preview.run import previewer
from og_preview.run.pipeline import preview_many
from og_preview.run.pool import WorkerPool
from tests.cli.helpers import json_lines, run
from tests.site import Site

pytestmark = pytest.mark.integration

# ~2 MiB (under the --max-bytes default) of 150,000 small tags, a misnested `<b>` in each
# paragraph (reopened in the next one, as HTML5 parsers do): a tenth of a second or more of
# extraction, where a page of a few tags takes a millisecond or two (the first one in a fresh
# worker process) and well under one after that.
BIG = (
    b"<!doctype html><html><head><title>Big</title></head><body>"
    + b"<p><b>xy</p>\n" * 150_000
    + b"</body></html>"
)
PAGE = (
    "<html><head><title>Page {n}</title><meta property='og:title' content='OG {n}'></head></html>"
)
# Far below the big page's extraction, above a small page's with room to spare: the deadline
# is wall-clock time, and on a busy machine (two workers, this process and the server on two
# cores) a small page may wait for the CPU for several milliseconds.
SHORT = 0.03
SETTINGS = Settings(allow_private=True, retries=0, backoff_initial=0.01, parse_workers=0)


def serve(site: Site, normal: int = 4) -> tuple[str, list[str]]:
    """The big page's URL and `normal` small pages' URLs."""
    small = [site.page(f"/page{n}", PAGE.format(n=n)) for n in range(normal)]
    return site.page("/big", BIG), small


def by_url(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["url"]: record for record in records}


def kind(record: dict[str, Any]) -> str:
    return str(record["error"]["kind"] if record["error"] else record["status"])


@pytest.mark.parametrize("workers", ["0", "2"])
def test_batch_a_page_past_the_deadline_is_a_parse_timeout_error(
    site: Site, tmp_path: Path, workers: str
) -> None:
    big, small = serve(site)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join([small[0], small[1], big, *small[2:]]) + "\n")
    args = ["batch", str(listing), "--allow-private", "--workers", workers, "--no-progress"]

    timed = run(*args, "--parse-timeout", str(SHORT), "--format", "jsonl")
    records = json_lines(timed.stdout)
    outcome = {url: kind(record) for url, record in by_url(records).items()}
    assert (timed.returncode, len(records)) == (1, 5), timed.stderr
    assert outcome == {big: "parse_timeout", **dict.fromkeys(small, "processed")}
    late = by_url(records)[big]
    assert late["error"]["message"] == "extraction took longer than 0.03s (--parse-timeout)"
    fetch_fields = ("final_url", "http_status", "content_type", "attempts")
    assert tuple(late[key] for key in fetch_fields) == (big, 200, "text/html", 1)
    assert late["fetched_at"] is not None and late["title"] is None

    again = run(*args, "--refresh", "--format", "jsonl")  # the default deadline: 10 s
    records = json_lines(again.stdout)
    assert (again.returncode, len(records)) == (0, 5), again.stderr
    assert by_url(records)[big]["title"] == "Big"
    assert {kind(record) for record in records} == {"processed"}


async def collect(lines: list[str], settings: Settings) -> list[Preview]:
    async with contextlib.aclosing(preview_many(lines, settings)) as results:
        return [record async for record in results]


async def test_library_in_process_deadline_with_the_fetch_fields_kept(site: Site) -> None:
    big, small = serve(site, normal=3)
    handler = signal.getsignal(signal.SIGALRM)
    records = {r.url: r for r in await collect([big, *small], SETTINGS.but(parse_timeout=SHORT))}
    late = records[big]
    assert late.error is not None and late.error.kind.value == "parse_timeout"
    assert (late.final_url, late.http_status, late.content_type, late.attempts) == (
        big,
        200,
        "text/html",
        1,
    )
    assert [records[url].title for url in small] == ["OG 0", "OG 1", "OG 2"]
    # the deadline is gone with the page: nothing armed, the previous handler back
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == handler


async def test_an_error_page_past_the_deadline_stays_an_http_error(site: Site) -> None:
    """A 4xx/5xx page is parsed only to tell a bot challenge: when that takes too long,
    the record is what the server said, not a parse_timeout."""
    url = site.page("/gone", BIG, status=404)
    [record] = await collect([url], SETTINGS.but(parse_timeout=SHORT))
    assert record.error is not None
    assert (record.error.kind.value, record.http_status) == ("http", 404)


async def test_library_default_deadline_processes_the_big_page(site: Site) -> None:
    big, _ = serve(site, normal=0)
    [record] = await collect([big], SETTINGS)
    assert (record.status.value, record.title) == ("processed", "Big")


async def test_worker_processes_apply_the_deadline(site: Site) -> None:
    """Settings travel to the workers: the deadline is enforced there, in their own main
    thread, and the record comes back through the pipe."""
    big, small = serve(site, normal=2)
    pool = WorkerPool(SETTINGS.but(parse_timeout=SHORT), 2)
    try:
        records = [await pool.run(url) for url in (big, *small)]
        pids = {w.process.pid for w in pool._workers}
    finally:
        await pool.close()
    assert [r.error.kind.value if r.error else r.title for r in records] == [
        "parse_timeout",
        "OG 0",
        "OG 1",
    ]
    assert os.getpid() not in pids


def test_parse_command_deadline(tmp_path: Path) -> None:
    page = tmp_path / "bigpage.html"
    page.write_bytes(BIG)
    args = ("parse", str(page), "--url", "https://example.com/", "--format", "jsonl")

    timed = run(*args, "--parse-timeout", "0.001")
    [record] = json_lines(timed.stdout)
    assert (timed.returncode, kind(record), record["url"]) == (
        1,
        "parse_timeout",
        "https://example.com/",
    )
    assert record["error"]["message"] == "extraction took longer than 0.001s (--parse-timeout)"

    done = run(*args)
    assert (done.returncode, json_lines(done.stdout)[0]["title"]) == (0, "Big")


@pytest.mark.parametrize("command", ["parse", "batch", "fetch"])
@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_a_parse_timeout_that_is_not_positive_is_a_usage_error(
    tmp_path: Path, command: str, value: str
) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(n=1))
    target = {
        "parse": [str(page), "--url", "https://example.com/"],
        "batch": [str(page)],
        "fetch": ["https://example.com/"],
    }[command]
    result = run(command, *target, "--parse-timeout", value)
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert "--parse-timeout must be a positive" in result.stderr


def test_parse_timeout_is_in_every_command_help() -> None:
    for command in ("fetch", "batch", "parse"):
        text = run(command, "--help").stdout
        assert "--parse-timeout SECONDS" in text and "FLOAT" not in text, command


async def test_a_bug_in_the_worker_is_an_internal_error(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetch, extract_bytes = previewer._fetch_and_extract()

    def buggy(body: bytes, base_url: str, **options: Any) -> Any:
        if base_url.endswith("/bug"):
            raise RuntimeError("something\nbroke")
        return extract_bytes(body, base_url, **options)

    monkeypatch.setattr(previewer, "_fetch_and_extract", lambda: (fetch, buggy))
    bug = site.page("/bug", PAGE.format(n="bug"))
    good = site.page("/good", PAGE.format(n="good"))
    records = {r.url: r for r in await collect([bug, good], SETTINGS)}
    error = records[bug].error
    assert error is not None
    assert (error.kind.value, error.message) == (
        "internal",
        "internal error: RuntimeError: something broke",
    )
    assert (records[good].status.value, records[good].title) == ("processed", "OG good")


async def until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_a_url_whose_worker_dies_twice_is_an_internal_error(site: Site) -> None:
    """A dead worker is replaced and its URL tried once more; a second death is the
    URL's record: kind internal, never a network kind."""
    from aiohttp import web

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.Response(text=PAGE.format(n=1), content_type="text/html")

    pool = WorkerPool(SETTINGS.but(parse_workers=None), 1)
    try:
        await pool.start()
        running = asyncio.ensure_future(pool.run(site.handler("/orphan", slow)))
        for _death in range(2):
            await until(lambda: any(w.alive and w.waiting for w in pool._workers), 10)
            [worker] = [w for w in pool._workers if w.alive]
            assert worker.process.pid is not None
            os.kill(worker.process.pid, signal.SIGKILL)
            await until(lambda: not worker.alive)  # noqa: B023 - this iteration's worker
        record = await asyncio.wait_for(running, 10)
    finally:
        await pool.close()
    assert record.error is not None
    assert (record.error.kind.value, record.error.message) == (
        "internal",
        "internal error: its worker process died",
    )
