"""`og-preview watch`: keep the previews of a list of URLs fresh, and tell what changed.

Each URL is revalidated when it goes stale (`every` after it was last checked), with a
jitter of ± `jitter` times `every` so that URLs fetched together drift apart and a list is never
refreshed all at once; a URL whose cached preview is still fresh at start is first due at
a random point of the interval. Due URLs go through the batch scheduler in rounds, with
the same concurrency and per-host caps as a batch, and conditionally (`If-None-Match`,
`If-Modified-Since`: a `304` costs no body and no parse). `watch` yields a record each
time a URL's preview changed (`changed: true`), and the first preview of a URL the cache
did not have.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import AsyncGenerator, Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from ..config import Settings
from ..record import Preview
from ..urls import iter_inputs
from .scheduler import Scheduler

if TYPE_CHECKING:
    from ..store.cache import Cache
    from .pool import WorkerPool

__all__ = ["WatchStatus", "first_due", "is_news", "next_due", "watch"]

# At most this many due URLs are handed to one round (with twice `concurrency` in flight):
# a round ends and the next due ones are picked while the rest of a large list waits.
ROUND = 1024


@dataclass
class WatchStatus:
    """What a watch has done so far (for a live status line)."""

    watched: int = 0
    checked: int = 0
    revalidated: int = 0  # a 304 answered: unchanged, no body read
    changed: int = 0
    failed: int = 0
    rounds: int = 0
    next_due: float | None = None  # (loop time) when the next URL is due

    def add(self, record: Preview) -> None:
        self.checked += 1
        if record.error is not None and not record.ok:
            self.failed += 1
        elif record.last_error is not None:
            self.failed += 1  # a refetch failed; the good preview was kept
        elif record.revalidated:
            self.revalidated += 1
        if is_news(record):
            self.changed += 1


def first_due(
    urls: list[str], fresh: Collection[str], start: float, every: float, rng: random.Random
) -> list[tuple[float, str]]:
    """The first checks, as a heap of (time, URL): a URL whose preview is fresh at a
    random point of the interval (so a list is never refreshed all at once), the others
    at `start`."""
    due = [(start + (rng.uniform(0, every) if url in fresh else 0.0), url) for url in urls]
    heapq.heapify(due)
    return due


def next_due(now: float, every: float, jitter: float, rng: random.Random) -> float:
    """When a URL just checked is due again: `every` from `now`, ± `jitter` of it."""
    return now + every * (1 + rng.uniform(-jitter, jitter))


def is_news(record: Preview) -> bool:
    """A record `watch` reports: a changed preview, or the first one of a URL."""
    if record.changed:
        return True
    return record.changed is None and record.ok and not record.from_cache


async def watch(
    urls: Iterable[str],
    every: float,
    settings: Settings | None = None,
    cache: Cache | None = None,
    *,
    jitter: float = 0.1,
    status: WatchStatus | None = None,
    pool: WorkerPool | None = None,
    seed: int | None = None,
) -> AsyncGenerator[Preview, None]:
    """Revalidate every URL of `urls` each `every` seconds, for as long as the caller
    iterates; yield the records whose preview changed (see `is_news`). Invalid lines are
    skipped. `status` is kept up to date. Stop it by closing the iterator (or cancelling
    its task): the round under way is cut short as a batch is at Ctrl-C, with nothing
    left `pending` in the cache."""
    from .pipeline import runner

    if every <= 0:
        raise ValueError("watch: the interval must be positive")
    settings = settings or Settings()
    status = status if status is not None else WatchStatus()
    keys = [item.url for item in iter_inputs(urls) if item.url is not None]
    status.watched = len(keys)
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    start = loop.time()
    fresh = cache.lookup_many(keys, max_age=timedelta(seconds=every)) if cache else {}
    due = first_due(keys, fresh.keys(), start, every, rng)
    each_round = settings.but(max_age=timedelta(0), refresh=False)  # due: revalidate
    async with runner(settings, pool) as run:
        while due:
            status.next_due = due[0][0]
            wait = due[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(min(wait, 1.0))
                continue
            now = loop.time()
            batch: list[str] = []
            while due and due[0][0] <= now and len(batch) < ROUND:
                batch.append(heapq.heappop(due)[1])
            status.rounds += 1
            scheduler = Scheduler(run, each_round, cache)
            scheduler.start(batch, read_chunk=256)
            try:
                while (group := await scheduler.next_group()) is not None:
                    for record in group:
                        status.add(record)
                        heapq.heappush(due, (next_due(loop.time(), every, jitter, rng), record.url))
                        if is_news(record):
                            yield record
            finally:
                await scheduler.stop()
