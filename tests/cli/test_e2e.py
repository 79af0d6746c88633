"""End to end: the installed `og-preview` in a subprocess against a real local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from og_preview.record import RECORD_KEYS
from tests.cli.helpers import json_lines, run
from tests.site import Site

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html lang="en-GB"><head>
<title>Fallback title</title>
<meta property="og:title" content="The Title">
<meta property="og:description" content="The description.">
<meta property="og:image" content="/img/a.png">
<meta property="og:image:width" content="1200">
<meta property="og:site_name" content="Site">
<meta property="og:type" content="article">
<meta name="twitter:card" content="summary">
<link rel="icon" href="/favicon.png">
</head><body></body></html>"""


def test_fetch_json_has_every_key(site: Site) -> None:
    url = site.page("/page", PAGE)
    result = run("fetch", url, "--allow-private", "--format", "json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert list(record) == list(RECORD_KEYS)
    assert (record["title"], record["image"], record["status"]) == (
        "The Title",
        site.url("/img/a.png"),
        "processed",
    )


def test_fetch_values_and_fallbacks(site: Site) -> None:
    url = site.page("/page", PAGE)
    record = json.loads(run("fetch", url, "--allow-private", "--format", "json").stdout)
    assert {k: record[k] for k in ("site_name", "type", "lang", "icon", "http_status")} == {
        "site_name": "Site",
        "type": "article",
        "lang": "en-GB",
        "icon": site.url("/favicon.png"),
        "http_status": 200,
    }


def test_fetch_private_address_is_blocked_without_sending(site: Site) -> None:
    url = site.page("/page", PAGE)
    result = run("fetch", url, "--format", "json")
    assert (result.returncode, json.loads(result.stdout)["error"]["kind"], site.hits["/page"]) == (
        1,
        "blocked",
        0,
    )


def test_second_fetch_is_served_from_cache(site: Site) -> None:
    url = site.page("/page", PAGE)
    run("fetch", url, "--allow-private", "--format", "json")
    again = json.loads(run("fetch", url, "--allow-private", "--format", "json").stdout)
    assert (again["from_cache"], site.hits["/page"]) == (True, 1)


def test_fetch_piped_default_is_json_lines(site: Site) -> None:
    a = site.page("/a", PAGE)
    b = site.page("/b", PAGE)
    result = run("fetch", a, b, "--allow-private")
    assert [r["url"] for r in json_lines(result.stdout)] == [a, b]


def test_fetch_404_is_an_http_error_exit_1(site: Site) -> None:
    result = run("fetch", site.url("/nope"), "--allow-private", "--format", "json")
    record = json.loads(result.stdout)
    assert (result.returncode, record["error"]["kind"], record["error"]["http_status"]) == (
        1,
        "http",
        404,
    )


def test_parse_resolves_against_url_without_network(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    result = run("parse", str(page), "--url", "https://site.example/a", "--format", "json")
    record = json.loads(result.stdout)
    assert (record["image"], record["icon"]) == (
        "https://site.example/img/a.png",
        "https://site.example/favicon.png",
    )


def test_parse_reads_stdin() -> None:
    result = run("parse", "-", "--url", "https://site.example/", "--format", "json", stdin=PAGE)
    assert json.loads(result.stdout)["title"] == "The Title"


def test_parse_missing_file_is_usage_error(tmp_path: Path) -> None:
    result = run("parse", str(tmp_path / "nope.html"), "--url", "https://a.example/")
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)


@pytest.mark.parametrize(
    "args",
    [
        ["fetch", "https://a.example/", "--timeout", "abc"],
        ["fetch", "https://a.example/", "--timeout", "0"],
        ["fetch", "https://a.example/", "--max-age", "soon"],
        ["fetch", "https://a.example/", "--format", "xml"],
        ["batch", "/nonexistent/urls.txt"],
        ["batch", "-", "--concurrency", "0"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    result = run(*args, stdin="")
    assert (result.returncode, result.stderr.count("\n"), "Traceback" in result.stderr) == (
        2,
        1,
        False,
    )


def test_unwritable_db_is_usage_error() -> None:
    result = run("fetch", "https://a.example/", "--db", "/proc/og-preview/cache.db")
    assert (result.returncode, result.stderr.startswith("og-preview: error:")) == (2, True)


def test_invalid_url_is_a_record_exit_1() -> None:
    result = run("fetch", "javascript:alert(1)", "--format", "json")
    assert (result.returncode, json.loads(result.stdout)["error"]["kind"]) == (1, "invalid_url")


def test_help_lists_commands() -> None:
    result = run("--help")
    assert all(cmd in result.stdout for cmd in ("fetch", "batch", "show", "parse"))


JSONLD_PAGE = (
    '<html><head><title>T</title><script type="application/ld+json">'
    '{"@type": "Article", "headline": "H"}</script></head></html>'
)


def test_no_jsonld_drops_it_from_output_fresh_or_cached(site: Site) -> None:
    url = site.page("/ld", JSONLD_PAGE)
    fresh = json.loads(run("fetch", url, "--allow-private", "--no-jsonld", "-f", "json").stdout)
    cached = json.loads(run("fetch", url, "--allow-private", "--no-jsonld", "-f", "json").stdout)
    full = json.loads(run("fetch", url, "--allow-private", "-f", "json").stdout)
    assert (fresh["jsonld"], cached["jsonld"], cached["from_cache"], len(full["jsonld"])) == (
        [],
        [],
        True,
        1,
    )
