"""Run one command and measure it: wall time, CPU of its whole process tree, RSS.

- CPU: `resource.getrusage(RUSAGE_CHILDREN)` deltas around the run. This process
  is made a *child subreaper* (Linux prctl), so a worker the contender leaves
  orphaned (a process pool's workers outlive their forkserver) is re-parented
  here and reaped by `run()`: its CPU is counted too, and nothing is left behind.
- RSS: every ~50 ms, the sum of VmRSS over the contender and all its
  descendants (from /proc); the peak of that sum and the timeline are kept.
  `main_maxrss_mb` is ru_maxrss of the contender's own process (wait4).
- Per-process CPU (utime+stime from /proc, last sample) grouped by role
  (main, pool workers, ...) to see which process is the bottleneck.
- Other load: CPU the rest of the machine used meanwhile (from /proc/stat,
  minus the contender and `watch_pids`), in cores: > 0.2 means a noisy run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PR_SET_CHILD_SUBREAPER = 36
MB = 1024 * 1024


def become_subreaper() -> bool:
    """Orphaned descendants of our children are re-parented to us (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@dataclass(slots=True)
class ProcInfo:
    ppid: int
    cpu: float  # utime + stime, seconds
    rss: int  # bytes


def read_proc(pid: int) -> ProcInfo | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    # after "(comm)": state ppid ... utime(11) stime(12) ... rss(21), in pages
    if fields[0] == b"Z":
        return None
    return ProcInfo(
        ppid=int(fields[1]),
        cpu=(int(fields[11]) + int(fields[12])) / TICK,
        rss=int(fields[21]) * PAGE,
    )


def all_procs() -> dict[int, ProcInfo]:
    procs: dict[int, ProcInfo] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = read_proc(int(name))
            if info is not None:
                procs[int(name)] = info
    return procs


def children_of(pid: int) -> list[int]:
    """The children of every thread of `pid` (Linux's /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            found.extend(
                int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
            )
        except (OSError, ValueError):
            continue
    return found


def vm_rss(pid: int) -> int | None:
    """VmRSS of /proc/<pid>/status, in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def pss(pid: int) -> int | None:
    """Pss of /proc/<pid>/smaps_rollup, in bytes: its private pages plus its share of the
    pages it shares (forked workers share their forkserver's imports), so that a sum over
    a process tree counts each page once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def role(pid: int) -> str:
    try:
        cmd = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return "?"
    if "resource_tracker" in cmd:
        return "resource tracker"
    # workers forked by og-preview share its command line (or their forkserver's)
    if "multiprocessing" in cmd or "og-preview" in cmd or "og_preview" in cmd:
        return "workers"
    return "other"


def machine_busy() -> float:
    """Seconds of busy CPU on the whole machine since boot (all cores)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in first[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass(slots=True)
class Run:
    returncode: int
    wall: float
    cpu: float  # user+sys of the whole tree (getrusage children delta)
    peak_rss_mb: float  # peak of the sum of VmRSS over the tree
    main_maxrss_mb: float  # ru_maxrss of the contender's own process
    other_load: float  # cores used by the rest of the machine meanwhile
    watched_cpu: float  # CPU of `watch_pids` (the page server) during the run
    cpu_by_role: dict[str, float] = field(default_factory=dict)
    processes: int = 0  # distinct processes seen in the tree
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (s, MB)
    stderr: str = ""
    peak_pss_mb: float = 0.0  # peak of the sum of Pss over the tree (`run(with_pss=True)`)

    def rss_at(self, fraction: float) -> float:
        """Tree RSS (MB) at `fraction` of the run's wall time (nearest earlier sample)."""
        if not self.timeline:
            return 0.0
        when = fraction * self.wall
        best = self.timeline[0][1]
        for t, mb in self.timeline:
            if t > when:
                break
            best = mb
        return best


class Sampler(threading.Thread):
    def __init__(self, root: int, interval: float, started: float) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.started = started
        self.stop = threading.Event()
        self.me = os.getpid()
        self.seen: dict[int, str] = {}  # pid -> role
        self.last_cpu: dict[int, float] = {}
        self.peak = 0
        self.peak_pss = 0
        self.with_pss = False  # (reading smaps_rollup costs more: the memory runs only)
        self.timeline: list[tuple[float, float]] = []

    def procs(self) -> dict[int, ProcInfo]:
        """The contender's processes (and our own children, for re-parented orphans), read
        through /proc/<pid>/task/<tid>/children: walking all of /proc every sample cost
        ~1.2 ms, a share of the cores the contender is measured on."""
        procs: dict[int, ProcInfo] = {}
        todo = [self.me, self.root]
        while todo:
            pid = todo.pop()
            if pid in procs:
                continue
            info = read_proc(pid)
            if info is None:
                continue
            procs[pid] = info
            todo.extend(children_of(pid))
        if not procs.keys() - {self.me}:  # no children files (old kernel): the long way
            return all_procs()
        return procs

    def tree(self, procs: dict[int, ProcInfo]) -> list[int]:
        children: dict[int, list[int]] = {}
        for pid, info in procs.items():
            children.setdefault(info.ppid, []).append(pid)
        found: list[int] = []
        todo = [self.root] if self.root in procs else []
        # orphans of the tree are re-parented to us: keep counting them
        todo += [p for p in children.get(self.me, []) if p in self.seen and p != self.root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def sample(self) -> None:
        procs = self.procs()
        total = total_pss = 0
        for pid in self.tree(procs):
            if pid not in self.seen:
                self.seen[pid] = "main" if pid == self.root else role(pid)
            rss = vm_rss(pid)
            total += procs[pid].rss if rss is None else rss
            if self.with_pss:
                total_pss += pss(pid) or 0
            self.last_cpu[pid] = procs[pid].cpu
        if total:  # not after the tree is gone
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, total_pss)
            self.timeline.append((time.perf_counter() - self.started, total / MB))

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, cpu in self.last_cpu.items():
            name = self.seen.get(pid, "?")
            out[name] = round(out.get(name, 0.0) + cpu, 2)
        return out


def _children_of_me() -> set[int]:
    """Our children, zombies included (an orphaned forkserver that already exited
    must still be reaped: its rusage carries the pool workers it reaped)."""
    me = os.getpid()
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                raw = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            if int(raw[raw.rfind(b")") + 2 :].split()[1]) == me:
                found.add(int(name))
    return found


def wait_or_kill(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Wait `timeout` seconds for a server told to stop, then kill it."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server that exits when its stdin closes (bench/server.py, the DNS server)."""
    with contextlib.suppress(OSError):
        assert proc.stdin is not None
        proc.stdin.close()
    wait_or_kill(proc)
    if proc.stdout is not None:
        proc.stdout.close()


def reap_orphans(pids: set[int], grace: float = 5.0) -> None:
    """Wait for (then kill) re-parented descendants, so their CPU is counted."""
    deadline = time.monotonic() + grace
    pending = set(pids)
    while pending:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                pending.discard(pid)
        if not pending:
            return
        if time.monotonic() > deadline:
            for pid in pending:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 2.0
            grace = 0
        time.sleep(0.05)


def run(
    cmd: Sequence[str],
    *,
    stdout: IO[bytes] | int,
    watch_pids: Sequence[int] = (),
    interval: float = 0.05,
    budget: float | None = None,
    env: dict[str, str] | None = None,
    with_pss: bool = False,
) -> Run:
    """Run `cmd` to completion (SIGINT after `budget` seconds, then SIGKILL). `with_pss`:
    also the peak of the tree's summed Pss."""
    keep = _children_of_me()  # e.g. the page server: never reaped here
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = machine_busy()
    watched0 = sum(i.cpu for p in watch_pids if (i := read_proc(p)) is not None)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    sampler = Sampler(proc.pid, interval, started)
    sampler.with_pss = with_pss
    sampler.start()
    stderr_chunks: list[bytes] = []
    assert proc.stderr is not None
    err_reader = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()))  # type: ignore[union-attr]
    err_reader.start()
    status, usage = _wait4(proc.pid, budget)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop.set()
    sampler.join()
    reap_orphans(_children_of_me() - keep)
    err_reader.join(10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1 = machine_busy()
    watched1 = sum(i.cpu for p in watch_pids if (i := read_proc(p)) is not None)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    watched = watched1 - watched0
    return Run(
        returncode=proc.returncode,
        wall=wall,
        cpu=cpu,
        peak_rss_mb=sampler.peak / MB,
        peak_pss_mb=sampler.peak_pss / MB,
        main_maxrss_mb=usage.ru_maxrss / 1024,
        other_load=max(0.0, (busy1 - busy0) - cpu - watched) / wall if wall else 0.0,
        watched_cpu=watched,
        cpu_by_role=sampler.cpu_by_role(),
        processes=len(sampler.seen),
        timeline=sampler.timeline,
        stderr=b"".join(stderr_chunks).decode(errors="replace"),
    )


def _wait4(pid: int, budget: float | None) -> tuple[int, resource.struct_rusage]:
    if budget is None:
        _, status, usage = os.wait4(pid, 0)
        return status, usage
    deadline = time.monotonic() + budget
    signals = [signal.SIGINT, signal.SIGKILL]
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage
        if time.monotonic() > deadline:
            if not signals:
                _, status, usage = os.wait4(pid, 0)
                return status, usage
            os.kill(pid, signals.pop(0))
            deadline = time.monotonic() + 15.0  # time to finish in-flight work and exit
        time.sleep(0.05)
