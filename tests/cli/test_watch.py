"""`og-preview watch`: revalidation on a schedule, a JSON line per change, a live
status on a terminal, Ctrl-C to stop (exit 130, nothing left pending)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from og_preview.record import Preview
from og_preview.run.watch import WatchStatus, is_news, watch
from og_preview.store.cache import Cache
from tests.cli.fresh_site import Pages
from tests.cli.helpers import OG_PREVIEW, foreground, run_in_terminal, screen_text
from tests.site import Site


def test_watch_on_a_terminal_prints_changes_and_stops_on_ctrl_c(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    urls = [pages.add(f"w{i}", f"Watched {i}") for i in range(3)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")

    def edit(_: subprocess.Popen[bytes]) -> None:
        pages.bodies["w1"] = "Watched 1, edited"

    def stop(proc: subprocess.Popen[bytes]) -> None:
        time.sleep(1.5)  # (another round: the unchanged pages answer 304)
        proc.send_signal(signal.SIGINT)

    code, output = run_in_terminal(
        ["watch", str(listing), "--every", "1s", "--allow-private"],
        3000,  # (wide enough for a JSON line on one row)
        steps=[("Watched 2", edit), ("Watched 1, edited", stop)],
        timeout=40,
    )
    screen = "\n".join(screen_text(output, 3000))
    assert code == 130, screen
    titles = [json.loads(line)["title"] for line in screen.splitlines() if line.startswith("{")]
    assert sorted(titles[:3]) == ["Watched 0", "Watched 1", "Watched 2"]  # first previews
    assert titles[3:] == ["Watched 1, edited"]  # then only the change
    assert "watched 3 URLs" in screen and "changes" in screen
    assert any(code == 304 for _, code in pages.answers)  # unchanged pages cost a 304
    with sqlite3.connect(os.environ["OG_PREVIEW_DB"]) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM previews GROUP BY status"))
    conn.close()
    assert statuses == {"processed": 3}


def test_watch_piped_is_json_lines_and_sigterm_stops_it(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    urls = [pages.add(f"t{i}", f"Piped {i}") for i in range(2)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    proc = subprocess.Popen(
        [OG_PREVIEW, "watch", str(listing), "--every", "1s", "--allow-private"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=foreground,
    )
    assert proc.stdout is not None
    first = [json.loads(proc.stdout.readline()) for _ in range(2)]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out) == (143, ""), err
    assert sorted(r["title"] for r in first) == ["Piped 0", "Piped 1"]
    assert err.strip().startswith("og-preview: watched 2 URLs")


def test_the_library_watch_yields_changes_only(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    urls = [pages.add(f"lib{i}", f"Lib {i}") for i in range(3)]
    from og_preview.config import Settings

    settings = Settings(allow_private=True, parse_workers=0)

    async def main() -> tuple[list[Preview], WatchStatus]:
        status = WatchStatus()
        seen: list[Preview] = []
        with Cache(tmp_path / "watch.db") as cache:
            changes = watch(urls, 0.3, settings, cache, status=status, seed=1)
            async for record in changes:
                seen.append(record)
                if len(seen) == 3:
                    pages.bodies["lib0"] = "Lib 0, edited"
                if len(seen) == 4:
                    break
            await changes.aclose()
        return seen, status

    seen, status = asyncio.run(asyncio.wait_for(main(), 30))
    assert [r.title for r in seen[3:]] == ["Lib 0, edited"]
    assert all(is_news(r) for r in seen)
    assert (status.watched, status.changed, status.checked >= 4) == (3, 4, True)


def test_fresh_urls_are_spread_over_the_interval_and_checks_jittered() -> None:
    import random

    from og_preview.run.watch import first_due, next_due

    rng = random.Random(7)
    urls = [f"https://a.example/{i}" for i in range(1000)]
    fresh = set(urls[:900])
    due = first_due(urls, fresh, 100.0, 60.0, rng)
    times = {url: when for when, url in due}
    assert all(times[url] == 100.0 for url in urls[900:])  # not cached: at once
    spread = sorted(times[url] for url in urls[:900])
    assert 100.0 <= spread[0] < 103.0 and 157.0 < spread[-1] < 160.0  # the whole minute
    assert max(sum(1 for t in spread if s <= t < s + 6) for s in range(100, 160, 6)) < 150
    nexts = [next_due(0.0, 60.0, 0.1, rng) for _ in range(1000)]
    assert 54.0 <= min(nexts) < 55.0 and 65.0 < max(nexts) <= 66.0
