"""Benchmark `og-preview batch` against a bare aiohttp loop and naive in-loop extruct.

    .venv/bin/python bench/bench.py [--corpus ../shared/corpus] [--n 2000] [--json OUT]

Everything runs on 127.0.0.1: the distribution's nginx serves the pages when it is
installed (bench/nginx.py; `--server aiohttp` to use ours instead), else an aiohttp
server in its own process (bench/server.py, pages preloaded in memory), which also
answers the latency runs (~100 ms a response); each contender runs in a subprocess,
measured for wall time, CPU of its whole process tree and peak RSS (see
bench/measure.py). Prints a table and the targets with PASS/FAIL.

`--only dns` runs the DNS workload (bench/dns_workload.py): 3,000 URLs, each on a
host name of its own, resolved by a DNS server answering after 50 ms, all inside
a network namespace of its own (root and iproute2; skipped with a note otherwise).

`cluster` is the og-preview run on a Dask LocalCluster (`--cluster local:2`; skipped
with a note when dask is not installed); `commit-rate` times, in this process, how many
records/s `pipeline.save` commits into a fresh SQLite cache (10,000 records parsed from
the pages, saved in groups of 256 as a batch saves them).

`revalidate` fills a fresh cache with an og-preview run over the --n URLs (the full
fetch), then re-runs them with `--max-age 0`: every row is stale, every URL is refetched
with `If-None-Match` and answered `304` with no body; the two take turns. It reports
URLs/s, CPU and the body bytes and 304s the page server counted (its `GET /stats`) of
both.
`check-images` runs og-preview over `/pi/<i>` (the same pages with a local `og:image`,
50 distinct PNGs of 1200x630) with and without `--check-images`, fresh caches, to
price the image checks. Both always use bench/server.py (it counts what it serves).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dns_workload
from measure import Run, become_subreaper, machine_busy, stop_child
from measure import run as measure
from nginx import Nginx, nginx_binary
from server import IMAGE_SIZE, IMAGES, find_pages

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO_SITE = ROOT / "demo" / "site"
NAMES = (
    "bare",
    "naive-extruct",
    "og-preview",
    "cluster",
    "in-loop",
    "cached",
    "latency-bare",
    "latency-og-preview",
    "million",
    "dns",
    "commit-rate",
    "revalidate",
    "check-images",
)
COMMIT_RECORDS = 10_000  # records the commit-rate run saves
COMMIT_HOSTS = 500
SUMMARY = re.compile(r"og-preview: (\d+) URLs in")
REVALIDATED = re.compile(r"(\d+) revalidated \(304\), (\d+) changed")
#: counts of bench/server.py's fast listener (GET /stats), compared before and after a run
SERVED = ("requests", "body_bytes", "not_modified", "pages", "images")


@dataclass(slots=True)
class Result:
    name: str
    label: str
    kind: str  # fetch | cached | latency | memory | dns | commit | revalidate | images
    urls: int
    run: Run
    ok: bool
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.urls / self.run.wall if self.run.wall else 0.0


class PageServer:
    """bench/server.py in a subprocess; it exits when we close its stdin."""

    def __init__(self, source: Path, delay: float) -> None:
        self.source = source
        self.delay = delay
        self.proc: subprocess.Popen[bytes] | None = None
        self.fast = self.slow = self.pages = self.bytes = 0

    def __enter__(self) -> PageServer:
        cmd = [
            sys.executable,
            str(HERE / "server.py"),
            str(self.source),
            "--delay",
            str(self.delay),
        ]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY"):
            self.__exit__()
            sys.exit(f"bench: the page server did not start ({line.strip() or 'no output'})")
        self.fast, self.slow, self.pages, self.bytes = (int(x) for x in line.split()[1:5])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_child(self.proc)

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def stats(self) -> dict[str, int]:
        """What the fast listener has served so far (its /stats is not counted)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        with opener.open(f"http://127.0.0.1:{self.fast}/stats", timeout=10) as answer:
            counts: dict[str, int] = json.loads(answer.read())
        return counts


def dask_missing() -> str | None:
    """Why `--cluster` cannot run here (None: it can): `distributed` must import."""
    probe = subprocess.run(
        [sys.executable, "-c", "import distributed"], capture_output=True, text=True
    )
    lines = probe.stderr.strip().splitlines()
    return None if probe.returncode == 0 else (lines[-1] if lines else "import failed")


