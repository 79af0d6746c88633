"""Worker processes for `og-preview batch`, made ready while the command line is read.

Before a batch fetches its first URL, two things take time: reading the command line
(Typer, ~0.25 s) and importing what the workers run (aiohttp, lxml, ~0.25 s). They need
not wait for each other. As the program starts, before Typer is imported, `start()`
forks a *zygote*: it imports the worker code while the main process reads its options,
then forks the workers once it is told their settings (`Zygote.launch`). Nothing is
imported twice, and every worker is the fork of a process with no thread, no event loop
and no open file but its pipes.

The pipes between the main process and each worker are made before the zygote is
forked, so URLs can be handed out before the workers exist. A zygote that is not needed
(`--workers 0`, an error in the options) sees its control pipe close and exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from .config import Settings

__all__ = ["Zygote", "start", "take", "wanted_capacity"]

_current: Zygote | None = None


def wanted_capacity(argv: Sequence[str]) -> int:
    """How many workers a zygote should be ready for, for this command line; 0: none.

    Only `og-preview batch` uses workers; `--workers N` (or `-w N`) asks for N, and one
    per core is the default. Anything unclear is 0: the batch then starts its workers
    the usual way, a little later.
    """
    args = list(argv[1:])
    command = next((a for a in args if not a.startswith("-")), None)
    if command != "batch" or "--help" in args:
        return 0
    wanted: int | None = None
    for index, arg in enumerate(args):
        value: str | None = None
        if arg in ("--workers", "-w") and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        elif arg.startswith("-w") and arg[2:].isdigit():
            value = arg[2:]
        if value is not None:
            if not value.strip().isdigit():
                return 0
            wanted = int(value)
    if wanted is None:
        wanted = default_workers()
    return min(wanted, 64)


def default_workers() -> int:
    """One worker per core; none on a single core (everything runs in the loop).

    (Here rather than in `shards`, whose imports would delay the zygote's fork.)"""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if cores and cores > 1 else 0


class _Grandchild:
    """A worker the zygote forked: what `ShardPool` needs of a `multiprocessing.Process`."""

    def __init__(self, zygote: Zygote, index: int) -> None:
        self._zygote = zygote
        self._index = index

    @property
    def pid(self) -> int | None:
        pids = self._zygote.worker_pids()
        return pids[self._index] if self._index < len(pids) else None

    def is_alive(self) -> bool:
        pid = self.pid
        if pid is None:
            return False
        try:
            stat = open(f"/proc/{pid}/stat", "rb").read()  # noqa: SIM115 - read at once
        except OSError:
            return False
        return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")

    def join(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def terminate(self) -> None:
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


class Zygote:
    """The main process's side of a zygote: its pid, control pipe and the workers' pipes."""

    def __init__(
        self, pid: int, control: int, report: int, pipes: list[tuple[Connection, Connection]]
    ) -> None:
        self.pid = pid
        self._control: int | None = control  # we write the settings, then close it
        self._report = report  # the zygote writes the workers' pids
        self.pipes = pipes  # per worker: (jobs we write, results we read)
        self._pids: list[int] | None = None
        self._reaped = False

    @property
    def capacity(self) -> int:
        return len(self.pipes)

    def launch(self, settings: list[Settings]) -> list[tuple[_Grandchild, Connection, Connection]]:
        """Fork one worker per entry of `settings` (at most `capacity`); returns, for each,
        its process handle, its jobs pipe and its results pipe. Does not wait for them."""
        count = len(settings)
        if self._control is None or not 0 < count <= self.capacity:
            raise ValueError("this zygote cannot launch that many workers")
        message = pickle.dumps(settings)
        try:
            _write_all(self._control, message)
        finally:
            os.close(self._control)
            self._control = None
        for jobs, results in self.pipes[count:]:  # pipes of workers that will not exist
            jobs.close()
            results.close()
        return [
            (_Grandchild(self, i), jobs, results)
            for i, (jobs, results) in enumerate(self.pipes[:count])
        ]

    def worker_pids(self) -> list[int]:
        """The workers' pids, once the zygote has forked them ([] if it never does)."""
        if self._pids is None:
            data = _read_all(self._report, timeout=30.0)
            os.close(self._report)
            try:
                self._pids = list(pickle.loads(data)) if data else []
            except Exception:
                self._pids = []
        return self._pids

    def dismiss(self) -> None:
        """Not needed: let the zygote go (it exits when its control pipe closes)."""
        if self._control is not None:
            os.close(self._control)
            self._control = None
            for jobs, results in self.pipes:
                jobs.close()
                results.close()
        self.reap(timeout=5.0)

    def reap(self, timeout: float = 5.0) -> None:
        """Wait for the zygote (it exits after its workers); kill it if it is stuck."""
        if self._reaped:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, _status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                break
            if time.monotonic() >= deadline:
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGTERM)  # it takes its workers along
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, 0)
                break
            time.sleep(0.01)
        self._reaped = True
        if self._pids is None:
            with contextlib.suppress(OSError):
                os.close(self._report)
            self._pids = []


