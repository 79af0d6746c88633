"""`og-preview batch --cluster`: the same batch on a Dask distributed cluster.

This process (the client) streams the input, consults the cache, saves every record
and prints it, exactly as a local batch does. Dask workers run `preview_shard` (in
`shard.py`): the fetch → parse → record path of the local worker processes, over a
shard of URLs with its own event loop and aiohttp session. Only URLs go out and records
come back.

Politeness across machines: URLs are grouped by *lane* (a stable hash of the host), a
shard holds URLs of one lane, and a lane has one task out at a time: every URL of one
host is fetched by one task at a time, whose connector holds `--per-host`. The
`--concurrency` cap is shared between the tasks that can run at once.

Memory stays flat on any input: at most `SHARD_SIZE` times as many URLs as there are
lanes wait here, and at most two tasks per worker thread are out. A worker that dies
costs a rerun of its task (Dask reschedules it, and `retries` covers failures); a task
that still fails gives its URLs records of kind `internal`, so every URL gets exactly
one record.

Reaching the cluster (`--cluster`'s address, the client, the version check) is
`dask_client.py`. Dask is imported only there, and only when a batch runs with `--cluster`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import zlib
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import Settings
from ..record import Preview, Validators, describe, internal_error, one_line
from ..store.schema import host_of
from .dask_client import ClusterError, Target, connect, import_distributed, parse_address
from .records import interrupted_record, invalid_record
from .scheduler import (
    SAVE_EVERY,
    SAVE_RECORDS,
    cached_many,
    input_chunks,
    save,
    validators_many,
)
from .shard import VersionMismatch, installed_version, preview_shard

if TYPE_CHECKING:
    from ..store.cache import Cache
    from ..urls import InputURL

__all__ = [
    "ClusterError",
    "Target",
    "VersionMismatch",
    "import_distributed",
    "installed_version",
    "parse_address",
    "preview_shard",
    "run_on_cluster",
]

SHARD_SIZE = 64  # URLs in one task at most
MIN_LANES = 64
LINGER = 0.2  # seconds a lane's first URL waits for the shard to fill, when input is slow
REFRESH = 10.0  # seconds between looks at the cluster's size
TASK_RETRIES = 2
FAILURES_IN_A_ROW = 3  # tasks failed for good, none finished between: the cluster is broken


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to send at once to a cluster with `threads` worker threads."""

    window: int  # tasks out at once
    task: Settings  # each task's settings: its share of the caps

    @classmethod
    def of(cls, settings: Settings, threads: int) -> Plan:
        threads = max(1, threads)
        running = min(threads, settings.concurrency)  # tasks that run at once, at most
        concurrency = max(1, settings.concurrency // running)
        per_host = min(settings.per_host, concurrency)
        return cls(
            window=min(2 * threads, settings.concurrency),
            task=settings.but(concurrency=concurrency, per_host=per_host),
        )


def host_key(url: str) -> str:
    """The host a URL connects to, as a lane sees it: loose IPv4 spellings (`127.1`,
    `0x7f.1`) are the dotted quad they mean, as they are when fetched."""
    host = host_of(url) or url
    if host[:1].isdigit():
        with contextlib.suppress(OSError):
            return socket.inet_ntoa(socket.inet_aton(host))
    return host


class Lanes:
    """URLs waiting to be sent, by lane (a stable hash of the host). A lane has at most
    one shard out at a time; whole shards go first, then lanes whose oldest URL has
    waited `linger` seconds (or any, when flushing)."""

    def __init__(self, count: int, shard_size: int = SHARD_SIZE, linger: float = LINGER) -> None:
        self.count = count
        self.shard_size = shard_size
        self.linger = linger
        self.queues: dict[int, deque[str]] = {}
        # idle lanes with URLs waiting, oldest first (dicts keep insertion order)
        self._since: dict[int, float] = {}
        self._full: dict[int, None] = {}  # idle lanes with a whole shard waiting
        self._busy: set[int] = set()
        self.waiting = 0  # URLs held

    def lane(self, url: str) -> int:
        return zlib.crc32(host_key(url).encode()) % self.count

    def add(self, url: str, now: float) -> None:
        lane = self.lane(url)
        queue = self.queues.get(lane)
        if queue is None:
            queue = self.queues[lane] = deque()
        queue.append(url)
        self.waiting += 1
        if lane not in self._busy:
            self._since.setdefault(lane, now)
            if len(queue) >= self.shard_size:
                self._full[lane] = None

    def due(self, now: float) -> float | None:
        """Seconds until the oldest idle lane's URLs should go anyway (None: none waits)."""
        if self._full:
            return 0.0
        for since in self._since.values():
            return max(0.0, since + self.linger - now)
        return None

    def take(self, now: float, flush: bool) -> tuple[int, list[str]] | None:
        """The next shard to send and its lane (now busy), or None."""
        if self._full:
            lane = next(iter(self._full))
        elif self._since:
            lane, since = next(iter(self._since.items()))
            if not flush and now - since < self.linger:
                return None
        else:
            return None
        queue = self.queues[lane]
        shard = [queue.popleft() for _ in range(min(len(queue), self.shard_size))]
        if not queue:
            del self.queues[lane]
        self._full.pop(lane, None)
        self._since.pop(lane, None)
        self._busy.add(lane)
        self.waiting -= len(shard)
        return lane, shard

    def release(self, lane: int, now: float) -> None:
        """`lane`'s shard is back: its next one may go."""
        self._busy.discard(lane)
        queue = self.queues.get(lane)
        if queue:
            self._since[lane] = now
            if len(queue) >= self.shard_size:
                self._full[lane] = None

    def held(self) -> Iterable[str]:
        for queue in self.queues.values():
            yield from queue


async def run_on_cluster(
    lines: Iterable[str],
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    address: str = "local",
    read_chunk: int = 256,
    shard_size: int = SHARD_SIZE,
) -> AsyncGenerator[Preview, None]:
    """`pipeline.preview_many` on a Dask cluster: every URL in `lines` (streamed, raw input
    lines), one record per distinct input, yielded as shards finish, saved before they are
    yielded (in groups, as `preview_many` saves them). `address`: see `parse_address`.
    Consume it inside `contextlib.aclosing(...)`. Raises `ClusterError` when the cluster
    cannot be used, or its tasks fail again and again."""
    settings = settings or Settings()
    target = parse_address(address)
    distributed = import_distributed()
    loop = asyncio.get_running_loop()
    async with connect(target, settings) as client:
        threads = sum((await client.nthreads()).values())
        plan, planned_at = Plan.of(settings, threads), loop.time()
        lanes = Lanes(max(MIN_LANES, 4 * plan.window), shard_size)
        most_waiting = lanes.count * shard_size
        completed = distributed.as_completed(loop=client.loop)
        out: dict[Any, tuple[int, list[str]]] = {}  # future → (lane, URLs)
        held: list[Preview] = []  # finished, not saved yet
        held_since = 0.0
        failed_in_a_row = 0
        abandoned: list[str] = []  # URLs of a task that failed as the run stopped
        validators: dict[str, Validators] = {}  # of the stale rows to refetch
        chunks = input_chunks(lines, read_chunk)
        reading: asyncio.Future[list[InputURL] | None] | None
        reading = asyncio.ensure_future(anext(chunks, None))
        completing: asyncio.Future[Any] | None = None

        def hold(records: list[Preview]) -> None:
            nonlocal held_since
            if records and not held:
                held_since = loop.time()
            held.extend(records)

        def admit(chunk: list[InputURL]) -> None:
            found: list[Preview] = []
            to_fetch: list[str] = []
            hits = cached_many([i.url for i in chunk if i.url is not None], cache, settings)
            for item in chunk:
                if item.url is None:
                    found.append(invalid_record(item))
                elif (hit := hits.get(item.url)) is not None:
                    found.append(hit)
                else:
                    to_fetch.append(item.url)
            hold(found)
            if cache is not None and to_fetch:
                validators.update(validators_many(to_fetch, cache, settings))
                cache.mark_pending(to_fetch)
            now = loop.time()
            for url in to_fetch:
                lanes.add(url, now)

        try:
            while True:
                now = loop.time()
                flush = reading is None or lanes.waiting >= most_waiting
                while len(out) < plan.window and (taken := lanes.take(now, flush)) is not None:
                    future = client.submit(
                        preview_shard,
                        taken[1],
                        plan.task,
                        validators={u: v for u in taken[1] if (v := validators.pop(u, None))},
                        expect_version=__version__,
                        retries=TASK_RETRIES,
                        pure=False,
                    )
                    out[future] = taken
                    completed.add(future)
                if held and (len(held) >= SAVE_RECORDS or now - held_since >= SAVE_EVERY):
                    records = held.copy()
                    held.clear()
                    for record in save(cache, records):
                        yield record
                waits: set[asyncio.Future[Any]] = set()
                if reading is not None and lanes.waiting < most_waiting:
                    waits.add(reading)
                if out:
                    if completing is None:
                        completing = asyncio.ensure_future(anext(completed))
                    waits.add(completing)
                if not waits:
                    break  # the input is read, and nothing waits or is out
                # a lane's URLs may go before its shard is whole, once a task may go out
                deadlines = [] if flush or len(out) >= plan.window else [lanes.due(now)]
                if held:
                    deadlines.append(max(0.0, held_since + SAVE_EVERY - now))
                await asyncio.wait(
                    waits,
                    timeout=min((d for d in deadlines if d is not None), default=None),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if reading is not None and reading.done():
                    chunk = reading.result()
                    reading = None if chunk is None else asyncio.ensure_future(anext(chunks, None))
                    if chunk is not None:
                        admit(chunk)
                if completing is not None and completing.done():
                    future = completing.result()
                    completing = None
                    lane, urls = out.pop(future)
                    records, failure = await _outcome(future, urls)
                    failed_in_a_row = 0 if failure is None else failed_in_a_row + 1
                    if failed_in_a_row >= FAILURES_IN_A_ROW:
                        abandoned.extend(urls)
                        raise ClusterError(
                            f"{failed_in_a_row} Dask tasks in a row failed (the last: {failure}):"
                            f" is og-preview {__version__} installed on the scheduler and every"
                            " worker? Finished URLs are cached: run again to resume"
                        )
                    hold(records)
                    lanes.release(lane, loop.time())
                    if loop.time() - planned_at > REFRESH:
                        threads = sum((await client.nthreads()).values())
                        plan, planned_at = Plan.of(settings, threads), loop.time()
            records = held.copy()
            held.clear()
            for record in save(cache, records):
                yield record
        finally:
            for task in (reading, completing):
                if task is not None:
                    task.cancel()
            await asyncio.gather(
                *(t for t in (reading, completing) if t is not None), return_exceptions=True
            )
            if out:
                with contextlib.suppress(Exception):
                    await client.cancel(list(out), force=True)
            with contextlib.suppress(Exception):
                save(cache, held)  # finished but not yet saved: keep them
            # stopped early (Ctrl-C, a closed pipe, an error): no row stays `pending`
            left = [url for _, urls in out.values() for url in urls]
            left.extend(lanes.held())
            left.extend(abandoned)
            if left:
                with contextlib.suppress(Exception):
                    save(cache, [interrupted_record(url) for url in left])


async def _outcome(future: Any, urls: list[str]) -> tuple[list[Preview], str | None]:
    """The records of a finished task, or `internal` ones for its URLs when it failed for
    good (a worker lost again and again, a task the cluster cannot run) and why."""
    try:
        rows: list[dict[str, Any]] = await future
    except VersionMismatch as exc:
        raise ClusterError(str(exc)) from None
    except Exception as exc:
        why = one_line(describe(exc))
        return [internal_error(url, f"the Dask task failed: {why}") for url in urls], why
    finally:
        future.release()
    return [Preview.from_dict(row) for row in rows], None
