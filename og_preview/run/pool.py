"""Worker processes that each fetch and parse a share of a batch's URLs.

Parsing is the CPU cost of a batch. Rather than shipping every page body (hundreds of
kB) to a parsing pool, each worker runs the whole fetch → parse → record path with its
own event loop and aiohttp session: only URLs go out and records come back, so every
core works and the main process stays free for input, the cache and output.

Workers are `multiprocessing` processes started one way, by the standard library's
forkserver (spawn where there is none), which imports what they run once
(`set_forkserver_preload`) and forks each worker from there: a fresh interpreter, never
a fork of the main process with its threads and event loop. Each worker talks over two
pipes (`multiprocessing.Pipe`): URLs in, records out, each side batching what one turn
of its event loop produced into one message. This module is the main process's side;
what runs in a worker is `worker.py`.

The caps are split between the workers, so their sum never exceeds the run's
`concurrency` and `per_host`. A worker that dies (killed, out of memory, a crash in C
code), or whose event loop stops answering for longer than the parse deadline allows,
is replaced; its URLs in flight are tried once more in another worker, then recorded
as kind `internal`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import pickle
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess

from ..config import Settings
from ..record import Preview, Validators, internal_error
from .worker import HEARTBEAT, from_wire, worker_main

__all__ = [
    "WorkerPool",
    "blank_main_module",
    "default_workers",
    "share",
    "warm_up",
    "worker_count",
]

# A worker whose loop has not answered for the parse deadline plus this is stuck.
STUCK_GRACE = 5.0
TRIES = 2  # a URL whose worker died is tried once more elsewhere
PRELOAD = [
    "og_preview.run.worker",
    "og_preview.run.previewer",
    "og_preview.net.fetch",
    "og_preview.extract.metadata",
]


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


@contextlib.contextmanager
def blank_main_module() -> Iterator[None]:
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


def _context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the forkserver now (its imports of what the workers run take ~0.7 s), so
    that it is ready by the time the batch has read its options and opened its cache.
    A forkserver that no batch uses exits with this process."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        _context()  # (sets the preload list)
        forkserver.ensure_running()


@dataclass(slots=True)
class _Job:
    url: str
    validators: Validators | None
    future: asyncio.Future[Preview]
    tries: int = 0


@dataclass(eq=False)
class _Worker:
    index: int
    process: BaseProcess
    jobs: Connection  # we write (lists of (id, url, validators), or None to finish)
    results: Connection  # we read (lists of (id, record))
    waiting: dict[int, _Job] = field(default_factory=dict)
    outgoing: list[tuple[int, str, Validators | None]] = field(default_factory=list)
    heard: float = 0.0  # the loop's time of the last message
    alive: bool = True


class WorkerPool:
    """`await pool.run(url)` previews `url` in whichever worker has the least to do."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.size = worker_count(settings, workers)
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self._launching: threading.Thread | None = None
        self._launched: list[_Worker] = []
        self._ready: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False
        self._lock = threading.Lock()

    def settings_for(self, index: int) -> Settings:
        """Worker `index`'s settings: its share of the caps."""
        return self.settings.but(
            concurrency=share(self.settings.concurrency, self.size, index),
            per_host=share(self.settings.per_host, self.size, index),
            parse_workers=0,
        )

    # -- starting

    def launch(self) -> None:
        """Start the worker processes in a background thread (the forkserver's imports
        take a while): call it early, e.g. before opening the cache; `run` waits."""
        if self._launching is None and self.size > 0:
            self._launching = threading.Thread(target=self._launch_all, daemon=True)
            self._launching.start()

    def _launch_all(self) -> None:
        with blank_main_module():
            for index in range(self.size):
                worker = self._start_process(index)
                with self._lock:
                    self._launched.append(worker)

    def _start_process(self, index: int) -> _Worker:
        context = _context()
        jobs_in, jobs_out = context.Pipe(duplex=False)
        results_in, results_out = context.Pipe(duplex=False)
        process = context.Process(
            target=worker_main,
            args=(jobs_in, results_out, self.settings_for(index)),
            daemon=True,
            name=f"og-preview-{index}",
        )
        process.start()
        jobs_in.close()
        results_out.close()
        return _Worker(index, process, jobs_out, results_in)

    async def start(self) -> None:
        """Start the workers (once; later calls wait for the first)."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start())
        await asyncio.shield(self._ready)

    async def _start(self) -> None:
        self.launch()
        if self._launching is not None:
            await asyncio.to_thread(self._launching.join)
        loop = asyncio.get_running_loop()
        with self._lock:
            launched = list(self._launched)
        for worker in launched:
            self._attach(worker, loop)
        self._watchdog = asyncio.ensure_future(self._watch())

    def _attach(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        worker.heard = loop.time()
        self._workers.append(worker)
        loop.add_reader(worker.results.fileno(), self._readable, worker)

    # -- running

    async def run(self, url: str, validators: Validators | None = None) -> Preview:
        await self.start()
        loop = asyncio.get_running_loop()
        job = _Job(url, validators, loop.create_future())
        self._send(job)
        return await job.future

    def _send(self, job: _Job) -> None:
        alive = [w for w in self._workers if w.alive]
        if not alive or job.tries >= TRIES:
            reason = "no worker process left" if not alive else "its worker process died"
            if not job.future.done():
                job.future.set_result(internal_error(job.url, reason))
            return
        job.tries += 1
        worker = min(alive, key=lambda w: len(w.waiting))
        job_id = next(self._ids)
        worker.waiting[job_id] = job
        if not worker.outgoing:
            asyncio.get_running_loop().call_soon(self._flush, worker)
        worker.outgoing.append((job_id, job.url, job.validators))  # sent with the others

    def _flush(self, worker: _Worker) -> None:
        items, worker.outgoing = worker.outgoing, []
        if items and worker.alive:
            try:
                worker.jobs.send(items)
            except (OSError, ValueError):
                self._lost(worker)

    def _readable(self, worker: _Worker) -> None:
        worker.heard = asyncio.get_running_loop().time()
        try:
            while worker.results.poll():
                for job_id, wire in worker.results.recv():
                    job = worker.waiting.pop(job_id, None)
                    if job is None or job.future.done():
                        continue
                    try:
                        job.future.set_result(from_wire(wire))
                    except Exception as exc:  # a record that does not read back costs one URL
                        job.future.set_result(
                            internal_error(job.url, f"a worker sent an unreadable record: {exc}")
                        )
        except (EOFError, OSError, pickle.UnpicklingError):
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker died or is stuck: replace it, and try its URLs once more elsewhere."""
        if not worker.alive:
            return
        worker.alive = False
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            loop.remove_reader(worker.results.fileno())
        with contextlib.suppress(Exception):
            worker.process.kill()
        for conn in (worker.jobs, worker.results):
            with contextlib.suppress(OSError):
                conn.close()
        jobs = list(worker.waiting.values())
        worker.waiting.clear()
        if self._closed:
            for job in jobs:
                if not job.future.done():
                    job.future.set_result(internal_error(job.url, "the worker pool closed"))
            return
        replacing = asyncio.ensure_future(self._replace(worker.index))
        replacing.add_done_callback(lambda _: self._resend(jobs))

    async def _replace(self, index: int) -> None:
        try:
            worker = await asyncio.to_thread(self._start_process, index)
        except Exception:  # no replacement: the others carry on
            return
        if self._closed:
            worker.process.kill()
            return
        self._attach(worker, asyncio.get_running_loop())

    def _resend(self, jobs: list[_Job]) -> None:
        for job in jobs:
            if not job.future.done():
                self._send(job)

    async def _watch(self) -> None:
        """Replace a worker whose event loop has stopped answering (a page holding it
        past the parse deadline, in code the deadline cannot interrupt)."""
        limit = self.settings.parse_timeout + STUCK_GRACE
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HEARTBEAT)
            now = loop.time()
            for worker in list(self._workers):
                if not worker.alive:
                    continue
                stuck = bool(worker.waiting) and now - worker.heard > limit
                if stuck or not worker.process.is_alive():
                    self._lost(worker)

    # -- stopping

    async def close(self) -> None:
        """Tell the workers to finish, then make sure they are gone (a few seconds at most)."""
        self._closed = True
        helpers = [t for t in (self._watchdog, self._ready) if t is not None and not t.done()]
        for task in helpers:
            task.cancel()
        if helpers:  # (`wait`, not `await task`: a Ctrl-C meanwhile still stops the batch)
            await asyncio.wait(helpers)
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            with contextlib.suppress(Exception):
                loop.remove_reader(worker.results.fileno())
        await asyncio.to_thread(self.shutdown)

    def shutdown(self) -> None:
        """Stop the workers, started or only launched, without an event loop."""
        self._closed = True
        if self._launching is not None:
            self._launching.join()
        with self._lock:
            workers = list({id(w): w for w in [*self._launched, *self._workers]}.values())
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                worker.jobs.send(None)
        for worker in workers:
            worker.process.join(2.0)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(1.0)
            for conn in (worker.jobs, worker.results):
                with contextlib.suppress(OSError):
                    conn.close()
        self._launched.clear()
        self._workers.clear()
