"""The public API of a run: `preview`, `preview_many`, `preview_all`, `parse_saved`.

Flow per URL: normalise → cache hit? → fetch → parse → record → save. Where each part
lives: the record rules in `records.py`, one URL's fetch → parse → record in
`previewer.py` (run here, in worker processes by `pool.py`, or on Dask by `cluster.py`),
the batch's tasks, back-pressure and saving in `scheduler.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import TYPE_CHECKING

from ..config import Settings
from ..extract.deadline import ParseTimeout, time_limit
from ..record import ErrorKind, Preview, error_preview
from ..urls import InvalidURL, normalise, printable
from .previewer import Previewer
from .records import interrupted_record, invalid_record, parse_timeout_message, saved_page_record
from .scheduler import SAVE_EVERY, SAVE_RECORDS, Run, Scheduler, cached_many, input_chunks, save

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from ..store.cache import Cache
    from .pool import WorkerPool

__all__ = [
    "SAVE_EVERY",
    "SAVE_RECORDS",
    "cached_many",
    "interrupted_record",
    "invalid_record",
    "parse_saved",
    "preview",
    "preview_all",
    "preview_many",
    "runner",
    "save",
    "worker_pool",
]

_input_chunks = input_chunks  # (the name `cluster.py` imports)


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
    before they are yielded; URLs waiting for a fetch are `pending` rows in the cache, and
    `interrupted` ones if the batch stops first (Ctrl-C, the generator closed).

    Consume it inside `contextlib.aclosing(...)`. `pool`: the worker processes to use
    (`worker_pool(settings)`, maybe launched early with `launch()`); it is closed at the end.
    """
    settings = settings or Settings()
    async with runner(settings, pool) as run:
        scheduler = Scheduler(run, settings, cache)
        scheduler.start(lines, read_chunk)
        try:
            while (group := await scheduler.next_group()) is not None:
                for record in group:
                    yield record
        finally:
            await scheduler.stop()


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
    return saved_page_record(key, extraction)