def write_lines(path: Path, lines: Iterator[str]) -> Path:
    with path.open("w") as out:
        out.writelines(f"{line}\n" for line in lines)
    return path


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        tmp: Path,
        server: PageServer,
        fast_port: int,
        fast_pids: list[int],
    ) -> None:
        self.args = args
        self.tmp = tmp
        self.server = server
        self.fast_pids = fast_pids  # the server of the no-latency runs, for its CPU
        self.dns_pids: list[int] = []  # the DNS workload's DNS and page servers
        self.results: dict[str, Result] = {}
        self.og_bin = str(Path(sys.executable).parent / "og-preview")
        if not Path(self.og_bin).exists():
            self.og_bin = shutil.which("og-preview") or "og-preview"
        c = args.concurrency
        fast, slow = fast_port, server.slow
        self.urls = write_lines(
            tmp / "urls.txt", (f"http://127.0.0.1:{fast}/p/{i}" for i in range(args.n))
        )
        self.slow_urls = write_lines(
            tmp / "slow.txt", (f"http://127.0.0.1:{slow}/p/{i}" for i in range(args.latency_n))
        )
        # the revalidate and check-images runs need bench/server.py's ETags and counts
        self.own_fast = fast == server.fast
        self.own_urls = (
            self.urls
            if self.own_fast
            else write_lines(
                tmp / "own.txt", (f"http://127.0.0.1:{server.fast}/p/{i}" for i in range(args.n))
            )
        )
        self.image_urls = write_lines(
            tmp / "images.txt", (f"http://127.0.0.1:{server.fast}/pi/{i}" for i in range(args.n))
        )
        self.og_args = ["--no-progress", "--format", "jsonl", "-c", str(c), "--per-host", str(c)]

    # -- helpers -------------------------------------------------------------

    def best_of_turns(self, contenders: list[tuple[str, Callable[[], Result]]]) -> None:
        """Run the contenders in turns, --repeat rounds, and keep each one's fastest (least
        disturbed) run. Taking turns lets every contender meet the same moments of the
        machine, whose speed drifts by tens of percent within a minute: their ratios then
        compare like with like."""
        best: dict[str, Result] = {}
        for _ in range(self.args.repeat):
            for name, make in contenders:
                result = make()
                self.report(result)
                kept = best.get(name)
                if kept is None or (result.ok and (not kept.ok or result.run.wall < kept.run.wall)):
                    best[name] = result
        for name, _make in contenders:
            self.results[name] = best[name]

    def report(self, r: Result) -> None:
        roles = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(r.run.cpu_by_role.items()))
        print(
            f"  {r.name:<19} {r.urls:>7} URLs {r.run.wall:7.2f}s {r.rate:8.1f}/s "
            f"cpu {r.run.cpu:6.2f}s ({roles}) peak {r.run.peak_rss_mb:6.1f}MB "
            f"server {r.run.watched_cpu:.1f}s other-load {r.run.other_load:.2f} "
            f"{'ok' if r.ok else 'NOT OK'} {r.note}",
            file=sys.stderr,
            flush=True,
        )

    def watched(self, kind: str) -> list[int]:
        if kind == "dns":
            return self.dns_pids
        ours = kind in ("latency", "revalidate", "images")
        return [self.server.pid] if ours else self.fast_pids

    def og_cmd(self, urls: Path, *extra: str) -> list[str]:
        return [self.og_bin, "batch", str(urls), *extra, *self.og_args]

    def run_og(
        self,
        name: str,
        label: str,
        kind: str,
        cmd: list[str],
        n: int,
        *,
        want_cached: int | None = None,
        check: Callable[[dict[str, Any]], str | None] | None = None,
        served: bool = False,
    ) -> Result:
        """Run og-preview, `n` processed records wanted (`want_cached` of them from the
        cache: n for `cached`, else 0 unless given). `check(record)` names what is wrong
        with a record (None: nothing); the first few such problems go in the note.
        `served`: the URLs are bench/server.py's, whose counts go in extra["served"]."""
        before = self.server.stats() if served else {}
        out_path = self.tmp / f"{name}.jsonl"
        with out_path.open("wb") as out:
            run = measure(cmd, stdout=out, watch_pids=self.watched(kind))
        after = self.server.stats() if served else {}
        statuses: Counter[str] = Counter()
        problems: Counter[str] = Counter()
        cached = lines = 0
        with out_path.open("rb") as records:
            for line in records:
                lines += 1
                record = json.loads(line)
                statuses[record["status"]] += 1
                cached += bool(record.get("from_cache"))
                if record["status"] != "processed" and len(statuses) < 5:
                    statuses[f"{(record.get('error') or {}).get('kind')}"] += 0
                problem = check(record) if check is not None else None
                if problem is not None:
                    problems[problem] += 1
        out_path.unlink()
        if want_cached is None:
            want_cached = n if kind == "cached" else 0
        ok = run.returncode == 0 and lines == n and statuses["processed"] == n
        ok = ok and cached == want_cached and not problems
        note = (
            ""
            if ok
            else f"exit {run.returncode}, {lines} records, {dict(statuses)}, {cached} cached"
        )
        if problems:
            note += ", records: " + ", ".join(f"{k} x{v}" for k, v in problems.most_common(3))
        extra: dict[str, Any] = {"from_cache": cached}
        if served:
            extra["served"] = {k: after.get(k, 0) - before.get(k, 0) for k in SERVED}
        return Result(name, label, kind, n, run, ok, note, extra)

    def run_loop(
        self,
        name: str,
        label: str,
        kind: str,
        mode: str,
        urls: Path,
        n: int,
        *,
        prefix: Sequence[str] = (),
        options: Sequence[str] = (),
    ) -> Result:
        out_path = self.tmp / f"{name}.out"
        cmd = [*prefix, sys.executable, str(HERE / "contenders.py"), mode, str(urls), *options]
        cmd += ["--concurrency", str(self.args.concurrency)]
        with out_path.open("wb") as out:
            run = measure(cmd, stdout=out, watch_pids=self.watched(kind))
        try:
            counts = json.loads(out_path.read_text() or "{}")
        except ValueError:
            counts = {}
        out_path.unlink()
        ok = run.returncode == 0 and counts.get("ok") == n
        note = "" if ok else f"exit {run.returncode}, {counts or run.stderr[-300:]}"
        if counts.get("parse_errors"):
            note += f"{counts['parse_errors']} pages made extruct raise (bad JSON-LD)"
        return Result(name, label, kind, n, run, ok, note.strip(), counts)

    def run_memory(self, name: str, lines: int, budget: float | None) -> Result:
        path = write_lines(
            self.tmp / f"{name}.txt", (f"http://127.0.0.1:9/page/{i}" for i in range(lines))
        )
        cmd = [self.og_bin, "batch", str(path), "--no-cache", "--no-progress", "--format", "jsonl"]
        with open(os.devnull, "wb") as devnull:
            run = measure(cmd, stdout=devnull, budget=budget, with_pss=True)
        path.unlink()
        done = SUMMARY.search(run.stderr)
        urls = int(done.group(1)) if done else 0
        stopped = run.returncode in (130, -2)
        ok = run.returncode == 1 and urls == lines and "blocked: " in run.stderr
        note = f"{lines:,}-line input"
        if stopped:
            ok = urls > 0
            note += f", stopped by the {budget:.0f}s budget after {urls:,} URLs"
        elif not ok:
            note += f", exit {run.returncode}: {run.stderr.strip()[-200:]}"
        rss_at = {f"{p}%": round(run.rss_at(p / 100), 1) for p in (10, 50, 100)}
        extra = {"input_lines": lines, "rss_mb_at": rss_at, "stopped_by_budget": stopped}
        note += " (RSS at 10/50/100%: " + "/".join(f"{v:.0f}" for v in rss_at.values())
        note += f" MB; peak PSS {run.peak_pss_mb:.0f} MB)"
        extra["peak_pss_mb"] = round(run.peak_pss_mb, 1)
        label = f"og-preview {lines:,} blocked URLs --no-cache"
        result = Result(name, label, "memory", urls, run, ok, note, extra)
        self.results[name] = result
        self.report(result)
        return result

    # -- the contenders --------------------------------------------------------

    def run_all(self, only: set[str]) -> None:
        n, ln, c = self.args.n, self.args.latency_n, self.args.concurrency
        db = self.tmp / "bench.db"
        loop_db = self.tmp / "in-loop.db"
        cluster_db = self.tmp / "cluster.db"

        def fresh(path: Path, name: str, label: str, *extra: str) -> Callable[[], Result]:
            def run() -> Result:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                cmd = self.og_cmd(self.urls, "--allow-private", "--db", str(path), *extra)
                return self.run_og(name, label, "fetch", cmd, n, served=self.own_fast)

            return run

        fast: list[tuple[str, Callable[[], Result]]] = [
            (
                "bare",
                lambda: self.run_loop(
                    "bare", f"bare aiohttp loop (c {c})", "fetch", "bare", self.urls, n
                ),
            ),
            (
                "naive-extruct",
                lambda: self.run_loop(
                    "naive-extruct",
                    f"naive in-loop extruct (c {c})",
                    "fetch",
                    "extruct",
                    self.urls,
                    n,
                ),
            ),
            ("og-preview", fresh(db, "og-preview", f"og-preview (c {c}, per-host {c})")),
            (
                "cluster",
                fresh(
                    cluster_db,
                    "cluster",
                    f"og-preview --cluster local:2 (c {c}, per-host {c})",
                    "--cluster",
                    "local:2",
                ),
            ),
            # the alternative the design was measured against: parsing in the event loop
            (
                "in-loop",
                fresh(
                    loop_db,
                    "in-loop",
                    f"og-preview --workers 0 (c {c}, per-host {c})",
                    "--workers",
                    "0",
                ),
            ),
        ]
        if "cluster" in only:
            self.args.cluster_skipped = dask_missing()
            if self.args.cluster_skipped:
                print(f"bench: cluster skipped: {self.args.cluster_skipped}", file=sys.stderr)
                only = only - {"cluster"}
        wanted = [(name, make) for name, make in fast if name in only]
        if "cached" in only and "og-preview" not in only:
            wanted.append(("og-preview", dict(fast)["og-preview"]))  # it fills the cache
        self.best_of_turns(wanted)
        if "cached" in only:  # a re-run over the cache the last og-preview run filled
            cmd = self.og_cmd(self.urls, "--allow-private", "--db", str(db))
            self.best_of_turns(
                [
                    (
                        "cached",
                        lambda: self.run_og("cached", "og-preview cached re-run", "cached", cmd, n),
                    )
                ]
            )
        if "revalidate" in only:
            self.run_revalidate()
        if "check-images" in only:
            self.run_check_images()
        if "commit-rate" in only:
            self.run_commit_rate()
        delay_ms = self.args.latency * 1000
        slow_og = self.og_cmd(self.slow_urls, "--allow-private", "--no-cache")
        latency: list[tuple[str, Callable[[], Result]]] = [
            (
                "latency-bare",
                lambda: self.run_loop(
                    "latency-bare",
                    f"bare loop, {delay_ms:.0f} ms/response",
                    "latency",
                    "bare",
                    self.slow_urls,
                    ln,
                ),
            ),
            (
                "latency-og-preview",
                lambda: self.run_og(
                    "latency-og-preview",
                    f"og-preview, {delay_ms:.0f} ms/response",
                    "latency",
                    slow_og,
                    ln,
                ),
            ),
        ]
        self.best_of_turns([(name, make) for name, make in latency if name in only])
        if "dns" in only:
            self.run_dns()
        if "million" in only and not self.args.skip_million:
            self.run_memory("memory-100k", self.args.million // 10, None)
            self.run_memory("memory-1m", self.args.million, self.args.million_budget)

    def run_revalidate(self) -> None:
        """In turns, --repeat rounds: an og-preview run over the --n URLs (bench/server.py's)
        filling a fresh cache, the full fetch, then a re-run with `--max-age 0`: every row is
        stale, so every URL is refetched with `If-None-Match` and answered `304` with no
        body. The full fetch is the `og-preview` contender's command (another cache): taking
        turns, both meet the same moments of the machine."""
        n = self.args.n
        db = self.tmp / "revalidate.db"
        urls = ["--allow-private", "--db", str(db)]
        fill_cmd = self.og_cmd(self.own_urls, *urls)
        cmd = self.og_cmd(self.own_urls, *urls, "--max-age", "0")
        filled: list[bool] = []  # did the last fill run succeed

        def fill() -> Result:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            label = "og-preview full fetch (fills the cache)"
            result = self.run_og("revalidate-full", label, "revalidate", fill_cmd, n, served=True)
            filled[:] = [result.ok]
            if result.ok:
                result.note = f"{result.extra['served']['body_bytes'] / 1e6:,.1f} MB of bodies"
            return result

        def check(record: dict[str, Any]) -> str | None:
            return "changed" if record.get("changed") else None

        def rerun() -> Result:
            label = f"og-preview --max-age 0 re-run ({n:,} 304s)"
            result = self.run_og(
                "revalidate", label, "revalidate", cmd, n, want_cached=n, check=check, served=True
            )
            served = result.extra["served"]
            summary = REVALIDATED.search(result.run.stderr)
            revalidated, changed = (int(x) for x in summary.groups()) if summary else (0, 0)
            result.extra.update(revalidated=revalidated, changed=changed)
            if served["not_modified"] != n or served["body_bytes"]:
                result.ok = False
                result.note = (
                    f"{result.note}, server: {served['not_modified']} 304s, "
                    f"{served['body_bytes']:,} body bytes"
                ).lstrip(", ")
            if not all(filled):
                result.ok = False
                result.note = f"the fill run failed; {result.note}"
            if result.ok:
                result.note = (
                    f"{served['not_modified']:,} 304s, {served['body_bytes']:,} body bytes"
                )
            return result

        self.best_of_turns([("revalidate-full", fill), ("revalidate", rerun)])

    def run_check_images(self) -> None:
        """og-preview over `/pi/<i>` (the pages with a local og:image, `/img/<i % 50>.png`,
        1200x630) without and with `--check-images`, each into a fresh cache, in turns."""
        n, port = self.args.n, self.server.fast
        local = f"http://127.0.0.1:{port}/img/"

        def page_image(record: dict[str, Any]) -> str | None:
            image = record.get("image") or ""
            return None if image.startswith(local) else f"image {image[:60]!r}"

        def image_ok(record: dict[str, Any]) -> str | None:
            looked = record.get("image_check") or {}
            if looked.get("status") != "ok":
                return f"image_check {looked.get('status')}"
            if (looked.get("width"), looked.get("height")) != IMAGE_SIZE:
                return f"image_check {looked.get('width')}x{looked.get('height')}"
            return page_image(record)

        def contender(name: str, label: str, *extra: str) -> Callable[[], Result]:
            db = self.tmp / f"{name}.db"
            check = image_ok if extra else page_image

            def run() -> Result:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                cmd = self.og_cmd(self.image_urls, "--allow-private", "--db", str(db), *extra)
                result = self.run_og(name, label, "images", cmd, n, check=check, served=True)
                if result.ok:
                    images = result.extra["served"]["images"]
                    result.note = f"{images} image requests" if extra else "local og:image"
                return result

            return run

        self.best_of_turns(
            [
                ("images-plain", contender("images-plain", "og-preview, /pi/ pages")),
                (
                    "check-images",
                    contender("check-images", "og-preview --check-images", "--check-images"),
                ),
            ]
        )

    def run_commit_rate(self) -> None:
        """Records/s the client commits: `pipeline.save` of COMMIT_RECORDS records of the
        pages (each page parsed once, its record at distinct URLs on COMMIT_HOSTS hosts)
        into a fresh cache, in groups of `SAVE_RECORDS` as a batch
        saves them. Only the saves are timed, in this process (CPU: this process's)."""
        from og_preview.run.pipeline import SAVE_RECORDS, parse_saved, save
        from og_preview.store.cache import Cache

        n, group = COMMIT_RECORDS, SAVE_RECORDS
        bodies = [page.read_bytes() for page in find_pages(self.args.source)]
        # each page parsed once; its record saved at many distinct URLs, as fetched records
        parsed = [parse_saved(body, "https://h0.example/") for body in bodies]
        fetched_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        records = [
            parsed[i % len(parsed)].with_changes(
                url=f"https://h{i % COMMIT_HOSTS}.example/p/{i}", fetched_at=fetched_at
            )
            for i in range(n)
        ]
        path = self.tmp / "commit-rate.db"

        def run() -> Result:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            with Cache(path) as cache:
                busy0, cpu0 = machine_busy(), time.process_time()
                started = time.perf_counter()
                for start in range(0, n, group):
                    save(cache, records[start : start + group])
                wall = time.perf_counter() - started
                cpu, busy = time.process_time() - cpu0, machine_busy() - busy0
            with contextlib.closing(sqlite3.connect(path)) as conn:
                rows = conn.execute("SELECT count(*) FROM previews").fetchone()[0]
            run = Run(0, wall, cpu, 0.0, 0.0, max(0.0, busy - cpu) / wall, 0.0, {"bench": cpu})
            label = f"commit {n:,} records in groups of {group} (SQLite)"
            note = f"{len(bodies)} pages, {COMMIT_HOSTS} hosts"
            ok = rows == n
            if not ok:
                note += f", {rows:,} rows saved"
            extra = {"group": group, "pages": len(bodies), "rows": rows}
            return Result("commit-rate", label, "commit", n, run, ok, note, extra)

        self.best_of_turns([("commit-rate", run)])

    def run_dns(self) -> None:
        """Bare loops (getaddrinfo on aiohttp's default executor; aiodns) and og-preview,
        each URL on a host name of its own, in the DNS workload's network namespace."""
        args = self.args
        args.dns_skipped = dns_workload.unavailable()
        if args.dns_skipped:
            print(f"bench: dns workload skipped: {args.dns_skipped}", file=sys.stderr)
            return
        n, c, delay = args.dns_n, args.concurrency, args.dns_delay
        with dns_workload.DnsWorkload(self.tmp, n, delay) as dns:
            self.dns_pids = dns.pids
            ceiling = {"ceiling": c / delay, "lookups": c, "dns_delay": delay}

            def bare(name: str, resolver: str, label: str) -> Callable[[], Result]:
                def run() -> Result:
                    options = ["--resolver", resolver]
                    result = self.run_loop(
                        name, label, "dns", "bare", dns.urls, n, prefix=dns.prefix, options=options
                    )
                    result.extra.update(ceiling)
                    return result

                return run

            def og() -> Result:
                cmd = [*dns.prefix, *self.og_cmd(dns.urls, "--allow-private", "--no-cache")]
                label = f"og-preview, {n:,} hosts, DNS {delay * 1000:.0f} ms"
                result = self.run_og("dns-og-preview", label, "dns", cmd, n)
                result.extra.update(ceiling)
                return result

            ms = f"DNS {delay * 1000:.0f} ms"
            self.best_of_turns(
                [
                    ("dns-bare-default", bare("dns-bare-default", "threaded", f"bare loop, {ms}")),
                    (
                        "dns-bare-async",
                        bare("dns-bare-async", "async", f"bare loop + AsyncResolver, {ms}"),
                    ),
                    ("dns-og-preview", og),
                ]
            )


# -- report ----------------------------------------------------------------------


def ratio(a: Result | None, b: Result | None) -> float | None:
    if a is None or b is None or not b.rate:
        return None
    return a.rate / b.rate


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(results: dict[str, Result]) -> str:
    bare, naive, lat_bare = (results.get(k) for k in ("bare", "naive-extruct", "latency-bare"))
    base = {"latency": lat_bare, "dns": results.get("dns-bare-async")}
    head = [
        "contender",
        "URLs",
        "wall s",
        "URLs/s",
        "CPU s",
        "CPU ms/URL",
        "peak RSS MB",
        "main maxrss MB",
        "x bare",
        "x naive",
        "other load",
        "notes",
    ]
    rows = [head]
    for r in results.values():
        if r.kind == "commit":
            continue  # records committed, not URLs fetched: a line of its own
        vs_bare = ratio(r, base.get(r.kind, bare)) if r.kind != "memory" else None
        vs_naive = ratio(r, naive) if r.kind == "fetch" else None
        rows.append(
            [
                r.label,
                f"{r.urls:,}",
                f"{r.run.wall:.2f}",
                f"{r.rate:,.0f}",
                f"{r.run.cpu:.2f}",
                f"{1000 * r.run.cpu / r.urls:.2f}" if r.urls else "-",
                f"{r.run.peak_rss_mb:.0f}",
                f"{r.run.main_maxrss_mb:.0f}",
                fmt(vs_bare, ".2f"),
                fmt(vs_naive, ".2f"),
                f"{r.run.other_load:.2f}",
                ("" if r.ok else "NOT OK: ") + r.note,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("| " + " | ".join([*cells, row[-1]]) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in [*widths, len(row[-1])]) + "|")
    return "\n".join(lines)


def targets(results: dict[str, Result]) -> list[dict[str, Any]]:
    og, bare, naive = (results.get(k) for k in ("og-preview", "bare", "naive-extruct"))
    lat_og, lat_bare = results.get("latency-og-preview"), results.get("latency-bare")
    cached, million = results.get("cached"), results.get("memory-1m")
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: str, passed: bool | None) -> None:
        out.append({"target": name, "value": value, "goal": goal, "pass": passed})

    def check(value: float | None, ok: bool | None) -> bool | None:
        return None if value is None else ok

    v = ratio(og, naive)
    add("og-preview vs naive extruct (URLs/s)", v, ">= 3x", check(v, v is not None and v >= 3))
    v = ratio(og, bare)
    add("og-preview vs bare loop (URLs/s)", v, ">= 0.25x", check(v, v is not None and v >= 0.25))
    v = ratio(lat_og, lat_bare)
    add("latency: og-preview vs bare loop", v, ">= 0.9x", check(v, v is not None and v >= 0.9))
    v = cached.run.wall if cached else None
    add("cached re-run wall (s)", v, "< 2 s", check(v, v is not None and v < 2))
    v = million.run.peak_rss_mb if million else None
    add("1M-line input peak RSS (MB)", v, "< 200 MB", check(v, v is not None and v < 200))
    dns = results.get("dns-og-preview")
    v = dns.rate / dns.extra["ceiling"] if dns else None
    lookups, delay = (dns.extra["lookups"], dns.extra["dns_delay"]) if dns else (32, 0.05)
    ok = v is not None and v >= 0.8 and dns is not None and dns.ok
    add(f"dns: og-preview vs ceiling ({lookups}/{delay:g} s)", v, ">= 0.8x", check(v, ok))
    add("cluster vs local pool (URLs/s)", ratio(results.get("cluster"), og), "", None)
    v = ratio(results.get("revalidate"), results.get("revalidate-full"))
    add("revalidate (304s) vs full fetch (URLs/s)", v, "", None)
    v = ratio(results.get("check-images"), results.get("images-plain"))
    add("--check-images vs without (URLs/s)", v, "", None)
    commit = results.get("commit-rate")
    add("commit rate (records/s)", commit.rate if commit else None, "", None)
    for t in out:
        if t["pass"] is not None and (
            (t["target"].startswith("og-preview") and og and not og.ok)
            or (t["target"].startswith("latency") and lat_og and not lat_og.ok)
        ):
            t["pass"] = False  # a contender that did not process every URL cannot pass
    return out


def print_report(results: dict[str, Result], server: PageServer, args: argparse.Namespace) -> None:
    print(
        f"\nog-preview batch benchmark: {server.pages} pages "
        f"(mean {server.bytes / max(server.pages, 1) / 1024:.0f} kB) from {args.source}, "
        f"served by {args.served_by} on 127.0.0.1 (latency runs: the aiohttp server, "
        f"{args.latency * 1000:.0f} ms a response); concurrency {args.concurrency} "
        f"(og-preview --per-host {args.concurrency}: every URL is on one host); "
        f"{os.cpu_count()} cores; best of {args.repeat}.\n"
        "CPU s = user+sys of the contender's whole process tree (pool workers included); "
        "peak RSS = peak of the sum over that tree; other load = cores busy with other "
        "processes meanwhile (> 0.2: a noisy run, rates are low).\n"
    )
    if "dns" in args.only_set:
        print(
            f"dns: {args.dns_n:,} URLs, each on a host name of its own (h<i>.bench.test), "
            f"resolved by a DNS server answering after {args.dns_delay * 1000:.0f} ms; it, the "
            f"pages ({dns_workload.PAGES} small articles) and the contenders in network "
            f"namespace {dns_workload.NETNS}; "
            f"ceiling {args.concurrency} lookups in flight / {args.dns_delay:g} s = "
            f"{args.concurrency / args.dns_delay:,.0f} URLs/s; x bare = vs the bare loop with "
            "AsyncResolver."
            + (f" SKIPPED: {args.dns_skipped}." if getattr(args, "dns_skipped", None) else "")
            + "\n"
        )
    print(table(results))
    print()
    for name in ("og-preview", "cluster", "latency-og-preview", "naive-extruct", "dns-og-preview"):
        r = results.get(name)
        if r is not None:
            roles = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(r.run.cpu_by_role.items()))
            busy = r.run.cpu / r.run.wall if r.run.wall else 0
            print(
                f"{name}: CPU by process: {roles}; {busy:.2f} cores busy on average; "
                f"page server used {r.run.watched_cpu:.2f}s CPU"
            )
    og, cluster = results.get("og-preview"), results.get("cluster")
    if og is not None and cluster is not None and og.urls and cluster.urls:
        extra_ms = 1000 * (cluster.run.cpu / cluster.urls - og.run.cpu / og.urls)
        print(
            f"cluster overhead vs the local pool: {fmt(ratio(cluster, og), '.2f')}x the local "
            f"pool's URLs/s, {extra_ms:+.2f} ms CPU per URL"
        )
    elif "cluster" in args.only_set and getattr(args, "cluster_skipped", None):
        print(f"cluster: SKIPPED: {args.cluster_skipped}")
    reval, full = results.get("revalidate"), results.get("revalidate-full")
    if reval is not None and full is not None and reval.urls and full.urls:
        served, full_served = reval.extra["served"], full.extra["served"]
        print(
            f"revalidate: {reval.urls:,} stale URLs re-run with --max-age 0: "
            f"{reval.rate:,.0f} URLs/s, {1000 * reval.run.cpu / reval.urls:.2f} ms CPU a URL, "
            f"server sent {served['body_bytes']:,} body bytes and {served['not_modified']:,} "
            f"304s (og-preview counted {reval.extra['revalidated']:,} revalidated, "
            f"{reval.extra['changed']:,} changed); the full fetch filling the cache, in turns: "
            f"{full.rate:,.0f} URLs/s, {1000 * full.run.cpu / full.urls:.2f} ms CPU a URL, "
            f"{full_served['body_bytes']:,} body bytes; "
            f"{fmt(ratio(reval, full), '.2f')}x the URLs/s"
            + (f" (the og-preview contender, earlier: {og.rate:,.0f} URLs/s)" if og else "")
            + ("" if reval.ok and full.ok else " NOT OK")
        )
    plain, checked = results.get("images-plain"), results.get("check-images")
    if plain is not None and checked is not None and plain.urls and checked.urls:
        plain_ms = 1000 * plain.run.cpu / plain.urls
        checked_ms = 1000 * checked.run.cpu / checked.urls
        print(
            f"check-images: {plain.rate:,.0f} URLs/s ({plain_ms:.2f} ms CPU a URL) without, "
            f"{checked.rate:,.0f} URLs/s ({checked_ms:.2f} ms CPU a URL) with --check-images: "
            f"{fmt(ratio(checked, plain), '.2f')}x the URLs/s, {checked_ms - plain_ms:+.2f} ms "
            f"CPU a URL, {checked.extra['served']['images']:,} image requests served "
            f"({IMAGES} distinct images)"
        )
    commit = results.get("commit-rate")
    if commit is not None:
        print(
            f"commit-rate: {commit.label}: {commit.rate:,.0f} records/s "
            f"({commit.run.wall:.2f}s, {1e6 * commit.run.wall / commit.urls:.0f} µs a record, "
            f"other load {commit.run.other_load:.2f})"
            + ("" if commit.ok else f" NOT OK: {commit.note}")
        )
    print("\ntargets:")
    for t in targets(results):
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
        value = "-" if t["value"] is None else f"{t['value']:.2f}"
        goal = f"(goal {t['goal']})" if t["goal"] else "(informational)"
        verdict = verdict if t["goal"] else "info"
        print(f"  {verdict}  {t['target']:<38} {value:>8}  {goal}")


