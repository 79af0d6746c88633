"""Where a `--cluster` batch runs, and the Dask client that reaches it.

`parse_address` reads the `--cluster` value (a scheduler's address, or `local[:N]`);
`connect` starts a LocalCluster when asked, opens an asynchronous `distributed.Client`
and checks that the scheduler and every worker run this og-preview (`check_versions`).
Dask is imported only here (`import_distributed`), and only when a batch runs with
`--cluster`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import Settings
from ..record import describe, one_line
from ..urls import InputError
from .pool import blank_main_module
from .shard import installed_version, version_problem

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "ClusterError",
    "Target",
    "check_versions",
    "connect",
    "import_distributed",
    "parse_address",
]

CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler
CLOSE_TIMEOUT = 10.0
NEEDS_DASK = "--cluster needs Dask: pip install 'og-preview[cluster]'"
USAGE = "use tcp://HOST:8786 (a Dask scheduler), local or local:N (N workers on this machine)"

_LOCAL = re.compile(r"local(?::(\d+))?", re.IGNORECASE)
_SCHEDULER = re.compile(
    r"(?:(?P<scheme>tcp|tls|ws|wss)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)"
    r"(?::(?P<port>\d{1,5}))?"
    r"|(?P<bare>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<bare_port>\d{1,5}))/?",
    re.IGNORECASE,
)


class ClusterError(InputError):
    """The cluster cannot be used (a bad address, no Dask, an unreachable scheduler, a
    version mismatch): a one-line message and exit code 2."""


@dataclass(frozen=True, slots=True)
class Target:
    """A scheduler's `address`, or (None) a LocalCluster of `workers` processes."""

    address: str | None
    workers: int = 0

    def __str__(self) -> str:
        return self.address or f"local:{self.workers}"


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def parse_address(text: str) -> Target:
    """`tcp://HOST:8786` (the port defaults to 8786; `HOST:PORT`, `tls://`, `ws://` too),
    `local` (a worker per core) or `local:N`. Raises `ClusterError`."""
    value = text.strip()
    if local := _LOCAL.fullmatch(value):
        workers = int(local.group(1)) if local.group(1) else _cores()
        if workers < 1:
            raise ClusterError(f"--cluster {text}: a local cluster needs at least 1 worker")
        return Target(None, workers)
    found = _SCHEDULER.fullmatch(value)
    if found is None:
        raise ClusterError(f"--cluster {text!r} is not a Dask scheduler address: {USAGE}")
    scheme = (found["scheme"] or "tcp").lower()
    host = found["host"] or found["bare"]
    port = int(found["port"] or found["bare_port"] or 8786)
    if not 0 < port < 65536:
        raise ClusterError(f"--cluster {text!r}: port {port} is out of range: {USAGE}")
    return Target(f"{scheme}://{host}:{port}")


def import_distributed() -> ModuleType:
    """`distributed`, or `ClusterError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(NEEDS_DASK) from None
    return distributed


@contextlib.asynccontextmanager
async def connect(target: Target, settings: Settings) -> AsyncIterator[Any]:
    """An asynchronous `distributed.Client` of `target` (a LocalCluster is started and
    stopped with it), with a worker ready and every worker's og-preview checked."""
    distributed = import_distributed()
    with _quiet_logs():
        cluster: Any = None
        client: Any = None
        try:
            if target.address is None:
                with _quiet_children():
                    cluster = await distributed.LocalCluster(
                        n_workers=target.workers,
                        threads_per_worker=1,
                        processes=True,
                        asynchronous=True,
                        dashboard_address="127.0.0.1:0",
                        silence_logs=logging.ERROR,
                    )
            timeout = max(settings.connect_timeout, CONNECT_TIMEOUT)
            try:
                client = await distributed.Client(
                    cluster or target.address,
                    asynchronous=True,
                    timeout=timeout,
                    set_as_default=False,
                )
            except (OSError, TimeoutError) as exc:
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {target} ({one_line(describe(exc))}): "
                    "is `dask scheduler` running there?"
                ) from None
            await client.wait_for_workers(1)
            await check_versions(client)
            yield client
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close(timeout=CLOSE_TIMEOUT)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    await cluster.close(timeout=CLOSE_TIMEOUT)


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Dask logs what its client notices (a connection closed as it shuts down, with a
    traceback) on stderr, among our messages: while a batch runs, only its errors."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _quiet_children() -> Iterator[None]:
    """Start a LocalCluster's worker processes ignoring SIGINT, and without re-running the
    caller's script in them.

    A Ctrl-C at a terminal goes to the whole process group: the workers would die with a
    traceback each, while this process stops them itself. They inherit SIGINT ignored (for
    the second or so the cluster takes to start, a Ctrl-C is ignored here too).
    multiprocessing's spawn imports the parent's `__main__` in every child, so a script
    without an `if __name__ == "__main__":` guard would run again in each worker; the
    workers need nothing from it, so they start while `__main__` is a blank module."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        previous = None
    try:
        with blank_main_module():
            yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


async def check_versions(client: Any) -> None:
    """`ClusterError` unless the scheduler and every worker run this og-preview version."""
    try:
        versions: dict[str, str] = await client.run(installed_version)
    except Exception as exc:
        raise ClusterError(
            f"the Dask workers cannot run og-preview ({one_line(describe(exc))}): "
            f"install og-preview {__version__} on every worker"
        ) from None
    for worker, version in sorted(versions.items()):
        if version != __version__:
            raise ClusterError(version_problem(__version__, version, f"the Dask worker {worker}"))
    try:  # the scheduler unpickles the tasks: it needs og-preview too
        version = await client.run_on_scheduler(installed_version)
    except Exception as exc:
        raise ClusterError(
            f"the Dask scheduler cannot load og-preview ({one_line(describe(exc))}): "
            f"install og-preview {__version__} on the scheduler too"
        ) from None
    if version != __version__:
        raise ClusterError(version_problem(__version__, version, "the Dask scheduler"))
