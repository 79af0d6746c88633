"""`preview()` and `preview_many()`: the only place with tasks and semaphores.

Flow per URL: normalise → cache hit? → fetch → parse → record (`previewer.py`) → save.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..extract.deadline import ParseTimeout, time_limit
from ..record import ErrorKind, Preview, Status, error_preview, internal_error
from ..urls import InputURL, InvalidURL, iter_inputs, normalise, printable
from .previewer import Previewer, build_record, now_iso, parse_timeout_message

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from ..store.cache import Cache
    from .pool import WorkerPool

__all__ = [
    "Previewer",
    "build_record",
    "now_iso",
    "parse_saved",
    "preview",
    "preview_all",
    "preview_many",
    "worker_pool",
]

Run = Callable[[str], Awaitable[Preview]]


def worker_pool(settings: Settings) -> WorkerPool | None:
    """The worker processes `settings` asks for (one per core by default, see `pool`),
    not started yet; None when URLs are to be previewed in this process's event loop
    (`parse_workers` 0, or one core)."""
    from .pool import WorkerPool, default_workers, worker_count

    wanted = default_workers() if settings.parse_workers is None else settings.parse_workers
    return WorkerPool(settings, wanted) if worker_count(settings, wanted) >= 1 else None


@contextlib.asynccontextmanager
async def runner(settings: Settings, pool: WorkerPool | None = None) -> AsyncIterator[Run]:
    """Where URLs are previewed: `pool` (or the `worker_pool` of `settings`), or this
    process's event loop when there is none. The pool is closed on exit."""
    pool = pool or worker_pool(settings)
    if pool is not None:
        try:
            yield pool.run
        finally:
            await pool.close()
        return
    from ..net.fetch import open_session

    async with open_session(settings) as session:
        yield Previewer(settings, session).run


def cached_many(urls: list[str], cache: Cache | None, settings: Settings) -> dict[str, Preview]:
    """The fresh processed cache rows of `urls` (none with `--refresh` or no cache)."""
    if cache is None or settings.refresh or not urls:
        return {}
    return cache.lookup_many(urls, max_age=settings.max_age)


def interrupted_record(url: str) -> Preview:
    """A URL the batch stopped before finishing: fetched again when the batch is rerun."""
    return error_preview(
        url, ErrorKind.INTERRUPTED, "the batch stopped before this URL finished; run it again"
    )


def invalid_record(item: InputURL) -> Preview:
    return error_preview(item.raw, ErrorKind.INVALID_URL, item.problem or "invalid URL")


def _storable(record: Preview) -> bool:
    """Everything but input that was never a URL (its text is no cache key)."""
    return record.error is None or record.error.kind is not ErrorKind.INVALID_URL


def save(cache: Cache | None, records: list[Preview]) -> list[Preview]:
    """Save `records` in one transaction; return what to report for each, in order."""
    if cache is None:
        return records
    stored = iter(cache.save_many([r for r in records if _storable(r)]))
    return [next(stored) if _storable(r) else r for r in records]


async def preview(
    url: str,
    *,
    settings: Settings | None = None,
    cache: Cache | None = None,
    session: ClientSession | None = None,
) -> Preview:
    """Preview one URL: from the cache when fresh, else fetched and saved. Never raises
    for anything the URL or its server does: failures are records with an error."""
    settings = settings or Settings()
    try:
        key = normalise(url)
    except InvalidURL as exc:
        return error_preview(printable(url.strip()), ErrorKind.INVALID_URL, str(exc))
    hit = cached_many([key], cache, settings).get(key)
    if hit is not None:
        return hit
    if session is None:
        from ..net.fetch import open_session

        async with open_session(settings) as own:
            record = await Previewer(settings, own).run(key)
    else:
        record = await Previewer(settings, session).run(key)
    return save(cache, [record])[0]


async def _input_chunks(lines: Iterable[str], chunk: int) -> AsyncIterator[list[InputURL]]:
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


# Finished records are saved (one transaction) and yielded in groups: at most this many,
# held at most this long. A commit per record cost more than the rest of the main process.
SAVE_EVERY = 0.05
SAVE_RECORDS = 256


