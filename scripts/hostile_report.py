"""What og-preview does with every hostile route of tests/hostile.py, as a markdown table.

    .venv/bin/python scripts/hostile_report.py [--timeout 2] [--retries 1]

Starts the fault-injection servers on 127.0.0.1, then:

1. previews every route through the library, all at once, each timed: with
   private addresses allowed (the servers are on loopback) and, for the routes
   aiming at internal addresses, guarded, the hostile servers standing for a
   public host (`PublicPort`), so redirects to 169.254.169.254 are judged
   without anything leaving this machine;
2. runs `og-preview batch` over every loopback route in a subprocess, timing
   it and sampling the peak RSS (and PSS) of its whole process tree.

Prints the table, the totals, and every route whose outcome differs from what
tests/hostile.py expects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from og_preview.config import Settings  # noqa: E402
from og_preview.net.fetch import open_session  # noqa: E402
from og_preview.net.guard import StaticResolver  # noqa: E402
from og_preview.record import Preview  # noqa: E402
from og_preview.run.pipeline import preview  # noqa: E402
from tests.hostile import Hostile, PublicPort  # noqa: E402
from tests.hostile_routes import HostileRoute  # noqa: E402
from tests.proctree import run_measured  # noqa: E402

OG_PREVIEW = shutil.which("og-preview", path=str(Path(sys.executable).parent)) or "og-preview"
MB = 1024 * 1024


def outcome(record: Preview) -> str:
    return str(record.error.kind) if record.error else str(record.status)


def describe(record: Preview, elapsed: float) -> str:
    status = record.http_status if record.http_status is not None else "-"
    return f"{outcome(record)} / HTTP {status} / {record.attempts} att. / {elapsed:.2f}s"


async def timed(coro: Awaitable[Preview]) -> tuple[Preview, float]:
    started = time.monotonic()
    record = await coro
    return record, time.monotonic() - started


Row = tuple[HostileRoute, str, Preview, float]


async def library_run(hostile: Hostile, settings: Settings) -> tuple[list[Row], int]:
    """Every route at once, guarded ones first; returns the rows and how many requests
    reached the victim while guarded (must be 0)."""
    guarded = settings.but(allow_private=False)
    policy = PublicPort(ports=(hostile.ports["main"], hostile.ports["raw"]))
    resolver = StaticResolver({"public.test": ["127.0.0.1"]})
    routes = list(hostile.route_urls(offloop=True))
    async with open_session(guarded, policy=policy, resolver=resolver) as session:
        guard_jobs = [
            (route, url.replace("http://127.0.0.1:", "http://public.test:", 1))
            for route, url in routes
            if route.leaves_loopback or route.guarded_expect == "blocked"
        ]
        guard_results = await asyncio.gather(
            *(timed(preview(url, settings=guarded, session=session)) for _, url in guard_jobs)
        )
    victim_hits = len(hostile.hits("victim"))
    async with open_session(settings) as session:
        open_jobs = [(route, url) for route, url in routes if not route.leaves_loopback]
        open_results = await asyncio.gather(
            *(timed(preview(url, settings=settings, session=session)) for _, url in open_jobs)
        )
    rows: list[Row] = []
    for mode, jobs, results in (
        ("guarded", guard_jobs, guard_results),
        ("allowed", open_jobs, open_results),
    ):
        rows += [(route, mode, *result) for (route, _), result in zip(jobs, results, strict=True)]
    return rows, victim_hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs the CLI may use (0: all)")
    args = parser.parse_args()
    settings = Settings(
        allow_private=True,
        timeout=args.timeout,
        retries=args.retries,
        backoff_initial=0.01,
        backoff_max=0.05,
        retry_after_max=2,
        parse_workers=0,
        concurrency=64,
        per_host=64,
    )
    hostile = Hostile().start()
    try:
        started = time.monotonic()
        rows, victim_hits_guarded = asyncio.run(library_run(hostile, settings))
        library_wall = time.monotonic() - started

        hostile.reset()
        urls = [url for _, url in hostile.route_urls()]
        with tempfile.TemporaryDirectory() as tmp:
            cli = run_measured(
                [
                    OG_PREVIEW, "batch", "-", "--allow-private",
                    "--timeout", f"{args.timeout:g}", "--retries", str(args.retries),
                    "-c", "32", "--db", str(Path(tmp) / "hostile.db"),
                ],
                "\n".join(urls) + "\n",
                timeout=120,
                cpus=args.cpus,
            )  # fmt: skip
    finally:
        hostile.stop()

    cli_records = {
        r["url"]: (r["error"]["kind"] if r["error"] else r["status"])
        for r in map(json.loads, cli.stdout.splitlines())
    }
    mismatches: list[str] = []
    print("| route | what it does | mode | outcome (status / HTTP / attempts / elapsed) | CLI |")
    print("|---|---|---|---|---|")
    for route, mode, record, elapsed in rows:
        want = route.guarded_expect if mode == "guarded" else route.expect
        got = outcome(record)
        cli_got = cli_records.get(hostile.url_for(route), "-") if mode == "allowed" else "-"
        flag = "" if got == want else f" **(expected {want})**"
        if got != want:
            mismatches.append(f"{route.name} ({mode}): {got}, expected {want}")
        if mode == "allowed" and cli_got != want:
            mismatches.append(f"{route.name} (CLI): {cli_got}, expected {want}")
        what = route.what.replace("|", "\\|")
        print(f"| {route.name} | {what} | {mode} | {describe(record, elapsed)}{flag} | {cli_got} |")

    counts = Counter(cli_records.values())
    print()
    print(f"- library, all {len(rows)} previews at once: {library_wall:.1f}s wall")
    print(
        f"- CLI `og-preview batch --allow-private --timeout {args.timeout:g} "
        f"--retries {args.retries} -c 32` over {len(urls)} URLs "
        f"({f'{args.cpus} CPUs' if args.cpus else 'all CPUs'}): {cli.wall:.1f}s wall, "
        f"exit {cli.returncode}, peak RSS {cli.peak_rss / MB:.0f} MB "
        f"(PSS {cli.peak_pss / MB:.0f} MB) over the process tree"
    )
    print(f"- CLI outcomes: {dict(counts.most_common())}")
    print(f"- CLI summary: {cli.stderr.strip().splitlines()[-1] if cli.stderr.strip() else '-'}")
    print(f"- requests that reached the victim server while guarded: {victim_hits_guarded}")
    if mismatches:
        print("\nUnexpected outcomes:\n" + "\n".join(f"- {m}" for m in mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
