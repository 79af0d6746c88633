"""`preview()` and `preview_many()`: the only place with tasks and semaphores.

Flow per URL: normalise → cache hit? → fetch → parse → record → save.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .config import Settings
from .deadline import ParseTimeout, time_limit
from .hostgate import HostGate
from .record import ErrorKind, Metadata, Preview, Status, error_preview, internal_error
from .urls import InputURL, InvalidURL, iter_inputs, normalise, printable

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from .cache import Cache
    from .extract import Extraction
    from .fetch import FetchResult
    from .pool import WorkerPool

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MEDIA_PREFIXES = ("image/", "video/", "audio/")
CHALLENGE_STATUSES = frozenset({403, 429, 503})


_now: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The current UTC time, to the second (formatted once a second)."""
    global _now
    second = int(time.time())
    if second != _now[0]:
        _now = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _now[1]


def is_html(content_type: str | None) -> bool:
    return content_type is None or content_type in HTML_TYPES


def _file_name(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def media_record(fetched: FetchResult, fetched_at: str) -> Preview:
    """An image or video URL is its own preview, as the big unfurlers show it."""
    kind = (fetched.content_type or "").split("/", 1)[0]
    og = {f"og:{kind}": fetched.final_url} if kind in ("video", "audio") else {}
    return Preview(
        url=fetched.url,
        final_url=fetched.final_url,
        status=Status.PROCESSED,
        http_status=fetched.http_status,
        content_type=fetched.content_type,
        title=_file_name(fetched.final_url),
        image=fetched.final_url if kind == "image" else None,
        images=[_image(fetched.final_url, fetched.content_type)] if kind == "image" else [],
        type=kind,
        og=og,
        attempts=fetched.attempts,
        fetched_at=fetched_at,
    )


def _image(url: str, content_type: str | None) -> dict[str, object]:
    return {
        "url": url,
        "secure_url": None,
        "type": content_type,
        "width": None,
        "height": None,
        "alt": None,
    }


def _usable(meta: Metadata) -> bool:
    return bool(meta.title or meta.description or meta.image or meta.og or meta.twitter)


def build_record(fetched: FetchResult, extraction: Extraction | None, fetched_at: str) -> Preview:
    """One fetch (and its extraction, for HTML) → the record, error kinds decided here."""
    common = {
        "final_url": fetched.final_url,
        "attempts": fetched.attempts,
        "fetched_at": fetched_at,
        "content_type": fetched.content_type,
    }
    if fetched.error is not None:
        return error_preview(
            fetched.url,
            fetched.error.kind,
            fetched.error.message,
            http_status=fetched.error.http_status or fetched.http_status,
            **common,  # type: ignore[arg-type]
        )
    status = fetched.http_status or 0
    if extraction is not None and extraction.challenge:
        return error_preview(
            fetched.url,
            ErrorKind.CHALLENGE,
            f"bot challenge page (HTTP {status}) instead of the content",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    if status >= 400:
        reason = f"HTTP {status}"
        if fetched.retry_after is not None and status in (429, 503):
            reason += f"; the server asked to retry after {fetched.retry_after:.0f}s"
        return error_preview(fetched.url, ErrorKind.HTTP, reason, http_status=status, **common)  # type: ignore[arg-type]
    if fetched.content_type and fetched.content_type.startswith(MEDIA_PREFIXES):
        return media_record(fetched, fetched_at)
    if not is_html(fetched.content_type) or extraction is None:
        return error_preview(
            fetched.url,
            ErrorKind.NOT_HTML,
            f"content type {fetched.content_type} is not HTML",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    meta = extraction.metadata
    if fetched.truncated and not _usable(meta):
        return error_preview(
            fetched.url,
            ErrorKind.TOO_LARGE,
            f"nothing usable in the first {len(fetched.body)} bytes",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    return Preview(
        url=fetched.url,
        status=Status.PROCESSED,
        http_status=status,
        error=None,
        from_cache=False,
        **common,  # type: ignore[arg-type]
        **meta.as_fields(),
    )


def parse_timeout_message(seconds: float) -> str:
    return f"extraction took longer than {seconds:g}s (--parse-timeout)"


def timed_out_record(fetched: FetchResult, fetched_at: str, seconds: float) -> Preview:
    """A page whose extraction ran past `--parse-timeout`, with what the fetch told."""
    return error_preview(
        fetched.url,
        ErrorKind.PARSE_TIMEOUT,
        parse_timeout_message(seconds),
        http_status=fetched.http_status,
        final_url=fetched.final_url,
        attempts=fetched.attempts,
        fetched_at=fetched_at,
        content_type=fetched.content_type,
    )


@functools.cache
def _fetch_and_extract() -> tuple[Callable[..., Awaitable[FetchResult]], Callable[..., Extraction]]:
    """`fetch.fetch` and `extract.extract_bytes`, imported on first use (aiohttp, lxml)."""
    from .extract import extract_bytes
    from .fetch import fetch

    return fetch, extract_bytes


class Previewer:
    """Fetch → parse → record for one URL, with a shared session and parser."""

    def __init__(self, settings: Settings, session: ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.gate = HostGate()

    async def run(self, url: str) -> Preview:
        fetch, extract_bytes = _fetch_and_extract()
        fetched = await fetch(url, self.session, self.settings, gate=self.gate)
        fetched_at = now_iso()
        extraction = None
        status = fetched.http_status or 0
        # parse HTML answers, and error pages too (a 403/503 may be a bot challenge)
        if (
            fetched.error is None
            and is_html(fetched.content_type)
            and (fetched.body or status < 400)
        ):
            try:
                with time_limit(self.settings.parse_timeout):
                    extraction = extract_bytes(
                        fetched.body,
                        fetched.final_url,
                        header_charset=fetched.charset,
                        content_language=fetched.content_language,
                        include_jsonld=self.settings.include_jsonld,
                    )
            except ParseTimeout:
                # an error page was parsed only to tell a bot challenge: it stays an `http`
                # error; a page that was to be previewed is a `parse_timeout`
                if status < 400:
                    return timed_out_record(fetched, fetched_at, self.settings.parse_timeout)
        return build_record(fetched, extraction, fetched_at)


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
    from .fetch import open_session

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
        from .fetch import open_session

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
    from .fetch import open_session

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
    from .extract import extract_bytes

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