def to_json(
    results: dict[str, Result], server: PageServer, args: argparse.Namespace
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config": {
            "n": args.n,
            "latency_n": args.latency_n,
            "concurrency": args.concurrency,
            "latency_s": args.latency,
            "source": str(args.source),
            "pages": server.pages,
            "mean_page_bytes": server.bytes // max(server.pages, 1),
            "cores": os.cpu_count(),
            "repeat": args.repeat,
            "server": args.served_by,
            "dns_n": args.dns_n,
            "dns_delay_s": args.dns_delay,
            "dns_skipped": getattr(args, "dns_skipped", None),
            "cluster_skipped": getattr(args, "cluster_skipped", None),
        },
        "results": {},
        "targets": targets(results),
    }
    for name, r in results.items():
        run = asdict(r.run)
        step = max(1, len(run["timeline"]) // 200)
        run["timeline"] = [(round(t, 2), round(mb, 1)) for t, mb in run["timeline"][::step]]
        run["stderr"] = run["stderr"][-500:]
        out["results"][name] = {
            "label": r.label,
            "kind": r.kind,
            "urls": r.urls,
            "urls_per_s": r.rate,
            "ok": r.ok,
            "note": r.note,
            **r.extra,
            **run,
        }
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=2000, help="URLs per throughput run (default 2000)")
    p.add_argument("--latency-n", type=int, default=1000, help="URLs per latency run (1000)")
    p.add_argument("--latency", type=float, default=0.1, help="seconds per response (0.1)")
    p.add_argument("--concurrency", type=int, default=32, help="pages in flight (32)")
    p.add_argument("--dns-n", type=int, default=3000, help="URLs (= host names) per dns run")
    p.add_argument("--dns-delay", type=float, default=0.05, help="seconds per DNS answer (0.05)")
    p.add_argument("--corpus", type=Path, default=None, help="folder of */page.html")
    p.add_argument("--skip-million", action="store_true", help="skip the memory runs")
    p.add_argument("--million", type=int, default=1_000_000, help="lines of the memory run")
    p.add_argument(
        "--million-budget",
        type=float,
        default=240.0,
        help="seconds before the 1M-line run is interrupted (Ctrl-C) and reported as partial",
    )
    p.add_argument(
        "--server",
        choices=("auto", "nginx", "aiohttp"),
        default="auto",
        help="what serves the no-latency runs: nginx when installed (auto), or our aiohttp one",
    )
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(NAMES)}")
    p.add_argument("--repeat", type=int, default=3, help="runs per contender, the fastest kept (3)")
    p.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()} or set(NAMES)
    unknown = only - set(NAMES)
    if unknown:
        p.error(f"--only: unknown {', '.join(sorted(unknown))} (choose from {', '.join(NAMES)})")
    args.only_set = only
    args.source = args.corpus if args.corpus and args.corpus.is_dir() else DEMO_SITE
    if min(args.n, args.latency_n, args.dns_n, args.concurrency, args.repeat) < 1:
        p.error("--n, --latency-n, --dns-n, --concurrency and --repeat must be at least 1")
    if args.dns_delay <= 0:
        p.error("--dns-delay must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    become_subreaper()
    tmp = Path(tempfile.mkdtemp(prefix="og-bench-"))
    started = time.perf_counter()
    try:
        with PageServer(args.source, args.latency) as server:
            print(
                f"bench: serving {server.pages} pages from {args.source} on ports "
                f"{server.fast} (fast) and {server.slow} ({args.latency * 1000:.0f} ms)",
                file=sys.stderr,
            )
            with contextlib.ExitStack() as stack:
                fast_port, fast_pids = server.fast, [server.pid]
                args.served_by = "an aiohttp process (bench/server.py)"
                if args.server == "nginx" or (args.server == "auto" and nginx_binary()):
                    pages = find_pages(args.source)
                    count = max(args.n, args.latency_n)
                    nginx = stack.enter_context(Nginx(pages, count, tmp / "nginx"))
                    fast_port, fast_pids = nginx.port, nginx.pids()
                    args.served_by = "nginx (1 worker process)"
                    print(
                        f"bench: nginx serves the no-latency runs on {fast_port}", file=sys.stderr
                    )
                bench = Bench(args, tmp, server, fast_port, fast_pids)
                try:
                    bench.run_all(args.only_set)
                finally:
                    print_report(bench.results, server, args)
                    if args.json:
                        report = to_json(bench.results, server, args)
                        args.json.write_text(json.dumps(report, indent=2))
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nbench: done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
