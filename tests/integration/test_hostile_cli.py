"""Hostile networks through the installed CLI: `og-preview batch` in a subprocess.

The headline test runs one batch over every hostile route at once and holds it
to a time budget, one record per input, honest exit code and summary, an
intact cache and a memory ceiling for the whole process tree.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import OG_PREVIEW, json_lines, run
from tests.hostile import Hostile
from tests.hostile_routes import PRIVATE_SPELLINGS
from tests.proctree import run_measured

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

TIMEOUT = 2
ATTEMPTS = 2  # --retries 1
BUDGET = TIMEOUT * ATTEMPTS + 6  # the trickle's two attempts, plus start-up and a margin
# PSS, not the sum of RSS: the workers share the pages of the forkserver they are forked
# from (aiohttp, turbohtml, extruct), which a sum of RSS counts once a process.
PSS_CEILING = 200 * 1024 * 1024
CPUS = 2  # og-preview runs a worker process per core: the memory bound is for two cores
SUMMARY = re.compile(
    r"(?P<total>\d+) URLs in [\d.]+s \(\d+/s\): (?P<processed>\d+) processed, "
    r"(?P<cached>\d+) cached, (?P<errors>\d+) errors(?: \((?P<kinds>[^)]*)\))?"
)


def outcome(record: dict[str, Any]) -> str:
    return str(record["error"]["kind"]) if record["error"] else str(record["status"])


def parse_summary(stderr: str) -> tuple[dict[str, int], Counter[str]]:
    match = SUMMARY.search(stderr)
    assert match is not None, stderr
    counts = {k: int(match[k]) for k in ("total", "processed", "cached", "errors")}
    kinds: Counter[str] = Counter()
    for part in (match["kinds"] or "").split(", "):
        if part:
            name, _, number = part.partition(": ")
            kinds[name] = int(number)
    return counts, kinds


def test_batch_over_every_hostile_route(hostile: Hostile, tmp_path: Path) -> None:
    routes = list(hostile.route_urls())
    urls = [url for _, url in routes]
    db = tmp_path / "hostile.db"
    args = ["batch", "-", "--allow-private", "--timeout", str(TIMEOUT), "--retries", "1"]
    measured = run_measured(
        [OG_PREVIEW, *args, "-c", "32", "--db", str(db)],
        "\n".join(urls) + "\n",
        timeout=BUDGET * 3,
        cpus=CPUS,
    )
    records = json_lines(measured.stdout)
    report = (
        f"wall {measured.wall:.1f}s, peak RSS {measured.peak_rss / 2**20:.0f} MB "
        f"(PSS {measured.peak_pss / 2**20:.0f} MB)"
    )

    # every input URL yields exactly one record, with the outcome its route promises
    assert sorted(r["url"] for r in records) == sorted(urls), report
    got = {url: outcome(r) for url, r in ((r["url"], r) for r in records)}
    assert {r.name: got[url] for r, url in routes} == {r.name: r.expect for r, _ in routes}

    # some errors: exit 1; the summary on stderr matches the records
    assert measured.returncode == 1, measured.stderr
    assert "Traceback" not in measured.stderr
    counts, kinds = parse_summary(measured.stderr)
    by_outcome = Counter(outcome(r) for r in records)
    assert counts == {
        "total": len(records),
        "processed": by_outcome["processed"],
        "cached": 0,
        "errors": len(records) - by_outcome["processed"],
    }
    assert kinds == Counter({k: n for k, n in by_outcome.items() if k != "processed"})

    # every record is in the cache, and the file is sound
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM previews").fetchone() == (len(urls),)
    conn.close()

    # bounded: time and memory
    assert measured.wall < BUDGET, report
    print(report)
    assert measured.peak_pss < PSS_CEILING, report


def test_a_bigger_max_bytes_reaches_late_og_tags(hostile: Hostile) -> None:
    """With the default 2 MiB the page is too_large (see the batch above); 4 MiB reaches them."""
    result = run(
        "fetch", hostile.url("/og-after-3mb"), "--allow-private", "--no-cache",
        "--max-bytes", "4MiB", "--format", "json",
    )  # fmt: skip
    record = json.loads(result.stdout)
    assert (outcome(record), record["title"], result.returncode) == ("processed", "Late OG", 0)


def test_nothing_is_ever_sent_to_a_blocked_address(hostile: Hostile) -> None:
    """Without --allow-private: every spelling, as input and as redirect, is blocked unsent."""
    victim = hostile.ports["victim"]
    urls = [f"http://{spelling}:{victim}/" for spelling in PRIVATE_SPELLINGS]
    urls += [hostile.url(f"/redirect/spelled/{spelling}") for spelling in PRIVATE_SPELLINGS]
    urls += [hostile.url("/redirect/metadata"), hostile.url("/redirect/other-port")]
    result = run("batch", "-", "--timeout", "1", "--no-cache", stdin="\n".join(urls) + "\n")
    records = json_lines(result.stdout)
    assert sorted(r["url"] for r in records) == sorted(urls)
    assert {outcome(r) for r in records} == {"blocked"}
    assert (result.returncode, hostile.hits()) == (1, [])
