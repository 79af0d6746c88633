"""A worker process of the local pool (`pool.py`): previews the URLs it is sent.

Each worker runs the whole fetch → parse → record path with its own event loop and
aiohttp session. It reads lists of (id, url) from one pipe and writes lists of (id,
record as `to_wire` bytes) to another, batching what one turn of its event loop
produced into one message; an empty list is a heartbeat, sent every `HEARTBEAT`
seconds so the main process can tell a stuck loop from a busy one.

`worker_main` is the process's target: the forkserver imports this module (see
`pool.PRELOAD`) and pickles the target by reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import signal
from multiprocessing.connection import Connection

import orjson

from ..config import Settings
from ..record import ErrorInfo, Preview, Status, Validators, internal_error

__all__ = ["HEARTBEAT", "Job", "from_wire", "to_wire", "worker_main"]

# What a worker is sent: a list of (id, url), or None to finish. What it sends back: a
# What a worker is sent: a list of (id, URL, the cached copy's validators or None), or
# None to finish. It answers with lists of (id, record as `to_wire` bytes); an empty list
# is a heartbeat.
Job = list[tuple[int, str, Validators | None]] | None
HEARTBEAT = 1.0  # seconds between a worker's heartbeats

_STATUSES = {status.value: status for status in Status}


def to_wire(record: Preview) -> bytes:
    """A record as a worker sends it back: its JSON object (orjson), which crosses a pipe
    several times cheaper than a pickle of the dataclass and its nested values; a pickle
    when orjson refuses something in it (a lone surrogate, an integer beyond 64 bits)."""
    try:
        return orjson.dumps(record.to_dict(internal=True))
    except (TypeError, ValueError):
        return pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)


def from_wire(data: bytes) -> Preview:
    """The record `to_wire` sent."""
    if data[:1] != b"{":
        record: Preview = pickle.loads(data)
        return record
    values = orjson.loads(data)
    values["status"] = _STATUSES[values["status"]]
    if values["error"] is not None:
        values["error"] = ErrorInfo.from_dict(values["error"])
    return Preview(**values)


def worker_main(jobs: Connection, results: Connection, settings: Settings) -> None:
    """A worker process: previews the URLs it is sent until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    from . import previewer  # noqa: F401  - preloaded by the forkserver

    # Each page allocates thousands of short-lived objects: collect the young generation
    # less often, and never scan what was imported at start.
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    asyncio.run(_serve(jobs, results, settings))


class _Outbox:
    """Records for the main process, sent together once per turn of the event loop."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self._loop = loop
        self._items: list[tuple[int, bytes]] = []
        self._queued = False
        self.failed = False

    def put(self, item: tuple[int, bytes]) -> None:
        self._items.append(item)
        if not self._queued:
            self._queued = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        items, self._items, self._queued = self._items, [], False
        if not self.failed:
            try:
                self.conn.send(items)  # (an empty list: a heartbeat)
            except (OSError, ValueError):
                self.failed = True


async def _serve(jobs: Connection, results: Connection, settings: Settings) -> None:
    from ..net.fetch import open_session
    from .previewer import Previewer

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Job] = asyncio.Queue()
    outbox = _Outbox(results, loop)

    def readable() -> None:
        try:
            while jobs.poll():
                inbox.put_nowait(jobs.recv())
        except (EOFError, OSError, pickle.UnpicklingError):
            loop.remove_reader(jobs.fileno())
            inbox.put_nowait(None)  # the main process went away

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            outbox.flush()

    async def one(
        previewer: Previewer, job_id: int, url: str, validators: Validators | None
    ) -> None:
        try:
            record = await previewer.run(url, validators)
        except Exception as exc:  # a bug must cost one URL, not the worker
            record = internal_error(url, exc)
        outbox.put((job_id, to_wire(record)))

    loop.add_reader(jobs.fileno(), readable)
    tasks: set[asyncio.Task[None]] = set()
    heart = asyncio.create_task(beat())
    try:
        async with open_session(settings) as session:
            previewer = Previewer(settings, session)
            while (job := await inbox.get()) is not None:
                for job_id, url, validators in job:
                    task = asyncio.create_task(one(previewer, job_id, url, validators))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            for task in [heart, *tasks]:
                task.cancel()
            await asyncio.gather(heart, *tasks, return_exceptions=True)
            await previewer.aclose()
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(jobs.fileno())
        outbox.flush()
        jobs.close()
        results.close()
