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
import signal
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess

from .config import Settings
from .record import ErrorKind, Preview, error_preview

# What a worker is sent: a list of (id, url), or None to finish.
Job = list[tuple[int, str]] | None


def default_workers() -> int:
    """One worker per core; none on a single core (everything runs in the loop)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if cores and cores > 1 else 0


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


def _worker_main(conn: Connection, settings: Settings, inherited: tuple[int, ...] = ()) -> None:
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
    asyncio.run(_serve(conn, settings))


async def _serve(conn: Connection, settings: Settings) -> None:
    from .fetch import open_session
    from .pipeline import Previewer

    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Job] = asyncio.Queue()

    def readable() -> None:
        try:
            while conn.poll():
                inbox.put_nowait(conn.recv())
        except (EOFError, OSError):
            inbox.put_nowait(None)  # the main process went away

    loop.add_reader(conn.fileno(), readable)
    tasks: set[asyncio.Task[None]] = set()

    async def one(previewer: Previewer, job_id: int, url: str) -> None:
        try:
            record = await previewer.run(url)
        except Exception as exc:  # a bug must cost one URL, not the worker
            record = error_preview(url, ErrorKind.CONNECT, f"internal error: {exc!r}")
        with contextlib.suppress(OSError):
            conn.send((job_id, record))

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
        loop.remove_reader(conn.fileno())
        conn.close()


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


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
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
        self._processes: list[tuple[BaseProcess, Connection]] = []  # started, not attached

    def fork_now(self) -> bool:
        """Start the workers now as forks of this process; False if that is not safe here.

        A fork starts at once with everything this process has imported, and nothing is
        imported twice, so the workers are busy within milliseconds. It is safe only while
        this process has no other thread and no event loop: call it at the start of a
        program (the CLI does, before it opens the cache). Elsewhere (`start`) the workers
        start from a fresh interpreter instead.
        """
        if (
            self._processes
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
        if not self._processes:
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
        for process, parent in self._processes:
            worker = _Worker(process=process, conn=parent)
            self._workers.append(worker)
            loop.add_reader(parent.fileno(), self._readable, worker)

    def _launch(self, context: ForkContext | ForkServerContext | SpawnContext) -> None:
        """Create and start the worker processes (their pipes are attached by `_start`)."""
        for index in range(self.size):
            mine = self.settings.but(
                concurrency=share(self.settings.concurrency, self.size, index),
                per_host=share(self.settings.per_host, self.size, index),
                parse_workers=0,
            )
            parent, child = context.Pipe()
            forked = context.get_start_method() == "fork"
            inherited = tuple(conn.fileno() for _p, conn in self._processes) if forked else ()
            process = context.Process(
                target=_worker_main,
                args=(child, mine, inherited),
                daemon=True,
                name=f"og-preview-{index}",
            )
            process.start()
            child.close()
            self._processes.append((process, parent))

    def _readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                job_id, record = worker.conn.recv()
                future = worker.waiting.pop(job_id, None)
                if future is not None and not future.done():
                    future.set_result(record)
        except (EOFError, OSError):
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker died: its URLs end as errors, the others carry on."""
        worker.alive = False
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        for future in worker.waiting.values():
            if not future.done():
                future.set_exception(RuntimeError("a worker process stopped unexpectedly"))
        worker.waiting.clear()

    async def run(self, url: str) -> Preview:
        await self.start()
        alive = [w for w in self._workers if w.alive]
        if not alive:
            return error_preview(url, ErrorKind.CONNECT, "internal error: no worker process left")
        worker = min(alive, key=lambda w: len(w.waiting))
        job_id = next(self._ids)
        future: asyncio.Future[Preview] = asyncio.get_running_loop().create_future()
        worker.waiting[job_id] = future
        try:
            worker.conn.send([(job_id, url)])
        except OSError:
            self._lost(worker)
        try:
            return await future
        except RuntimeError as exc:
            return error_preview(url, ErrorKind.CONNECT, f"internal error: {exc}")
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
                loop.remove_reader(worker.conn.fileno())
        await asyncio.to_thread(self.shutdown)

    def shutdown(self) -> None:
        """Stop the workers, started or only launched, without an event loop."""
        for _process, conn in self._processes:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process, conn in self._processes:
            process.join(2.0)
            if process.is_alive():
                process.terminate()
                process.join(1.0)
            with contextlib.suppress(OSError):
                conn.close()
        self._processes.clear()
        self._workers.clear()
