"""The batch scheduler behind `preview_many`, over a stand-in for the worker pool (no
network): a bug costs one URL, back-pressure, records while the input is slow, and what
an early stop (Ctrl-C, a closed consumer, a failing input) leaves in the cache."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from og_preview.config import Settings
from og_preview.record import ErrorKind, Preview, Status, Validators
from og_preview.run.pipeline import SAVE_RECORDS, preview_many
from og_preview.store.cache import Cache, Query

if TYPE_CHECKING:
    from og_preview.run.pool import WorkerPool

SETTINGS = Settings(concurrency=4, per_host=4)


def url(name: str) -> str:
    return f"https://a.example/{name}"


def processed(address: str) -> Preview:
    return Preview(url=address, status=Status.PROCESSED, title="ok")


async def quick(address: str) -> Preview:
    return processed(address)


class FakePool:
    """Where `preview_many` sends each URL: the test's `run`, counted."""

    def __init__(self, run: Callable[[str], Awaitable[Preview]]) -> None:
        self._run = run
        self.started = self.in_flight = self.most_in_flight = 0
        self.closed = False

    async def run(self, address: str, validators: Validators | None = None) -> Preview:
        self.started += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._run(address)
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        self.closed = True


def stream(
    lines: Iterable[str],
    pool: FakePool,
    *,
    settings: Settings = SETTINGS,
    cache: Cache | None = None,
    read_chunk: int = 256,
) -> AsyncGenerator[Preview, None]:
    return preview_many(
        lines, settings, cache, read_chunk=read_chunk, pool=cast("WorkerPool", pool)
    )


async def collect(lines: Iterable[str], pool: FakePool, **options: object) -> list[Preview]:
    async with contextlib.aclosing(stream(lines, pool, **options)) as results:  # type: ignore[arg-type]
        return await asyncio.wait_for(_all(results), 10)


async def _all(results: AsyncGenerator[Preview, None]) -> list[Preview]:
    return [record async for record in results]


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.01)


def rows(cache: Cache, status: str) -> dict[str, Preview]:
    return {r.url: r for r in cache.query(Query(status=status))}


async def test_a_bug_in_one_url_is_its_internal_record_and_the_rest_finish() -> None:
    async def run(address: str, validators: Validators | None = None) -> Preview:
        await asyncio.sleep(0.01)
        if address.endswith("/bug"):
            raise RuntimeError("boom")
        return processed(address)

    urls = [url(str(i)) for i in range(12)]
    records = {r.url: r for r in await collect([*urls[:6], url("bug"), *urls[6:]], FakePool(run))}
    bug = records.pop(url("bug")).error
    assert bug is not None and (bug.kind, bug.message) == (
        ErrorKind.INTERNAL,
        "internal error: RuntimeError: boom",
    )
    assert sorted(records) == sorted(urls) and all(r.ok for r in records.values())


async def test_a_callees_own_cancellation_is_an_internal_record_not_a_hang() -> None:
    async def run(address: str, validators: Validators | None = None) -> Preview:
        if address.endswith("/odd"):
            raise asyncio.CancelledError  # nobody cancelled this task
        return processed(address)

    records = {r.url: r for r in await collect([url("odd"), url("even")], FakePool(run))}
    odd = records[url("odd")].error
    assert odd is not None and odd.kind is ErrorKind.INTERNAL
    assert records[url("even")].ok


async def test_at_most_twice_concurrency_urls_are_handed_out() -> None:
    async def run(address: str, validators: Validators | None = None) -> Preview:
        await asyncio.sleep(0.005)
        return processed(address)

    pool = FakePool(run)
    records = await collect([url(str(i)) for i in range(60)], pool)
    assert (len(records), pool.most_in_flight, pool.closed) == (60, 8, True)


