"""Worker processes that each fetch and parse a share of the URLs.

Parsing is the CPU cost of a batch. Rather than shipping every page body
(hundreds of kB) to a parsing pool, each worker runs the whole
fetch → parse → record path with its own event loop and aiohttp session: only
URLs go out and records come back, so every core works and the main process
stays free for input, the cache and output.

The caps are split between the workers, so their sum never exceeds the run's
`concurrency` and `per_host`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import multiprocessing
import os
import pickle
import signal
import struct
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .config import Settings
from .record import ErrorInfo, Preview, Status, internal_error
from .zygote import default_workers

if TYPE_CHECKING:
    from .zygote import Zygote

__all__ = ["ShardPool", "default_workers", "from_wire", "share", "to_wire", "worker_count"]

# What a worker is sent: a list of (id, url), or None to finish.
Job = list[tuple[int, str]] | None

_STATUSES = {status.value: status for status in Status}


def to_wire(record: Preview) -> bytes:
    """A record as a worker sends it back: its JSON object (orjson), which crosses a pipe
    several times cheaper than a pickle of the dataclass and its nested values; a pickle
    when orjson refuses something in it (a lone surrogate, an integer beyond 64 bits)."""
    try:
        return orjson.dumps(record.to_dict())
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


def share(total: int, parts: int, index: int) -> int:
    """Worker `index`'s part of `total` when split as evenly as possible."""
    return total // parts + (1 if index < total % parts else 0)