def start(capacity: int) -> Zygote | None:
    """Fork a zygote ready to launch up to `capacity` workers (Linux; None elsewhere, or
    when `capacity` is 0). Call it first thing, while the process has no thread."""
    global _current
    if capacity < 1 or sys.platform != "linux" or _current is not None:
        return None
    import multiprocessing

    context = multiprocessing.get_context("fork")
    pipes: list[tuple[Connection, Connection]] = []  # ours: (jobs out, results in)
    theirs: list[tuple[Connection, Connection]] = []  # the workers': (jobs in, results out)
    for _ in range(capacity):
        jobs_in, jobs_out = context.Pipe(duplex=False)
        results_in, results_out = context.Pipe(duplex=False)
        pipes.append((jobs_out, results_in))
        theirs.append((jobs_in, results_out))
    control_r, control_w = os.pipe()
    report_r, report_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    pid = os.fork()
    if pid == 0:  # the zygote
        os.close(control_w)
        os.close(report_r)
        for jobs_out, results_in in pipes:
            jobs_out.close()
            results_in.close()
        _zygote_main(control_r, report_w, theirs)
    os.close(control_r)
    os.close(report_w)
    for jobs_in, results_out in theirs:
        jobs_in.close()
        results_out.close()
    _current = Zygote(pid, control_w, report_r, pipes)
    atexit.register(_dismiss_unused)
    return _current


def _dismiss_unused() -> None:
    """At exit: a zygote nobody took (the command failed early) is let go."""
    zygote = take()
    if zygote is not None:
        zygote.dismiss()


def take() -> Zygote | None:
    """The zygote `start` made, for the one caller that uses it (or dismisses it)."""
    global _current
    zygote, _current = _current, None
    return zygote


def _zygote_main(control: int, report: int, pipes: list[tuple[Connection, Connection]]) -> NoReturn:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
        # stdin and stdout are the main process's: a pipe reading our output must see its
        # end when the main process ends, whatever the workers do (stderr stays shared)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        children: list[int] = []

        def stop(_signum: int, _frame: object) -> None:
            for child in children:
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGTERM)
            os._exit(1)

        signal.signal(signal.SIGTERM, stop)
        from .tls import import_aiohttp

        import_aiohttp()  # without loading certificates into contexts nobody uses
        from . import extract, fetch, pipeline  # noqa: F401  - what the workers run
        from .shards import _worker_main

        data = _read_all(control)
        os.close(control)
        settings: list[Settings] = pickle.loads(data) if data else []
        for index, mine in enumerate(settings[: len(pipes)]):
            child = os.fork()
            if child == 0:  # a worker
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.close(report)
                for other, (jobs_in, results_out) in enumerate(pipes):
                    if other != index:
                        jobs_in.close()
                        results_out.close()
                worker_code = 0
                try:
                    _worker_main(*pipes[index], mine)
                except BaseException:
                    worker_code = 1
                os._exit(worker_code)
            children.append(child)
        for jobs_in, results_out in pipes:
            jobs_in.close()
            results_out.close()
        with contextlib.suppress(OSError):
            _write_all(report, pickle.dumps(children))
        os.close(report)
        for child in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
    except BaseException:
        code = 1
    os._exit(code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_all(fd: int, timeout: float | None = None) -> bytes:
    """Everything until the writer closes `fd` (or `timeout` seconds pass)."""
    import select

    chunks: list[bytes] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
