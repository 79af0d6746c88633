"""The library API against a real local server: preview(), preview_many(), the cache rules."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from og_preview.config import Settings
from og_preview.record import ErrorKind, Preview, Status
from og_preview.run.pipeline import (
    preview,
    preview_all,
    preview_all_sync,
    preview_many,
    preview_sync,
)
from og_preview.store.cache import Cache
from tests.site import Site

pytestmark = pytest.mark.integration

SETTINGS = Settings(allow_private=True, backoff_initial=0.01, backoff_max=0.05, parse_workers=0)
PAGE = "<html><head><meta property='og:title' content='Good'><title>t</title></head></html>"


async def collect(lines: list[str], settings: Settings, cache: Cache | None) -> list[Preview]:
    async with contextlib.aclosing(preview_many(lines, settings, cache)) as results:
        return [record async for record in results]


async def test_preview_one_page(site: Site) -> None:
    record = await preview(site.page("/a", PAGE), settings=SETTINGS)
    assert (record.status, record.title) == (Status.PROCESSED, "Good")


async def test_second_preview_comes_from_cache(site: Site, db_path: Path) -> None:
    url = site.page("/a", PAGE)
    with Cache(db_path) as cache:
        await preview(url, settings=SETTINGS, cache=cache)
        again = await preview(url, settings=SETTINGS, cache=cache)
    assert (again.from_cache, site.hits["/a"]) == (True, 1)


async def test_failed_refetch_returns_the_good_cached_record(site: Site, db_path: Path) -> None:
    url = site.page("/a", PAGE)
    with Cache(db_path) as cache:
        await preview(url, settings=SETTINGS, cache=cache)
        site.page("/a", "down", status=500)
        again = await preview(url, settings=SETTINGS.but(refresh=True, retries=0), cache=cache)
    assert (again.status, again.title, again.from_cache) == (Status.PROCESSED, "Good", True)


async def test_preview_never_raises_on_bad_input() -> None:
    record = await preview("javascript:alert(1)", settings=SETTINGS)
    assert record.error is not None and record.error.kind.value == "invalid_url"


async def test_preview_many_one_record_per_distinct_url(site: Site) -> None:
    urls = [site.page(f"/p{i}", PAGE) for i in range(6)]
    records = await collect(urls + urls + ["not a url at all"], SETTINGS, None)
    outcomes = sorted((r.url, r.status.value) for r in records)
    assert outcomes == sorted([(u, "processed") for u in urls] + [("not a url at all", "error")])


async def test_preview_many_in_worker_processes(site: Site) -> None:
    urls = [site.page(f"/w{i}", PAGE) for i in range(4)]
    records = await collect(urls, SETTINGS.but(parse_workers=2), None)
    assert sorted(r.title or "" for r in records) == ["Good"] * 4


async def test_preview_many_saves_before_yielding(site: Site, db_path: Path) -> None:
    urls = [site.page(f"/s{i}", PAGE) for i in range(3)]
    with Cache(db_path) as cache:
        records = await collect(urls, SETTINGS, cache)
        stored = [cache.get(r.url) for r in records]
    assert all(s is not None and s.title == "Good" for s in stored)


async def test_retry_then_success_counts_attempts(site: Site) -> None:
    url = site.sequence("/flaky", (503, "busy", {}), (200, PAGE, {}))
    record = await preview(url, settings=SETTINGS)
    assert (record.status, record.attempts) == (Status.PROCESSED, 2)


async def test_retry_after_delays_only_that_host(site: Site) -> None:
    """A 429 with Retry-After pauses later requests to the same host, not to other hosts."""
    import asyncio
    import time

    from aiohttp import web

    arrivals: dict[str, float] = {}

    async def slow(request: web.Request) -> web.StreamResponse:
        arrivals.setdefault(request.path + "@" + request.host.split(":")[0], time.monotonic())
        await asyncio.sleep(0.3)
        return web.Response(text=PAGE, content_type="text/html")

    def mark(request: web.Request) -> None:
        arrivals.setdefault(request.path + "@" + request.host.split(":")[0], time.monotonic())

    async def limited(request: web.Request) -> web.StreamResponse:
        mark(request)
        if site.hits["/limited"] == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text=PAGE, content_type="text/html")

    async def fast(request: web.Request) -> web.StreamResponse:
        mark(request)
        return web.Response(text=PAGE, content_type="text/html")

    limited_url = site.handler("/limited", limited)
    slow_urls = [site.handler(f"/slow{i}", slow) for i in range(2)]
    later_url = site.handler("/later", fast)
    other_host = site.handler("/other", fast).replace("127.0.0.1", "localhost")
    settings = SETTINGS.but(concurrency=2, per_host=2)
    # /limited answers 429 at once and sleeps 1 s before retrying; /later is handed out only
    # when /slow0 finishes (0.3 s), inside the pause; `localhost` is another host and waits
    # only for a free connection
    records = await collect([limited_url, *slow_urls, other_host, later_url], settings, None)
    start = arrivals["/limited@127.0.0.1"]
    assert all(r.ok for r in records)
    assert arrivals["/later@127.0.0.1"] - start >= 0.9
    assert arrivals["/other@localhost"] - start < 0.6


async def test_unfinished_urls_are_interrupted_when_stopped(site: Site, db_path: Path) -> None:
    """Stopping a batch early (Ctrl-C, a closed pipe) leaves no `pending` row: the URLs it
    had taken on are `interrupted` errors, and the next run fetches them."""
    import asyncio

    from aiohttp import web

    from og_preview.store.cache import Query

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.0)
        return web.Response(text=PAGE, content_type="text/html")

    urls = [site.page("/q0", PAGE), *(site.handler(f"/q{i}", slow) for i in range(1, 6))]
    with Cache(db_path) as cache:
        async with contextlib.aclosing(
            preview_many(urls, SETTINGS.but(concurrency=1), cache)
        ) as results:
            first = await anext(results)
        assert list(cache.query(Query(status="pending"))) == []
        stopped = list(cache.query(Query(status="error")))
        assert 0 < len(stopped) < 6 and first.url not in {r.url for r in stopped}
        assert {r.error.kind for r in stopped if r.error} == {ErrorKind.INTERRUPTED}
        # the rerun fetches what was stopped, not what was finished
        before = sum(site.hits.values())
        again = await collect(urls, SETTINGS.but(concurrency=8), cache)
    assert all(r.ok for r in again)
    assert sum(site.hits.values()) - before == len(stopped)


async def test_invalid_lines_are_reported_but_not_cached(site: Site, db_path: Path) -> None:
    url = site.page("/v", PAGE)
    with Cache(db_path) as cache:
        records = await collect(["not a url", url], SETTINGS, cache)
        stored = [p.url for p in cache.query()]
    assert (len(records), stored) == (2, [url])


async def test_an_overlong_invalid_url_is_cut_in_the_record() -> None:
    record = await preview("javascript:" + "x" * 10_000, settings=SETTINGS)
    assert len(record.url) <= 201


# -- preview_all and the synchronous wrappers ------------------------------------------------


async def test_preview_all_takes_settings_and_cache_positionally(site: Site, db_path: Path) -> None:
    urls = [site.page("/all0", PAGE), site.page("/all1", PAGE), "not a url"]
    with Cache(db_path) as cache:
        records = await preview_all(urls, SETTINGS, cache)
        again = await preview_all(urls[:2], settings=SETTINGS, cache=cache)
    assert [r.url for r in records[:2]] == urls[:2]
    assert [r.status for r in records] == [Status.PROCESSED, Status.PROCESSED, Status.ERROR]
    assert [r.from_cache for r in again] == [True, True]
    assert (site.hits["/all0"], site.hits["/all1"]) == (1, 1)


def test_preview_sync_in_a_script(site: Site, db_path: Path) -> None:
    url = site.page("/sync", PAGE)
    with Cache(db_path) as cache:
        record = preview_sync(url, SETTINGS, cache)
        cached = preview_sync(url, settings=SETTINGS, cache=cache)
    assert (record.title, record.from_cache, cached.from_cache) == ("Good", False, True)


def test_preview_all_sync_keeps_input_order(site: Site) -> None:
    urls = [site.page(f"/order{i}", PAGE.replace("Good", f"Page {i}")) for i in range(5)]
    records = preview_all_sync(reversed(urls), SETTINGS)
    assert [r.title for r in records] == [f"Page {i}" for i in reversed(range(5))]


def test_sync_wrappers_work_in_threads_without_a_loop(site: Site, tmp_path: Path) -> None:
    """Threads of a pool (each its own loop, for the call), one with its own cache."""
    from concurrent.futures import ThreadPoolExecutor

    urls = [site.page(f"/thread{i}", PAGE) for i in range(8)]

    def with_own_cache(url: str) -> Preview:
        with Cache(tmp_path / "thread.db") as cache:
            return preview_sync(url, SETTINGS, cache)

    with ThreadPoolExecutor(4) as threads:
        records = list(threads.map(lambda u: preview_sync(u, SETTINGS), urls[:4]))
        records += list(threads.map(with_own_cache, urls[4:]))
        [many] = list(threads.map(lambda us: preview_all_sync(us, SETTINGS), [urls]))
    assert [r.title for r in records] == ["Good"] * 8
    assert [r.title for r in many] == ["Good"] * 8


async def test_preview_sync_inside_a_loop_says_to_await() -> None:
    with pytest.raises(RuntimeError, match=r"await og_preview\.preview\("):
        preview_sync("http://127.0.0.1/", SETTINGS)
