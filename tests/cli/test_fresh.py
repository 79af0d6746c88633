"""Fresh previews: conditional revalidation (304), `changed`, `--changed-only`,
`--check-images` and the report's image badges, end to end through the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from aiohttp import web

from tests.cli.fresh_site import Pages, image
from tests.cli.helpers import json_lines, run
from tests.site import Site


def test_revalidation_changed_and_changed_only(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    urls = [pages.add(f"p{i}", f"Page {i}") for i in range(4)]
    urls.append(pages.add("plain", "Plain", validators=False))
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    args = ["batch", str(listing), "--allow-private", "--max-age", "0"]

    first = run(*args)
    records = json_lines(first.stdout)
    assert (first.returncode, {r["changed"] for r in records}) == (0, {None})

    pages.answers.clear()
    second = run(*args)
    by_url = {r["url"]: r for r in json_lines(second.stdout)}
    assert second.returncode == 0
    assert sorted(pages.answers) == [
        ("p0", 304),
        ("p1", 304),
        ("p2", 304),
        ("p3", 304),
        ("plain", 200),
    ]
    assert {url: r["changed"] for url, r in by_url.items()} == dict.fromkeys(urls, False)
    assert by_url[urls[0]]["title"] == "Page 0" and by_url[urls[0]]["from_cache"] is True
    assert "4 revalidated (304), 0 changed" in second.stderr

    pages.bodies["p2"] = "Page 2, edited"
    third = run(*args)
    changed = [r["url"] for r in json_lines(third.stdout) if r["changed"]]
    assert changed == [urls[2]]
    only = run(*args, "--changed-only")
    assert json_lines(only.stdout) == []  # (nothing moved since the third run)
    pages.bodies["p3"] = "Page 3, edited"
    only = run(*args, "--changed-only")
    assert [r["url"] for r in json_lines(only.stdout)] == [urls[3]]
    assert json_lines(only.stdout)[0]["title"] == "Page 3, edited"


def test_check_images_says_broken_and_the_report_shows_it(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    url = pages.add("img", "With an image")
    image(site, status=404)
    result = run("fetch", url, "--allow-private", "--check-images", "--format", "json")
    record = json.loads(result.stdout)
    assert record["image_check"]["status"] == "broken"
    assert record["image_check"]["http_status"] == 404
    report = tmp_path / "report.html"
    made = run("report", "-o", str(report))
    assert made.returncode == 0, made.stderr
    assert "image broken (HTTP 404)" in report.read_text()


def test_check_images_reads_the_size(site: Site) -> None:
    pages = Pages(site)
    url = pages.add("img-ok", "A good image")
    image(site)
    result = run("batch", "-", "--allow-private", "--check-images", stdin=url + "\n")
    check = json_lines(result.stdout)[0]["image_check"]
    assert (check["status"], check["width"], check["height"]) == ("ok", 1200, 630)


def test_a_failed_refresh_keeps_the_preview_and_says_so(site: Site) -> None:
    pages = Pages(site)
    url = pages.add("flaky", "Good")
    assert run("fetch", url, "--allow-private").returncode == 0

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="down")

    site.handler("/fresh/flaky", broken)
    result = run("fetch", url, "--allow-private", "--refresh", "--retries", "0")
    record = json_lines(result.stdout)[0]
    assert (record["title"], record["from_cache"]) == ("Good", True)
    assert record["last_error"]["kind"] == "http" and record["last_error"]["at"]
    assert "refresh failed" in result.stderr and "HTTP 500" in result.stderr
    with sqlite3.connect(os.environ["OG_PREVIEW_DB"]) as conn:
        (title,) = conn.execute("SELECT title FROM previews WHERE url = ?", (url,)).fetchone()
    conn.close()
    assert title == "Good"
