"""The public API of a run: `preview`, `preview_many`, `preview_all`, their synchronous
`preview_sync` and `preview_all_sync`, and `parse_saved`.

Flow per URL: normalise → cache hit? → fetch → parse → record → save. Where each part
lives: the record rules in `records.py`, one URL's fetch → parse → record in
`previewer.py` (run here, in worker processes by `pool.py`, or on Dask by `cluster.py`),
the batch's tasks, back-pressure and saving in `scheduler.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import Settings
from ..record import ErrorKind, Preview, Validators, error_preview
from ..urls import InvalidURL, normalise, printable
from .previewer import Previewer
from .records import interrupted_record, invalid_record
from .saved import parse_saved
from .scheduler import (
    SAVE_EVERY,
    SAVE_RECORDS,
    Run,
    Scheduler,
    cached_many,
    input_chunks,
    save,
    validators_many,
)

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
    "preview_all_sync",
    "preview_many",
    "preview_sync",
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
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    session: ClientSession | None = None,
    stale_while_revalidate: bool = False,
    on_change: Callable[[Preview], object] | None = None,
) -> Preview:
    """Preview one URL: from the cache when fresh, else fetched and saved (a stale cached
    copy conditionally: a `304` keeps it). Never raises for anything the URL or its
    server does: failures are records with an error.

    `stale_while_revalidate`: a stale cached record is returned at once (its
    `from_cache` true, `changed` None: not checked yet) and refreshed in a task of the
    running loop, which calls `on_change(record)` when the refreshed preview changed."""
    settings = settings or Settings()
    try:
        key = normalise(url)
    except InvalidURL as exc:
        return error_preview(printable(url.strip()), ErrorKind.INVALID_URL, str(exc))
    hit = cached_many([key], cache, settings).get(key)
    if hit is not None:
        return hit
    validators = validators_many([key], cache, settings).get(key)
    if stale_while_revalidate and cache is not None and not settings.refresh:
        stale = cache.get(key)
        if stale is not None and stale.ok:
            task = asyncio.create_task(_fetch_one(key, validators, settings, cache, session))
            _REFRESHING.add(task)
            task.add_done_callback(functools.partial(_refreshed, on_change=on_change))
            return stale.with_changes(from_cache=True, changed=None)
    return await _fetch_one(key, validators, settings, cache, session)


async def _fetch_one(
    key: str,
    validators: Validators | None,
    settings: Settings,
    cache: Cache | None,
    session: ClientSession | None,
) -> Preview:
    if session is None:
        from ..net.fetch import open_session

        async with open_session(settings) as own:
            previewer = Previewer(settings, own)
            try:
                record = await previewer.run(key, validators)
            finally:
                await previewer.aclose()
    else:
        record = await Previewer(settings, session).run(key, validators)
    return save(cache, [record])[0]


# The background refreshes of `preview(stale_while_revalidate=True)`, kept referenced
# until done (the loop keeps only weak references to tasks).
_REFRESHING: set[asyncio.Task[Preview]] = set()


def _refreshed(
    task: asyncio.Task[Preview], *, on_change: Callable[[Preview], object] | None
) -> None:
    _REFRESHING.discard(task)
    if task.cancelled() or task.exception() is not None:
        return
    record = task.result()
    if on_change is not None and record.changed:
        on_change(record)


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
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    session: ClientSession | None = None,
) -> list[Preview]:
    """Preview a few URLs concurrently over one session (`session`, else one of its own);
    one record per URL, in input order. For many URLs, `preview_many` streams them."""
    settings = settings or Settings()
    if session is not None:
        return await _gather(urls, settings, cache, session)
    from ..net.fetch import open_session

    async with open_session(settings) as own:
        return await _gather(urls, settings, cache, own)


async def _gather(
    urls: Iterable[str], settings: Settings, cache: Cache | None, session: ClientSession
) -> list[Preview]:
    return list(await asyncio.gather(*(preview(u, settings, cache, session=session) for u in urls)))


T = TypeVar("T")


def _run_sync(name: str, instead: str, coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(coroutine())` for scripts and threads; refused, at once, inside a
    running event loop (blocking it would stop the very loop the caller runs on)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop runs in this thread: ours is the only one
        return asyncio.run(coroutine())
    raise RuntimeError(
        f"og_preview.{name}() cannot run inside a running event loop (async code, a "
        f"Jupyter notebook): use `await og_preview.{instead}(...)` there"
    )


def preview_sync(url: str, settings: Settings | None = None, cache: Cache | None = None) -> Preview:
    """`preview` for code that is not async (a script, a thread without a running loop):
    the record of one URL. Raises RuntimeError inside a running event loop: `await
    preview(...)` there."""
    return _run_sync("preview_sync", "preview", lambda: preview(url, settings, cache))


def preview_all_sync(
    urls: Iterable[str], settings: Settings | None = None, cache: Cache | None = None
) -> list[Preview]:
    """`preview_all` for code that is not async: one record per URL, in input order.
    Raises RuntimeError inside a running event loop: `await preview_all(...)` there."""
    return _run_sync("preview_all_sync", "preview_all", lambda: preview_all(urls, settings, cache))