async def test_records_come_out_while_the_input_is_slow() -> None:
    """`tail -f log | og-preview batch -`: a record is yielded within SAVE_EVERY, not when
    the next line arrives."""
    more = threading.Event()

    def lines() -> Iterator[str]:
        yield url("first")
        more.wait(10)
        yield url("second")

    try:
        async with contextlib.aclosing(stream(lines(), FakePool(quick), read_chunk=1)) as results:
            started = time.monotonic()
            first = await asyncio.wait_for(anext(results), 5)
            waited = time.monotonic() - started
            more.set()
            rest = await asyncio.wait_for(_all(results), 5)
    finally:
        more.set()
    assert (first.url, waited < 1.0, [r.url for r in rest]) == (url("first"), True, [url("second")])


async def test_a_consumer_that_stops_taking_records_holds_the_batch_up() -> None:
    pool = FakePool(quick)
    urls = [url(str(i)) for i in range(3000)]
    async with contextlib.aclosing(stream(urls, pool)) as results:
        await anext(results)
        await asyncio.sleep(0.2)  # (the consumer is busy elsewhere)
        started_meanwhile = pool.started
        rest = await asyncio.wait_for(_all(results), 10)
    assert started_meanwhile <= 2 * SAVE_RECORDS + 2 * SETTINGS.concurrency
    assert len(rest) == len(urls) - 1


def slow_batch() -> tuple[list[str], list[str], FakePool]:
    """Two URLs that finish at once, ten that never do (eight in flight, two waiting)."""

    async def run(address: str, validators: Validators | None = None) -> Preview:
        if "/slow" in address:
            await asyncio.Event().wait()
        return processed(address)

    return [url("fast0"), url("fast1")], [url(f"slow{i}") for i in range(10)], FakePool(run)


async def test_ctrl_c_saves_what_finished_and_interrupts_the_rest(db_path: Path) -> None:
    """The main task cancelled (asyncio.run's SIGINT handler): the cancellation goes on
    (the CLI exits 130), and no row stays `pending`."""
    fast, slow, pool = slow_batch()
    got: list[Preview] = []

    async def consume(cache: Cache) -> None:
        async with contextlib.aclosing(stream([*fast, *slow], pool, cache=cache)) as results:
            async for record in results:
                got.append(record)

    with Cache(db_path) as cache:
        task = asyncio.create_task(consume(cache))
        await until(lambda: len(got) == 2 and pool.in_flight == 8)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pending, errors, done = (rows(cache, s) for s in ("pending", "error", "processed"))
    assert (pending, sorted(errors), sorted(done), pool.closed) == ({}, slow, fast, True)
    assert {e.error.kind for e in errors.values() if e.error} == {ErrorKind.INTERRUPTED}


async def test_a_closed_consumer_saves_what_finished_and_interrupts_the_rest(
    db_path: Path,
) -> None:
    fast, slow, pool = slow_batch()
    with Cache(db_path) as cache:
        async with contextlib.aclosing(stream([*fast, *slow], pool, cache=cache)) as results:
            first = await asyncio.wait_for(anext(results), 5)
            await until(lambda: pool.in_flight == 8)
        pending, errors, done = (rows(cache, s) for s in ("pending", "error", "processed"))
    assert (pending, sorted(errors), first.url in done) == ({}, slow, True)


async def test_a_failing_input_stops_the_batch_with_its_own_error(db_path: Path) -> None:
    """Not an ExceptionGroup: the CLI tells input and cache errors by their type."""
    fast, slow, pool = slow_batch()

    def lines() -> Iterator[str]:
        yield from [*fast, slow[0]]
        time.sleep(0.1)  # (the URLs above are handed out meanwhile)
        raise OSError("the disk went away")

    with Cache(db_path) as cache:
        with pytest.raises(OSError, match="the disk went away"):
            await collect(lines(), pool, cache=cache, read_chunk=1)
        pending, errors = rows(cache, "pending"), rows(cache, "error")
    assert (pending, list(errors), pool.closed) == ({}, [slow[0]], True)
