"""`batch --cluster`: the same batch on Dask distributed (real processes, loopback only)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from og_preview import __version__
from og_preview.config import Settings
from og_preview.record import Preview, Status
from og_preview.run.cluster import (
    ClusterError,
    VersionMismatch,
    parse_address,
    preview_shard,
    run_on_cluster,
)
from og_preview.run.dask_client import check_versions
from og_preview.run.pipeline import preview_many
from og_preview.store.cache import Cache
from tests.cli.helpers import OG_PREVIEW, foreground, json_lines, run
from tests.site import Handler, Site

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.integration

SETTINGS = Settings(allow_private=True, backoff_initial=0.01, backoff_max=0.05, retries=0)
COMPARED = ("url", "final_url", "status", "http_status", "title", "description", "image", "error")


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """Two worker processes of one thread each, shared by this module's library tests."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


async def on_cluster(
    lines: list[str], address: str, cache: Cache | None = None, **options: Any
) -> list[Preview]:
    settings = options.pop("settings", SETTINGS)
    stream = run_on_cluster(lines, settings, cache, address=address, **options)
    async with contextlib.aclosing(stream) as results:
        return [record async for record in results]


async def locally(lines: list[str]) -> list[Preview]:
    stream = preview_many(lines, SETTINGS.but(parse_workers=0))
    async with contextlib.aclosing(stream) as results:
        return [record async for record in results]


def compared(records: list[Preview]) -> dict[str, dict[str, Any]]:
    by_url = {r.url: {k: v for k, v in r.to_dict().items() if k in COMPARED} for r in records}
    assert len(by_url) == len(records)  # one record per URL
    return by_url


def delayed(seconds: float, in_flight: Counter[str], most: Counter[str]) -> Handler:
    """A handler that answers after `seconds`, counting requests in flight per Host."""
    lock = threading.Lock()

    async def handle(request: web.Request) -> web.StreamResponse:
        with lock:
            in_flight[request.host] += 1
            most[request.host] = max(most[request.host], in_flight[request.host])
        try:
            await asyncio.sleep(seconds)
            return web.Response(text=f"<title>{request.path}</title>", content_type="text/html")
        finally:
            with lock:
                in_flight[request.host] -= 1

    return handle


def test_addresses() -> None:
    assert [
        str(parse_address(text)) for text in ("tcp://10.0.0.5:8786", "sched:9000", "tls://h")
    ] == ["tcp://10.0.0.5:8786", "tcp://sched:9000", "tls://h:8786"]
    assert (parse_address("local:3").workers, parse_address("LOCAL").workers >= 1) == (3, True)


async def test_same_records_as_a_local_batch(site: Site, dask_cluster: Any, db_path: Path) -> None:
    lines = [
        site.page(f"/p{i}", f"<title>Page {i}</title><meta name=description content='d{i}'>")
        for i in range(26)
    ]
    lines += [
        site.page("/og", "<meta property=og:title content=OG><meta property=og:image content=/i>"),
        site.page("/missing", "gone", status=404),
        site.redirect("/moved", site.url("/p0")),
        site.page("/pic.png", b"\x89PNG\r\n\x1a\n", content_type="image/png"),
        "not a url at all",
        site.url("/p1"),  # a duplicate
    ]
    expected = compared(await locally(lines))
    with Cache(db_path) as cache:
        records = await on_cluster(lines, dask_cluster.scheduler.address, cache)
        stored = {url: cache.get(url) for url in expected if url.startswith("http")}
    assert compared(records) == expected
    assert len(expected) == 31
    assert all(r is not None and r.status is not Status.PENDING for r in stored.values())


async def test_per_host_cap_holds_across_workers(site: Site, dask_cluster: Any) -> None:
    in_flight: Counter[str] = Counter()
    most: Counter[str] = Counter()
    handle = delayed(0.05, in_flight, most)
    paths = [site.handler(f"/slow{i}", handle).removeprefix(site.base) for i in range(20)]
    # one server, two hosts: 127.1 is 127.0.0.1 spelt loosely (one host, one lane)
    hosts = ("127.0.0.1", "localhost", "127.1")
    lines = [f"http://{host}:{site.port}{path}" for host in hosts for path in paths]
    records = await on_cluster(
        lines,
        dask_cluster.scheduler.address,
        settings=SETTINGS.but(per_host=2, concurrency=16),
        shard_size=5,  # eight shards for 127.0.0.1 (two spellings), which must not overlap
    )
    assert sorted(r.status for r in records) == [Status.PROCESSED] * 60
    assert (max(most.values()), most[f"localhost:{site.port}"]) == (2, 2)
    assert site.max_in_flight > 2  # the hosts' tasks did run side by side


async def test_a_lost_worker_loses_no_record(site: Site, dask_cluster: Any) -> None:
    slow = delayed(0.05, Counter(), Counter())
    tenth = threading.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        if sum(site.hits.values()) >= 10:
            tenth.set()
        return await slow(request)

    paths = [site.handler(f"/k{i}", handle).removeprefix(site.base) for i in range(60)]
    lines = [
        f"http://{host}:{site.port}{path}" for host in ("127.0.0.1", "localhost") for path in paths
    ]
    pids: dict[str, int] = dask_cluster.run(os.getpid)
    killed: list[int] = []

    async def kill_a_busy_worker() -> None:
        await asyncio.to_thread(tenth.wait, 30)
        processing = await asyncio.to_thread(dask_cluster.processing)
        worker = next(w for w, tasks in processing.items() if tasks)
        killed.append(pids[worker])
        os.kill(pids[worker], signal.SIGKILL)

    killer = asyncio.create_task(kill_a_busy_worker())
    try:
        records = await on_cluster(
            lines, dask_cluster.scheduler.address, settings=SETTINGS.but(per_host=4)
        )
    finally:
        killer.cancel()
        dask_cluster.wait_for_workers(2, timeout=30)
    assert killed and sorted(r.url for r in records) == sorted(lines)
    assert {r.status for r in records} == {Status.PROCESSED}
    assert sum(site.hits.values()) > len(lines)  # the lost task's URLs were fetched again


