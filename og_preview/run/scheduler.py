"""The batch scheduler behind `preview_many`: the only place with tasks and semaphores.

A batch has three parts, each read top to bottom:

- the feeder (`Scheduler._feed`, a task of its own) reads the input in chunks from a
  thread, gives invalid lines and fresh cache hits their records at once, marks the
  other URLs `pending` in the cache, and starts a task per URL in a `TaskGroup`, at
  most twice `concurrency` at a time;
- a URL's task (`Scheduler._preview`) previews it and puts its record on the `done`
  queue, whatever happens: a bug costs that URL an `internal` record, never the batch;
- the caller takes the finished records in groups (`Scheduler.next_group`), each saved in
  one transaction before it is yielded: at most `SAVE_RECORDS` records, held at most
  `SAVE_EVERY` seconds, so records come out while the input is slow to arrive.

`Scheduler.stop`, always called, ends the batch: on an early stop (Ctrl-C, a consumer
that closed the generator, an error) the finished records are saved and every URL still
waiting becomes an `interrupted` record, so no row stays `pending`. `cluster.py` runs
batches on Dask with the input and cache helpers defined here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from ..config import Settings
from ..record import ErrorKind, Preview, Validators, internal_error
from ..urls import InputURL, iter_inputs
from .records import interrupted_record, invalid_record

if TYPE_CHECKING:
    from ..store.cache import Cache

__all__ = [
    "SAVE_EVERY",
    "SAVE_RECORDS",
    "Run",
    "Scheduler",
    "cached_many",
    "input_chunks",
    "save",
    "validators_many",
]

# url, its cached copy's validators → its record (`Previewer.run`, `WorkerPool.run`)
Run = Callable[[str, Validators | None], Awaitable[Preview]]

# Finished records are saved (one transaction) and yielded in groups: at most this many,
# held at most this long. A commit per record cost more than the rest of the main process.
SAVE_EVERY = 0.05
SAVE_RECORDS = 256


async def input_chunks(lines: Iterable[str], chunk: int) -> AsyncGenerator[list[InputURL], None]:
    """Read (possibly blocking) input in a thread, a chunk at a time."""
    items: Iterator[InputURL] = iter_inputs(lines)

    def take() -> list[InputURL]:
        out: list[InputURL] = []
        for item in items:
            out.append(item)
            if len(out) >= chunk:
                break
        return out

    while batch := await asyncio.to_thread(take):
        yield batch


def cached_many(urls: list[str], cache: Cache | None, settings: Settings) -> dict[str, Preview]:
    """The fresh processed cache rows of `urls` (none with `--refresh` or no cache)."""
    if cache is None or settings.refresh or not urls:
        return {}
    hits = cache.lookup_many(urls, max_age=settings.max_age)
    if settings.check_images:  # a preview whose image was never checked is fetched again
        hits = {url: hit for url, hit in hits.items() if not _unchecked(hit)}
    return hits


def _unchecked(record: Preview) -> bool:
    return record.ok and bool(record.image) and record.image_check is None


def validators_many(
    urls: list[str], cache: Cache | None, settings: Settings
) -> dict[str, Validators]:
    """The validators of the stale processed cache rows of `urls` (all of their processed
    rows with `--refresh`): their refetch is conditional, and a `304` keeps the record."""
    if cache is None or not urls:
        return {}
    max_age = timedelta(0) if settings.refresh else settings.max_age
    stale = cache.stale_many(urls, max_age=max_age)
    return {
        url: (row.etag, row.last_modified)
        for url, row in stale.items()
        if (row.etag is not None or row.last_modified is not None)
        and not (settings.check_images and _unchecked(row))  # (its image needs the page)
    }


def _storable(record: Preview) -> bool:
    """Everything but input that was never a URL (its text is no cache key)."""
    return record.error is None or record.error.kind is not ErrorKind.INVALID_URL


def save(cache: Cache | None, records: list[Preview]) -> list[Preview]:
    """Save `records` in one transaction; return what to report for each, in order."""
    if cache is None:
        return records
    stored = iter(cache.save_many([r for r in records if _storable(r)]))
    return [next(stored) if _storable(r) else r for r in records]


class _Ended:
    """Put on the `done` queue when the feeder has ended: after the last record, or when
    reading the input or the cache failed (then `next_group` raises what failed)."""


class Scheduler:
    """One `preview_many` batch: `start`, then `next_group` until None, then `stop`."""

    def __init__(self, run: Run, settings: Settings, cache: Cache | None) -> None:
        self._run = run
        self._settings = settings
        self._cache = cache
        # The connectors cap requests on the network at `concurrency` (and `per_host`);
        # twice as many URLs are handed out so a connection freed while its page is being
        # parsed takes the next URL at once instead of waiting for the parse and the round
        # trip.
        self._slots = asyncio.Semaphore(2 * settings.concurrency)
        # Finished records, in the order they finished, then `_Ended`. At most `_room` of
        # them wait for the caller: a caller slow to take them holds up the URL tasks
        # (their slots) and the input, as it would if it ran the batch itself.
        self._done: asyncio.Queue[Preview | _Ended] = asyncio.Queue()
        self._room = asyncio.Semaphore(SAVE_RECORDS)
        self._waiting: set[str] = set()  # marked pending in the cache, not finished yet
        self._validators: dict[str, Validators] = {}  # of the stale rows being refetched
        self._held: list[Preview] = []  # taken off the queue, not saved yet
        self._due = 0.0  # (loop time) when the held records are to be saved and yielded
        self._feeder: asyncio.Task[None] | None = None
        self._ended = False

    # -- the feeder and the URL tasks

    def start(self, lines: Iterable[str], read_chunk: int) -> None:
        """Start handing out `lines` (raw input lines, read `read_chunk` at a time)."""
        self._feeder = asyncio.create_task(self._feed(lines, read_chunk))
        self._feeder.add_done_callback(lambda _: self._done.put_nowait(_Ended()))

    async def _feed(self, lines: Iterable[str], read_chunk: int) -> None:
        """Every input line its record: at once for invalid lines and fresh cache hits, by
        a task of `previews` for the other URLs. Ends when every task has."""
        try:
            async with (
                asyncio.TaskGroup() as previews,
                contextlib.aclosing(input_chunks(lines, read_chunk)) as chunks,
            ):
                async for chunk in chunks:
                    for url in await self._admit(chunk):
                        await self._slots.acquire()  # back-pressure: a URL that ends frees one
                        validators = self._validators.pop(url, None)
                        previews.create_task(self._preview(url, validators))
        except ExceptionGroup as failed:  # the input or the cache (a URL's task never raises)
            raise failed.exceptions[0] from None

    async def _admit(self, chunk: list[InputURL]) -> list[str]:
        """Put the records of the chunk's invalid lines and fresh cache hits on the queue;
        return its other URLs, marked `pending` in the cache, to be previewed."""
        hits = cached_many([i.url for i in chunk if i.url is not None], self._cache, self._settings)
        to_fetch: list[str] = []
        for item in chunk:
            if item.url is None:
                await self._put(invalid_record(item))
            elif (hit := hits.get(item.url)) is not None:
                await self._put(hit)
            else:
                to_fetch.append(item.url)
        if self._cache is not None and to_fetch:
            self._validators.update(validators_many(to_fetch, self._cache, self._settings))
            self._cache.mark_pending(to_fetch)
            self._waiting.update(to_fetch)
        return to_fetch

    async def _preview(self, url: str, validators: Validators | None) -> None:
        """One URL's task. It must not raise: an exception in one task of a `TaskGroup`
        cancels all the others, so a bug becomes this URL's `internal` record."""
        try:
            try:
                record = await self._run(url, validators)
            except asyncio.CancelledError as exc:
                if _being_cancelled():  # (the batch is stopping)
                    raise
                record = internal_error(url, exc)  # a callee's own cancellation, not ours
            except Exception as exc:
                record = internal_error(url, exc)
            await self._room.acquire()
        finally:
            self._slots.release()
        self._done.put_nowait(record)
        self._waiting.discard(url)

    async def _put(self, record: Preview) -> None:
        await self._room.acquire()
        self._done.put_nowait(record)

    # -- the caller's side

    async def next_group(self) -> list[Preview] | None:
        """The next group of finished records, saved in one transaction, in the order they
        finished; None once every input line has had its record. Raises what failed when
        reading the input or the cache failed."""
        if self._ended:
            return None
        loop = asyncio.get_running_loop()
        while True:
            item = await self._take()
            if isinstance(item, Preview):
                if not self._held:
                    self._due = loop.time() + SAVE_EVERY
                self._held.append(item)
                if len(self._held) < SAVE_RECORDS and loop.time() < self._due:
                    continue
            elif isinstance(item, _Ended):
                self._ended = True
                assert self._feeder is not None
                self._feeder.result()  # raises what failed, if anything did
                if not self._held:
                    return None
            # (None: the held records are due)
            group, self._held = self._held, []
            return save(self._cache, group)

    async def _take(self) -> Preview | _Ended | None:
        """The next item of the queue, or None if the held records fall due first."""
        if not self._done.empty():
            item = self._done.get_nowait()
        elif not self._held:
            item = await self._done.get()
        else:
            try:
                async with asyncio.timeout_at(self._due):
                    item = await self._done.get()
            except TimeoutError:
                return None
        if isinstance(item, Preview):
            self._room.release()
        return item

    async def stop(self) -> None:
        """End the batch: the feeder and its URL tasks are cancelled (all done already,
        unless the batch stopped early) and waited for; the records that finished are saved,
        and every URL still waiting as an `interrupted` record. A cancellation of the
        caller (Ctrl-C) goes on once this is done: it is never swallowed."""
        if self._feeder is not None:
            self._feeder.cancel()
            await asyncio.wait([self._feeder])  # (`wait`: its CancelledError is not ours)
            if not self._feeder.cancelled():
                self._feeder.exception()  # (seen by `next_group`, or of no use to a caller gone)
        finished, self._held = self._held, []
        while not self._done.empty():
            if isinstance(item := self._done.get_nowait(), Preview):
                finished.append(item)
        with contextlib.suppress(Exception):
            save(self._cache, finished)
        if self._waiting:  # stopped early: no row stays `pending`
            with contextlib.suppress(Exception):
                save(self._cache, [interrupted_record(url) for url in self._waiting])


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