def worker_count(settings: Settings, wanted: int) -> int:
    """No more workers than the per-host cap can feed (each needs at least one slot)."""
    return max(0, min(wanted, settings.per_host, settings.concurrency))


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Frames:
    """Reads what a `Connection.send` at the other end of a pipe wrote, without blocking.

    Each message is multiprocessing's frame (a 4-byte big-endian length, or -1 and an
    8-byte one, then a pickle). `read()` takes whatever the pipe holds in one system call
    and returns the complete messages in it; None once the writer is gone and all is read.
    (`Connection.poll()` builds a selector on every call: too slow for one per record.)
    """

    __slots__ = ("_buffer", "_chunk", "_eof", "fd")

    def __init__(self, conn: Connection) -> None:
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        self._buffer = bytearray()
        # read into one buffer kept for the purpose: os.read(fd, 1 MiB) maps and unmaps a
        # fresh megabyte on every call
        self._chunk = memoryview(bytearray(1 << 20))
        self._eof = False

    def read(self) -> list[Any] | None:
        chunk = self._chunk
        while not self._eof:
            try:
                size = os.readv(self.fd, (chunk,))
            except BlockingIOError:
                break
            if not size:
                self._eof = True
            self._buffer += chunk[:size]
            if size < len(chunk):
                break
        messages: list[Any] = []
        buffer, pos = self._buffer, 0
        while len(buffer) - pos >= 4:
            (size,) = struct.unpack_from("!i", buffer, pos)
            start = pos + 4
            if size == -1:
                if len(buffer) - start < 8:
                    break
                (size,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if len(buffer) - start < size:
                break
            messages.append(pickle.loads(memoryview(buffer)[start : start + size]))
            pos = start + size
        del buffer[:pos]
        if self._eof and not messages:
            return None
        return messages


class _Outbox:
    """Messages for one pipe, sent together once per turn of the event loop."""

    __slots__ = ("_items", "_loop", "conn", "failed")

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self._loop = loop
        self._items: list[Any] = []
        self.failed = False

    def put(self, item: Any) -> None:
        if not self._items:
            self._loop.call_soon(self.flush)
        self._items.append(item)

    def flush(self) -> None:
        items, self._items = self._items, []
        if items and not self.failed:
            try:
                self.conn.send(items)
            except OSError:
                self.failed = True


def _worker_main(
    jobs: Connection, results: Connection, settings: Settings, inherited: tuple[int, ...] = ()
) -> None:
    """A worker process: previews the URLs it is sent until told to stop.

    `inherited`: descriptors a forked worker got from its parent and must not keep (the
    other workers' pipes: holding them would hide from a worker that its parent is gone).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    from . import extract, fetch, pipeline  # noqa: F401  - the heavy imports, once

    # Each page allocates thousands of short-lived objects (trees, dicts): collect the
    # young generation less often, and never scan what was imported at start.
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    asyncio.run(_serve(jobs, results, settings))


async def _serve(jobs: Connection, results: Connection, settings: Settings) -> None:
    from .fetch import open_session
    from .pipeline import Previewer

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Job] = asyncio.Queue()
    frames = _Frames(jobs)
    outbox = _Outbox(results, loop)

    def readable() -> None:
        try:
            messages = frames.read()
        except (OSError, ValueError, pickle.UnpicklingError):
            messages = None
        if messages is None:
            loop.remove_reader(frames.fd)
            inbox.put_nowait(None)  # the main process went away
            return
        for message in messages:
            inbox.put_nowait(message)

    loop.add_reader(frames.fd, readable)
    tasks: set[asyncio.Task[None]] = set()

    async def one(previewer: Previewer, job_id: int, url: str) -> None:
        try:
            record = await previewer.run(url)
        except Exception as exc:  # a bug must cost one URL, not the worker
            record = internal_error(url, exc)
        outbox.put((job_id, to_wire(record)))

    try:
        async with open_session(settings) as session:
            previewer = Previewer(settings, session)
            while (job := await inbox.get()) is not None:
                for job_id, url in job:
                    task = asyncio.create_task(one(previewer, job_id, url))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(frames.fd)
        outbox.flush()
        jobs.close()
        results.close()


@contextlib.contextmanager
def _no_main_module() -> Iterator[None]:
    """Start workers without re-running the caller's script in them.

    multiprocessing's spawn and forkserver import the parent's `__main__` in every
    child, so a script that calls `preview_many` without an `if __name__ ==
    "__main__":` guard would run itself again in each worker. The workers need
    nothing from `__main__` (their code lives in this package), so they are
    started while `__main__` is a blank module.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class _ProcessHandle(Protocol):
    """What the pool needs of a worker process (a `multiprocessing` one, or a zygote's)."""

    @property
    def pid(self) -> int | None: ...
    def is_alive(self) -> bool: ...
    def join(self, timeout: float | None = None) -> None: ...
    def terminate(self) -> None: ...


@dataclass(slots=True)
class _Launched:
    """A started worker process and this end of its two pipes."""

    process: _ProcessHandle
    jobs: Connection  # we write (lists of (id, url), or None to finish)
    results: Connection  # we read (lists of (id, record))


@dataclass
class _Worker:
    launched: _Launched
    frames: _Frames
    outbox: _Outbox
    waiting: dict[int, asyncio.Future[Preview]] = field(default_factory=dict)
    alive: bool = True


class ShardPool:
    """`await pool.run(url)` previews `url` in whichever worker has the least to do."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.size = worker_count(settings, workers)
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._starting: asyncio.Task[None] | None = None
        self._launched: list[_Launched] = []
        self._zygote: Zygote | None = None

    def settings_for(self, index: int) -> Settings:
        """Worker `index`'s settings: its share of the caps."""
        return self.settings.but(
            concurrency=share(self.settings.concurrency, self.size, index),
            per_host=share(self.settings.per_host, self.size, index),
            parse_workers=0,
        )

    def adopt(self, zygote: Zygote | None) -> bool:
        """Have `zygote` (see `zygote.py`) launch the workers; False (and the zygote is let
        go) when there is none or it cannot launch as many as this pool needs."""
        if zygote is None:
            return False
        if self._launched or not 0 < self.size <= zygote.capacity:
            zygote.dismiss()
            return False
        for process, jobs, results in zygote.launch(
            [self.settings_for(i) for i in range(self.size)]
        ):
            self._launched.append(_Launched(process, jobs, results))
        self._zygote = zygote
        return True

    def fork_now(self) -> bool:
        """Start the workers now as forks of this process; False if that is not safe here.

        A fork starts at once with everything this process has imported, and nothing is
        imported twice, so the workers are busy within milliseconds. It is safe only while
        this process has no other thread and no event loop: call it at the start of a
        program (the CLI does, before it opens the cache). Elsewhere (`start`) the workers
        start from a fresh interpreter instead.
        """
        if (
            self._launched
            or self.size < 1
            or sys.platform != "linux"
            or threading.active_count() > 1
            or _running_loop()
        ):
            return False
        from . import extract, fetch, pipeline  # noqa: F401  - what the workers run, imported once

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self._launch(multiprocessing.get_context("fork"))
        return True

    async def start(self) -> None:
        """Start the workers (once; later calls wait for the first)."""
        if self._starting is None:
            self._starting = asyncio.create_task(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        if not self._launched:
            # A fresh interpreter (forkserver, else spawn), never a fork of this process
            # with its threads and event loop. Each imports aiohttp and lxml itself.
            context: ForkServerContext | SpawnContext
            if "forkserver" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("forkserver")
            else:
                context = multiprocessing.get_context("spawn")
            with _no_main_module():
                self._launch(context)
        loop = asyncio.get_running_loop()
        for launched in self._launched:
            worker = _Worker(launched, _Frames(launched.results), _Outbox(launched.jobs, loop))
            self._workers.append(worker)
            loop.add_reader(worker.frames.fd, self._readable, worker)

    def _launch(self, context: ForkContext | ForkServerContext | SpawnContext) -> None:
        """Create and start the worker processes (their pipes are attached by `_start`)."""
        forked = context.get_start_method() == "fork"
        for index in range(self.size):
            mine = self.settings_for(index)
            jobs_in, jobs_out = context.Pipe(duplex=False)
            results_in, results_out = context.Pipe(duplex=False)
            # a forked worker closes this process's ends of every pipe, its own included
            ours = [jobs_out, results_in]
            for other in self._launched:
                ours += [other.jobs, other.results]
            inherited = tuple(conn.fileno() for conn in ours) if forked else ()
            process = context.Process(
                target=_worker_main,
                args=(jobs_in, results_out, mine, inherited),
                daemon=True,
                name=f"og-preview-{index}",
            )
            process.start()
            jobs_in.close()
            results_out.close()
            self._launched.append(_Launched(process, jobs_out, results_in))

    def _readable(self, worker: _Worker) -> None:
        try:
            messages = worker.frames.read()
        except (OSError, ValueError, pickle.UnpicklingError):
            messages = None
        if messages is None:
            self._lost(worker)
            return
        for message in messages:
            for job_id, wire in message:
                future = worker.waiting.pop(job_id, None)
                if future is None or future.done():
                    continue
                try:
                    future.set_result(from_wire(wire))
                except Exception as exc:  # a record that does not read back costs its URL only
                    future.set_exception(
                        RuntimeError(f"a worker sent an unreadable record: {exc!r}")
                    )

    def _lost(self, worker: _Worker) -> None:
        """A worker died: its URLs end as errors, the others carry on."""
        worker.alive = False
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(worker.frames.fd)
        for future in worker.waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("a worker process stopped unexpectedly"))
        worker.waiting.clear()

    async def run(self, url: str) -> Preview:
        await self.start()
        alive = [w for w in self._workers if w.alive]
        if not alive:
            return internal_error(url, "no worker process left")
        worker = min(alive, key=lambda w: len(w.waiting))
        job_id = next(self._ids)
        future: asyncio.Future[Preview] = asyncio.get_running_loop().create_future()
        worker.waiting[job_id] = future
        worker.outbox.put((job_id, url))  # sent with the others handed out in this turn
        try:
            return await future
        except RuntimeError as exc:  # the worker died, or sent what does not read back
            return internal_error(url, str(exc))
        finally:
            worker.waiting.pop(job_id, None)

    async def close(self) -> None:
        """Tell the workers to finish, then make sure they are gone (a few seconds at most)."""
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            with contextlib.suppress(Exception):
                loop.remove_reader(worker.frames.fd)
        await asyncio.to_thread(self.shutdown)

    def shutdown(self) -> None:
        """Stop the workers, started or only launched, without an event loop."""
        for launched in self._launched:
            with contextlib.suppress(OSError):
                launched.jobs.send(None)
        for launched in self._launched:
            launched.process.join(2.0)
            if launched.process.is_alive():
                launched.process.terminate()
                launched.process.join(1.0)
            for conn in (launched.jobs, launched.results):
                with contextlib.suppress(OSError):
                    conn.close()
        self._launched.clear()
        self._workers.clear()
        if self._zygote is not None:
            self._zygote.reap()  # it exits once its workers have
