"""The batch's worker zygote: launched workers preview, nothing outlives the run.

The zygote forks the process that starts it, so these tests start it in a fresh
subprocess (pytest's own process has threads), as `og-preview` does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from og_preview.zygote import wanted_capacity
from tests.cli.helpers import python_prints
from tests.site import Site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PAGE = "<html><head><title>From a zygote worker</title></head></html>"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["og-preview", "batch", "urls.txt"], "one per core"),
        (["og-preview", "batch", "urls.txt", "--workers", "3"], 3),
        (["og-preview", "batch", "-w", "1", "urls.txt"], 1),
        (["og-preview", "batch", "--workers=4", "-"], 4),
        (["og-preview", "batch", "urls.txt", "-w", "0"], 0),
        (["og-preview", "batch", "urls.txt", "--workers", "lots"], 0),
        (["og-preview", "fetch", "https://example.com/"], 0),
        (["og-preview", "show", "--stats"], 0),
        (["og-preview", "batch", "--help"], 0),
        (["og-preview"], 0),
    ],
)
def test_capacity_follows_the_command_line(argv: list[str], expected: int | str) -> None:
    from og_preview.shards import default_workers

    assert wanted_capacity(argv) == (default_workers() if expected == "one per core" else expected)


def test_reading_the_capacity_imports_nothing_heavy() -> None:
    """What runs before the fork is paid by the zygote and the main process both."""
    code = (
        "import sys\n"
        "from og_preview import zygote\n"
        "zygote.wanted_capacity(['og-preview', 'batch', 'urls.txt'])\n"
        "print(sorted(m for m in ('asyncio', 'og_preview.shards', 'orjson', 'aiohttp', 'typer')"
        " if m in sys.modules))\n"
    )
    assert python_prints(code) == "[]"


SCRIPT = """
import asyncio, json, os, sys
from og_preview import zygote
from og_preview.config import Settings
ready = zygote.start(2)
from og_preview.shards import ShardPool

async def main(urls):
    pool = ShardPool(Settings(allow_private=True, retries=0), 2)
    assert pool.adopt(zygote.take())
    try:
        records = await asyncio.gather(*(pool.run(u) for u in urls))
        pids = [w.launched.process.pid for w in pool._workers]
    finally:
        await pool.close()
    return [r.title for r in records], pids, ready.pid

titles, pids, zygote_pid = asyncio.run(main(sys.argv[1:]))
print(json.dumps({"titles": titles, "pids": pids, "zygote": zygote_pid, "me": os.getpid()}))
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


@pytest.mark.skipif(sys.platform != "linux", reason="the zygote is Linux only")
def test_zygote_workers_preview_and_are_gone_after(site: Site) -> None:
    urls = [site.page(f"/z{i}", PAGE) for i in range(6)]
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *urls],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["titles"] == ["From a zygote worker"] * 6
    pids = result["pids"]
    assert len(set(pids)) == 2 and result["me"] not in pids and result["zygote"] not in pids
    assert not any(_alive(pid) for pid in [*pids, result["zygote"]])


def _processes() -> dict[int, tuple[int, bytes]]:
    """Every live process: pid -> (parent pid, command line)."""
    found: dict[int, tuple[int, bytes]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and _alive(int(name)):
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            found[int(name)] = (int(stat[stat.rfind(b")") + 2 :].split()[1]), cmdline)
    return found


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, (parent, _cmdline) in _processes().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="the zygote is Linux only")
@pytest.mark.parametrize(("extra", "workers"), [((), 2), (("-w", "0"), 0)])
def test_cli_batch_process_tree(
    site: Site, tmp_path: Path, extra: tuple[str, ...], workers: int
) -> None:
    """`batch` runs its workers under one zygote (none with -w 0) and leaves nothing."""
    import asyncio

    from aiohttp import web

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.5)
        return web.Response(text=PAGE, content_type="text/html")

    urls = tmp_path / "urls.txt"
    urls.write_text("".join(site.handler(f"/t{i}", slow) + "\n" for i in range(4)))
    binary = Path(sys.executable).parent / "og-preview"
    proc = subprocess.Popen(
        [str(binary), "batch", str(urls), "--allow-private", "--no-cache", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.0)  # the pages take 1.5 s: the workers are busy now
        tree = _descendants(proc.pid)
        # none of them holds our stdout: a pipe reading it ends when og-preview does
        stdouts = {os.readlink(f"/proc/{pid}/fd/1") for pid in tree}
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 4
    # with workers: the zygote and its workers; without: no process of ours at all
    assert len(tree) == (workers + 1 if workers else 0), tree
    assert stdouts <= {"/dev/null"}
    assert not any(_alive(pid) for pid in tree)


def _ours(marker: str) -> list[int]:
    return [pid for pid, (_parent, cmdline) in _processes().items() if marker.encode() in cmdline]


@pytest.mark.skipif(sys.platform != "linux", reason="the zygote is Linux only")
def test_a_usage_error_leaves_no_zygote_behind(tmp_path: Path) -> None:
    urls = tmp_path / "zygote-usage-error.txt"
    urls.write_text("https://example.com/\n")
    binary = Path(sys.executable).parent / "og-preview"
    out = subprocess.run(
        [str(binary), "batch", str(urls), "--concurrency", "lots"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert _ours(str(urls)) == []
