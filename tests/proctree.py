"""Measuring a subprocess: wall time, and peak memory of its whole process tree (Linux)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        parents[int(name)] = int(raw[raw.rfind(b")") + 2 :].split()[1])
    return parents


def _field_kb(path: str, name: str) -> int:
    """A `Name:   123 kB` line of a /proc file, in bytes; 0 when absent."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def tree_memory(root: int) -> tuple[int, int]:
    """(sum of VmRSS, sum of PSS) over `root` and its descendants, in bytes.

    RSS counts the pages forked workers share with their parent once per
    process; PSS splits shared pages between their sharers (0 where the
    kernel does not report it).
    """
    pids = tree_pids(root)
    rss = sum(_field_kb(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
    pss = sum(_field_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
    return rss, pss


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall: float  # seconds
    peak_rss: int  # bytes: the peak of the sum of VmRSS over the whole process tree
    peak_pss: int  # bytes: the same for PSS


def pin_to(cpus: int) -> Callable[[], None]:
    """A `preexec_fn` giving the child (at most) `cpus` of the CPUs this process may use.

    og-preview starts one worker process per usable core, so a memory bound for
    its process tree only means something for a known number of cores.
    """
    chosen = set(sorted(os.sched_getaffinity(0))[:cpus])

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def run_measured(
    cmd: list[str],
    stdin: str,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cpus: int | None = None,
) -> Measured:
    """Run `cmd` (on `cpus` CPUs), sampling the memory of its process tree every ~20 ms."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=pin_to(cpus) if cpus else None,
    )
    peak_rss = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.wait(0.02):
            rss, pss = tree_memory(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        done.set()
        sampler.join(5)
    wall = time.monotonic() - started
    return Measured(proc.returncode, stdout, stderr, wall, peak_rss, peak_pss)
