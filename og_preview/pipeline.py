"""`preview()` and `preview_many()`: the only place with tasks and semaphores.

Flow per URL: normalise → cache hit? → fetch → parse → record → save.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .config import Settings
from .hostgate import HostGate
from .record import ErrorKind, Metadata, Preview, Status, error_preview
from .urls import InputURL, InvalidURL, iter_inputs, normalise, printable

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from .cache import Cache
    from .extract import Extraction
    from .fetch import FetchResult

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MEDIA_PREFIXES = ("image/", "video/", "audio/")
CHALLENGE_STATUSES = frozenset({403, 429, 503})


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class Previewer:
    """Fetch → parse → record for one URL, with a shared session and parser."""

    def __init__(self, settings: Settings, session: ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.gate = HostGate()

    async def run(self, url: str) -> Preview:
        from .fetch import fetch

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
            from .extract import extract_bytes

            extraction = extract_bytes(
                fetched.body,
                fetched.final_url,
                header_charset=fetched.charset,
                content_language=fetched.content_language,
                include_jsonld=self.settings.include_jsonld,
            )
        return build_record(fetched, extraction, fetched_at)


Run = Callable[[str], Awaitable[Preview]]


@contextlib.asynccontextmanager
async def runner(settings: Settings) -> AsyncIterator[Run]:
    """Where URLs are previewed: worker processes (one per core by default, see
    `shards`), or this process's event loop when `parse_workers` is 0 or one core."""
    from .shards import ShardPool, default_workers, worker_count

    wanted = default_workers() if settings.parse_workers is None else settings.parse_workers
    if worker_count(settings, wanted) >= 1:
        pool = ShardPool(settings, wanted)
        try:
            yield pool.run
        finally:
            await pool.close()
        return
    from .fetch import open_session

    async with open_session(settings) as session:
        yield Previewer(settings, session).run


def cached(url: str, cache: Cache | None, settings: Settings) -> Preview | None:
    if cache is None or settings.refresh:
        return None
    return cache.lookup(url, max_age=settings.max_age)


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
    hit = cached(key, cache, settings)
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


async def preview_many(
    lines: Iterable[str],
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    read_chunk: int = 256,
) -> AsyncGenerator[Preview, None]:
    """Preview every URL in `lines` (raw input lines, streamed), yielding one record per
    distinct input as each finishes. Bounded: at most `settings.concurrency` pages in
    flight, `settings.per_host` per host. Records are saved before they are yielded;
    URLs waiting for a fetch are `pending` rows in the cache meanwhile.

    Consume it inside `contextlib.aclosing(...)`.
    """
    settings = settings or Settings()
    # The connectors cap requests on the network at `concurrency` (and `per_host`); twice
    # as many URLs are handed out so a connection freed while its page is being parsed
    # takes the next URL at once instead of waiting for the parse and the round trip.
    sem = asyncio.Semaphore(2 * settings.concurrency)
    done: asyncio.Queue[Preview] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()
    sent = got = 0

    async def one(run: Run, url: str) -> None:
        try:
            record = await run(url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must cost one URL, not the batch
            record = error_preview(url, ErrorKind.CONNECT, f"internal error: {exc!r}")
        finally:
            sem.release()
        await done.put(record)

    def ready() -> list[Preview]:
        """Everything finished so far, saved in one transaction; then it may be yielded."""
        nonlocal got
        records: list[Preview] = []
        while not done.empty():
            records.append(done.get_nowait())
        got += len(records)
        return save(cache, records) if records else records

    async with runner(settings) as run:
        chunks = _input_chunks(lines, read_chunk)
        reading: asyncio.Future[list[InputURL] | None] = asyncio.ensure_future(anext(chunks, None))
        try:
            while True:
                # Records that finish while the input is slow to come (a pipe delivering
                # a line now and then) are yielded at once, not when the next line arrives.
                while not reading.done():
                    getter: asyncio.Future[Preview] = asyncio.ensure_future(done.get())
                    racing: set[asyncio.Future[Any]] = {reading, getter}
                    await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        done.put_nowait(getter.result())
                    else:
                        getter.cancel()
                    for record in ready():
                        yield record
                chunk = reading.result()
                if chunk is None:
                    break
                reading = asyncio.ensure_future(anext(chunks, None))
                to_fetch: list[str] = []
                for item in chunk:
                    sent += 1
                    if item.url is None:
                        done.put_nowait(invalid_record(item))
                    elif (hit := cached(item.url, cache, settings)) is not None:
                        done.put_nowait(hit)
                    else:
                        to_fetch.append(item.url)
                if cache is not None and to_fetch:
                    cache.mark_pending(to_fetch)
                for url in to_fetch:
                    for record in ready():
                        yield record
                    await sem.acquire()  # back-pressure: input waits for a slot
                    task = asyncio.create_task(one(run, url))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                for record in ready():
                    yield record
            while got < sent:
                done.put_nowait(await done.get())
                for record in ready():
                    yield record
        finally:
            reading.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(reading, *tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                ready()  # finished but not yet saved: keep them


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


def parse_saved(body: bytes, url: str, *, include_jsonld: bool = True) -> Preview:
    """The record for a page saved on disk, `url` being its address (no network)."""
    from .extract import extract_bytes

    try:
        key = normalise(url)
    except InvalidURL as exc:
        raise ValueError(str(exc)) from None
    extraction = extract_bytes(body, key, include_jsonld=include_jsonld)
    if extraction.challenge:
        return error_preview(key, ErrorKind.CHALLENGE, "bot challenge page instead of the content")
    return Preview(url=key, status=Status.PROCESSED, **extraction.metadata.as_fields())
