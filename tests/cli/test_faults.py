"""Faults end cleanly: a reader that goes away (`batch | head -1`), a disk that fills up."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli.helpers import OG_PREVIEW, json_lines
from tests.site import Site


def _slow_pages(site: Site, count: int, prefix: str, size: int = 0) -> list[str]:
    padding = "<!-- " + "x" * size + " -->" if size else ""

    async def handle(request: web.Request) -> web.StreamResponse:
        text = f"<title>{request.path}</title>{padding}"
        jsonld = '<script type="application/ld+json">{"@type":"Article","text":"%s"}</script>'
        return web.Response(text=text + jsonld % ("y" * size), content_type="text/html")

    return [site.handler(f"/{prefix}/{i}", handle) for i in range(count)]


def test_batch_into_head_stops_quietly_and_leaves_nothing_pending(
    site: Site, tmp_path: Path
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(_slow_pages(site, 300, "head")) + "\n")
    db = tmp_path / "head.db"
    done = subprocess.run(
        f"{OG_PREVIEW} batch {listing} --allow-private --db {db} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (len(json_lines(done.stdout)), done.stderr.count("Traceback")) == (1, 0)
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM previews GROUP BY status"))
    conn.close()
    assert "pending" not in statuses


def _private_tmpfs() -> str | None:
    """Why a small tmpfs in a private mount namespace cannot be made here, or None."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
    )
    return None if probe.returncode == 0 else f"no private mount namespace: {probe.stderr}"


def test_a_full_disk_stops_the_batch_in_one_line_and_keeps_what_was_printed(
    site: Site, tmp_path: Path
) -> None:
    why = _private_tmpfs()
    if why is not None:
        pytest.skip(why)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(_slow_pages(site, 3000, "full", size=600)) + "\n")
    disk = tmp_path / "disk"
    disk.mkdir()
    out, err, kept = tmp_path / "out.jsonl", tmp_path / "err.txt", tmp_path / "kept.db"
    # the cache on a 1.2 MiB tmpfs seen by this command only (a group of records, at most
    # 256 of ~1.5 kB, fits; 3,000 do not); its file copied out after
    script = (
        f"mount -t tmpfs -o size=1200k tmpfs {disk} && "
        f"{OG_PREVIEW} batch {listing} --allow-private --db {disk}/cache.db > {out} 2> {err}; "
        f"echo $? > {tmp_path}/rc; cp {disk}/cache.db {kept}; "
        f"cp {disk}/cache.db-wal {kept}-wal 2>/dev/null; true"
    )
    subprocess.run(
        ["unshare", "--mount", "sh", "-c", script], check=True, timeout=120, env=dict(os.environ)
    )
    code = int((tmp_path / "rc").read_text())
    message = err.read_text()
    assert code == 2, message
    assert "Traceback" not in message
    assert "disk is full" in message and "run the same command again" in message
    printed = {r["url"] for r in json_lines(out.read_text())}
    assert printed  # some records made it before the disk filled up
    with sqlite3.connect(kept) as conn:
        rows = dict(conn.execute("SELECT url, status FROM previews"))
    conn.close()
    assert all(rows.get(url) == "processed" for url in printed)