async def preview_many(
    lines: Iterable[str],
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    read_chunk: int = 256,
    pool: WorkerPool | None = None,
) -> AsyncGenerator[Preview, None]:
    """Preview every URL in `lines` (raw input lines, streamed), yielding one record per
    distinct input as each finishes (within `SAVE_EVERY` seconds). Bounded: at most
    `settings.concurrency` pages in flight, `settings.per_host` per host. Records are saved
    before they are yielded; URLs waiting for a fetch are `pending` rows in the cache.

    Consume it inside `contextlib.aclosing(...)`. `pool`: the worker processes to use
    (`worker_pool(settings)`, maybe launched early with `launch()`); it is closed at the end.
    """
    settings = settings or Settings()
    loop = asyncio.get_running_loop()
    # The connectors cap requests on the network at `concurrency` (and `per_host`); twice
    # as many URLs are handed out so a connection freed while its page is being parsed
    # takes the next URL at once instead of waiting for the parse and the round trip.
    sem = asyncio.Semaphore(2 * settings.concurrency)
    finished: deque[Preview] = deque()
    waiter: asyncio.Future[None] | None = None  # set while the generator waits
    tasks: set[asyncio.Task[None]] = set()
    held: list[Preview] = []  # finished, not saved yet
    held_since = 0.0
    sent = got = 0
    waiting: set[str] = set()  # marked pending in the cache, not finished yet

    def wake(_: object = None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def finish(record: Preview) -> None:
        finished.append(record)
        waiting.discard(record.url)
        wake()

    async def one(run: Run, url: str) -> None:
        try:
            record = await run(url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must cost one URL, not the batch
            record = internal_error(url, exc)
        finally:
            sem.release()
        finish(record)

    def ready(force: bool = False) -> list[Preview]:
        """The held records, saved in one transaction, once there are enough of them or the
        oldest has waited long enough (or `force`); then they may be yielded."""
        nonlocal got, held_since
        if finished:
            if not held:
                held_since = loop.time()
            held.extend(finished)
            finished.clear()
        if not held or not (
            force or len(held) >= SAVE_RECORDS or loop.time() - held_since >= SAVE_EVERY
        ):
            return []
        records = held.copy()
        held.clear()
        got += len(records)
        return save(cache, records)

    async def pause(also: asyncio.Future[Any] | None = None) -> None:
        """Until a record finishes, `also` is done, or the held records fall due."""
        nonlocal waiter
        if finished or (also is not None and also.done()):
            return
        waiter = loop.create_future()
        timer = (
            loop.call_later(max(0.0, held_since + SAVE_EVERY - loop.time()), wake) if held else None
        )
        if also is not None:
            also.add_done_callback(wake)
        try:
            await waiter
        finally:
            waiter = None
            if timer is not None:
                timer.cancel()
            if also is not None:
                also.remove_done_callback(wake)

    async with runner(settings, pool) as run:
        chunks = _input_chunks(lines, read_chunk)
        reading: asyncio.Future[list[InputURL] | None] = asyncio.ensure_future(anext(chunks, None))
        try:
            while True:
                # Records that finish while the input is slow to come (a pipe delivering
                # a line now and then) are yielded at once, not when the next line arrives.
                while not reading.done():
                    await pause(reading)
                    for record in ready():
                        yield record
                chunk = reading.result()
                if chunk is None:
                    break
                reading = asyncio.ensure_future(anext(chunks, None))
                to_fetch: list[str] = []
                hits = cached_many([i.url for i in chunk if i.url is not None], cache, settings)
                for item in chunk:
                    sent += 1
                    if item.url is None:
                        finish(invalid_record(item))
                    elif (hit := hits.get(item.url)) is not None:
                        finish(hit)
                    else:
                        to_fetch.append(item.url)
                if cache is not None and to_fetch:
                    cache.mark_pending(to_fetch)
                    waiting.update(to_fetch)
                for url in to_fetch:
                    # back-pressure: the input waits for a slot (every fetch that finishes
                    # frees one), and finished records are yielded meanwhile
                    while sem.locked():
                        await pause()
                        for record in ready():
                            yield record
                    await sem.acquire()  # free now: taken at once, no suspension
                    task = asyncio.create_task(one(run, url))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                for record in ready():
                    yield record
            while got < sent:
                if not finished:
                    await pause()
                for record in ready(force=got + len(held) + len(finished) >= sent):
                    yield record
        finally:
            reading.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(reading, *tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                ready(force=True)  # finished but not yet saved: keep them
            if waiting:  # stopped early (Ctrl-C, a closed pipe): no row stays `pending`
                with contextlib.suppress(Exception):
                    save(cache, [interrupted_record(url) for url in waiting])


async def preview_all(
    urls: Iterable[str],
    *,
    settings: Settings | None = None,
    cache: Cache | None = None,
) -> list[Preview]:
    """Preview a few URLs concurrently over one session; results in input order."""
    from ..net.fetch import open_session

    settings = settings or Settings()
    async with open_session(settings) as session:
        return list(
            await asyncio.gather(
                *(preview(u, settings=settings, cache=cache, session=session) for u in urls)
            )
        )


def parse_saved(
    body: bytes,
    url: str,
    *,
    include_jsonld: bool = True,
    parse_timeout: float | None = 10.0,
) -> Preview:
    """The record for a page saved on disk, `url` being its address (no network).

    `parse_timeout`: seconds the extraction may take (None: no limit), else the record is
    an error of kind `parse_timeout` (enforced in the main thread only: see `deadline`)."""
    from ..extract.metadata import extract_bytes

    try:
        key = normalise(url)
    except InvalidURL as exc:
        raise ValueError(str(exc)) from None
    try:
        with time_limit(parse_timeout):
            extraction = extract_bytes(body, key, include_jsonld=include_jsonld)
    except ParseTimeout as exc:
        return error_preview(key, ErrorKind.PARSE_TIMEOUT, parse_timeout_message(exc.seconds))
    if extraction.challenge:
        return error_preview(key, ErrorKind.CHALLENGE, "bot challenge page instead of the content")
    return Preview(url=key, status=Status.PROCESSED, **extraction.metadata.as_fields())