def test_batch_on_a_local_cluster(site: Site, tmp_path: Path) -> None:
    urls = [site.page(f"/c{i}", f"<title>C{i}</title>") for i in range(12)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    db = tmp_path / "cli.db"
    result = run("batch", str(listing), "--cluster", "local:2", "--allow-private", "--db", str(db))
    assert (result.returncode, result.stderr.count("\n")) == (0, 1)  # the summary alone
    assert sorted(r["title"] for r in json_lines(result.stdout)) == sorted(
        f"C{i}" for i in range(12)
    )
    with Cache(db) as cache:
        assert [cache.get(u) is not None and cache.get(u).title for u in urls] == [  # type: ignore[union-attr]
            f"C{i}" for i in range(12)
        ]


def test_ctrl_c_stops_and_a_rerun_resumes(site: Site, dask_cluster: Any, tmp_path: Path) -> None:
    handle = delayed(0.02, Counter(), Counter())
    urls = [site.handler(f"/r{i}", handle) for i in range(150)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    args = ["batch", str(listing), "--cluster", "local:2", "--allow-private", "--per-host", "2"]
    args += ["--db", str(tmp_path / "resume.db"), "--format", "jsonl"]
    # a terminal's Ctrl-C: SIGINT to the whole process group, the Dask workers too
    with subprocess.Popen(
        [OG_PREVIEW, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=foreground,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        os.killpg(process.pid, signal.SIGINT)
        done = json_lines(first + process.stdout.read())  # (the buffer readline filled too)
        errors = process.stderr.read()
        process.wait(30)
    # the rerun (on the module's cluster, to save starting one) fetches only what was left
    again = run(*[dask_cluster.scheduler.address if a == "local:2" else a for a in args])
    refetched = [r["url"] for r in done if site.hits[r["url"].removeprefix(site.base)] != 1]
    quiet = all(line.startswith("og-preview: ") for line in errors.splitlines())
    assert (process.returncode, quiet, refetched) == (130, True, [])
    cached = [r["url"] for r in json_lines(again.stdout) if r["from_cache"]]
    assert (again.returncode, sorted(cached)) == (0, sorted(r["url"] for r in done))


def test_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("https://example.com/\n")
    started = time.monotonic()
    result = run("batch", str(listing), "--cluster", "tcp://127.0.0.1:1", timeout=30)
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert "tcp://127.0.0.1:1" in result.stderr and time.monotonic() - started < 15


@pytest.mark.parametrize("address", ["nonsense", "http://sched:8786", "local:0", "tcp://h:99999"])
def test_bad_addresses(address: str) -> None:
    with pytest.raises(ClusterError, match=r"^--cluster"):
        parse_address(address)


@pytest.mark.parametrize("address", ["nonsense", "local:0"])
def test_bad_address_is_one_line(address: str, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("https://example.com/\n")
    result = run("batch", str(listing), "--cluster", address)
    assert (result.returncode, result.stderr.count("\n")) == (2, 1)
    assert result.stderr.startswith("og-preview: error: --cluster")


async def test_a_version_mismatch_is_refused() -> None:
    class Client:
        async def run(self, function: Callable[[], str]) -> dict[str, str]:
            return {"tcp://10.0.0.7:4000": "0.0.1", "tcp://10.0.0.8:4000": function()}

        async def run_on_scheduler(self, function: Callable[[], str]) -> str:
            return function()

    with pytest.raises(ClusterError) as refused:
        await check_versions(Client())
    assert str(refused.value) == (
        f"og-preview {__version__} on the client but 0.0.1 on the Dask worker "
        "tcp://10.0.0.7:4000: run the same og-preview version on the client, the scheduler "
        "and every worker"
    )


def test_a_task_refuses_a_worker_of_another_version() -> None:
    with pytest.raises(VersionMismatch, match=f"0.0.1 on the client but {__version__} on"):
        preview_shard(["http://127.0.0.1:1/"], SETTINGS, expect_version="0.0.1")


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return out.stderr


def test_without_dask_the_error_says_what_to_install(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("https://example.com/\n")
    stderr = run_python(
        "import sys\n"
        "sys.modules['distributed'] = None\n"  # what `import distributed` sees without Dask
        "from og_preview.cli.app import main\n"
        f"sys.argv = ['og-preview', 'batch', {str(listing)!r}, '--cluster', 'local']\n"
        "main()\n"
    )
    assert stderr == (
        "og-preview: error: --cluster needs Dask: pip install 'og-preview[cluster]'\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["batch", "--help"],
        ["show", "--format", "jsonl"],
        ["batch", "LISTING", "--workers", "0", "--allow-private"],
    ],
)
def test_dask_is_imported_only_with_cluster(argv: list[str], site: Site, tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(site.page("/light", "<title>light</title>") + "\n")
    argv = [str(listing) if a == "LISTING" else a for a in argv]
    stderr = run_python(
        "import sys\n"
        "from og_preview.cli.app import main\n"
        f"sys.argv = ['og-preview', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('DASK=' + ','.join(m for m in ('dask', 'distributed') if m in sys.modules), "
        "file=sys.stderr)\n"
    )
    assert stderr.rstrip().endswith("DASK=")
