"""Worker processes: caps split between them, a dead worker costs only its URLs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from og_preview.config import Settings
from og_preview.run.pool import WorkerPool, share, worker_count
from tests.site import Site

pytestmark = pytest.mark.integration

SETTINGS = Settings(allow_private=True, backoff_initial=0.01, retries=0)
PAGE = "<html><head><title>Shard</title></head></html>"


@pytest.mark.parametrize(("total", "parts"), [(32, 2), (8, 3), (3, 2), (1, 1)])
def test_shares_add_up_to_the_cap(total: int, parts: int) -> None:
    assert sum(share(total, parts, i) for i in range(parts)) == total


def test_no_more_workers_than_the_per_host_cap_can_feed() -> None:
    assert worker_count(Settings(per_host=1), 4) == 1


async def test_pool_previews_in_workers(site: Site) -> None:
    pool = WorkerPool(SETTINGS, 2)
    try:
        records = [await pool.run(site.page(f"/s{i}", PAGE)) for i in range(3)]
        pids = {w.process.pid for w in pool._workers}
    finally:
        await pool.close()
    assert ([r.title for r in records], len(pids), os.getpid() in pids) == (
        ["Shard"] * 3,
        2,
        False,
    )


async def test_a_dead_worker_costs_only_its_urls(site: Site) -> None:
    pool = WorkerPool(SETTINGS, 2)
    try:
        await pool.start()
        victim = pool._workers[0].process
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(5)
        records = [await pool.run(site.page(f"/d{i}", PAGE)) for i in range(4)]
    finally:
        await pool.close()
    titles = sorted(r.title or (r.error.kind.value if r.error else "") for r in records)
    assert titles.count("Shard") >= 3 and len(records) == 4


async def _slow(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(0.5)
    return web.Response(text=PAGE, content_type="text/html")


async def test_a_worker_killed_mid_run_costs_no_record(site: Site) -> None:
    """SIGKILL a worker with URLs in flight: it is replaced, its URLs are tried again in
    another worker, and every URL still gets its record."""
    pool = WorkerPool(SETTINGS.but(concurrency=8, per_host=8), 2)
    try:
        await pool.start()
        victim = pool._workers[0].process
        urls = [site.handler(f"/k{i}", _slow) for i in range(8)]
        running = [asyncio.ensure_future(pool.run(url)) for url in urls]
        await asyncio.sleep(0.2)  # handed out, not answered yet
        assert victim.pid is not None and pool._workers[0].waiting
        os.kill(victim.pid, signal.SIGKILL)
        records = await asyncio.wait_for(asyncio.gather(*running), 30)
        replaced = [w.process.pid for w in pool._workers if w.alive]
    finally:
        await pool.close()
    assert [r.title for r in records] == ["Shard"] * 8
    assert len(replaced) == 2 and victim.pid not in replaced


async def test_a_stuck_worker_is_replaced(site: Site) -> None:
    """A worker whose event loop stops answering (SIGSTOP here; a page stuck in C code in
    real life) for longer than the parse deadline allows is killed and replaced, and its
    URLs are tried again elsewhere."""
    pool = WorkerPool(SETTINGS.but(concurrency=4, per_host=4, parse_timeout=0.1), 2)
    try:
        await pool.start()
        stuck = pool._workers[0].process
        assert stuck.pid is not None
        os.kill(stuck.pid, signal.SIGSTOP)
        urls = [site.page(f"/st{i}", PAGE) for i in range(4)]
        records = await asyncio.wait_for(asyncio.gather(*(pool.run(u) for u in urls)), 30)
    finally:
        await pool.close()
    assert [r.title for r in records] == ["Shard"] * 4
    assert not stuck.is_alive()


async def test_close_leaves_no_process_behind(site: Site) -> None:
    pool = WorkerPool(SETTINGS, 2)
    await pool.run(site.page("/c", PAGE))
    processes = [w.process for w in pool._workers]
    await pool.close()
    assert [p.is_alive() for p in processes] == [False, False]


def test_a_script_without_main_guard_works(site: Site, tmp_path: Path) -> None:
    """Workers never re-run the caller's script (no `if __name__ == "__main__"` needed)."""
    url = site.page("/script", PAGE)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import asyncio, contextlib\n"
        "from og_preview import Settings, preview_many\n"
        "print('script body ran')\n"
        "async def main():\n"
        "    settings = Settings(allow_private=True, parse_workers=2)\n"
        f"    async with contextlib.aclosing(preview_many([{url!r}], settings)) as results:\n"
        "        async for record in results:\n"
        "            print(record.status.value, record.title)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["script body ran", "processed Shard"]
