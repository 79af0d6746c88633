"""`og-preview parse`: saved pages (no network), several at once, with or without --url."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from og_preview.record import RECORD_KEYS
from tests.cli.helpers import json_lines, run

pytestmark = pytest.mark.e2e

RELATIVE = """<!doctype html><html><head><title>Relative</title>
<meta property="og:image" content="/img/a.png">
<link rel="icon" href="icons/fav.png">
</head><body></body></html>"""
CANONICAL = """<!doctype html><html><head><title>Canonical</title>
<meta property="og:image" content="../img/b.png">
<link rel="canonical" href="https://news.example/2026/post">
</head><body></body></html>"""
OG_URL = """<html><head><title>Og url</title>
<meta property="og:url" content="https://Blog.Example/entry">
<link rel="canonical" href="https://elsewhere.example/">
<meta name="twitter:image" content="cover.jpg">
</head></html>"""
RELATIVE_CANONICAL = """<html><head><title>Relative canonical</title>
<link rel="canonical" href="/post"><meta property="og:image" content="/i.png"></head></html>"""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def save(tmp_path: Path, name: str, body: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return str(path)


def test_several_files_one_record_each_in_order(tmp_path: Path) -> None:
    files = [
        save(tmp_path, "a.html", RELATIVE),
        save(tmp_path, "b.html", CANONICAL),
        save(tmp_path, "c.html", OG_URL),
    ]
    result = run("parse", *files, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    assert [r["title"] for r in records] == ["Relative", "Canonical", "Og url"]
    assert all(list(r) == list(RECORD_KEYS) for r in records)
    assert all(r["final_url"] is None and r["http_status"] is None for r in records)


def test_json_is_one_object_for_one_file_and_an_array_for_several(tmp_path: Path) -> None:
    one = save(tmp_path, "a.html", RELATIVE)
    two = save(tmp_path, "b.html", CANONICAL)
    assert json.loads(run("parse", one, "--format", "json").stdout)["title"] == "Relative"
    both = json.loads(run("parse", one, two, "--format", "json").stdout)
    assert [r["title"] for r in both] == ["Relative", "Canonical"]


def test_without_url_links_resolve_against_the_canonical(tmp_path: Path) -> None:
    [record] = json_lines(run("parse", save(tmp_path, "b.html", CANONICAL)).stdout)
    assert (record["url"], record["image"], record["icon"], record["canonical_url"]) == (
        "https://news.example/2026/post",
        "https://news.example/img/b.png",
        "https://news.example/favicon.ico",
        "https://news.example/2026/post",
    )


def test_og_url_comes_before_the_canonical_link(tmp_path: Path) -> None:
    [record] = json_lines(run("parse", save(tmp_path, "c.html", OG_URL)).stdout)
    assert (record["url"], record["image"]) == (
        "https://blog.example/entry",
        "https://blog.example/cover.jpg",
    )


def test_without_any_address_links_stay_as_written(tmp_path: Path) -> None:
    page = save(tmp_path, "saved page.html", RELATIVE)
    [record] = json_lines(run("parse", page).stdout)
    assert record["url"] == Path(page).resolve().as_uri()  # file:///.../saved%20page.html
    assert record["url"].startswith("file:///") and "%20" in record["url"]
    assert (record["status"], record["image"], record["icon"], record["canonical_url"]) == (
        "processed",
        "/img/a.png",
        "icons/fav.png",
        None,
    )
    assert record["images"][0]["url"] == "/img/a.png"


def test_a_relative_canonical_is_no_address(tmp_path: Path) -> None:
    page = save(tmp_path, "r.html", RELATIVE_CANONICAL)
    [record] = json_lines(run("parse", page).stdout)
    assert (record["url"], record["canonical_url"], record["image"]) == (
        Path(page).resolve().as_uri(),
        "/post",
        "/i.png",
    )


def test_url_wins_over_the_page_own_address(tmp_path: Path) -> None:
    page = save(tmp_path, "b.html", CANONICAL)
    [record] = json_lines(run("parse", page, "--url", "https://mirror.example/x/y").stdout)
    assert (record["url"], record["image"], record["canonical_url"]) == (
        "https://mirror.example/x/y",
        "https://mirror.example/img/b.png",
        "https://news.example/2026/post",
    )


def test_stdin_is_dash_and_read_when_no_file_is_given() -> None:
    [dash] = json_lines(run("parse", "-", stdin=RELATIVE).stdout)
    [implicit] = json_lines(run("parse", stdin=CANONICAL).stdout)
    assert (dash["url"], dash["title"], dash["image"]) == ("-", "Relative", "/img/a.png")
    assert (implicit["url"], implicit["title"]) == ("https://news.example/2026/post", "Canonical")


def test_stdin_between_files(tmp_path: Path) -> None:
    first = save(tmp_path, "a.html", RELATIVE)
    last = save(tmp_path, "c.html", OG_URL)
    result = run("parse", first, "-", last, stdin=CANONICAL)
    assert [r["title"] for r in json_lines(result.stdout)] == ["Relative", "Canonical", "Og url"]


@pytest.mark.parametrize(
    ("body", "looks_like", "content_type"),
    [
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
            "a PDF document",
            "application/pdf",
        ),
        (gzip.compress(RELATIVE.encode()), "gzip-compressed data", "application/gzip"),
        (PNG, "a PNG image", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image", "image/jpeg"),
        (bytes(range(256)) * 8, "binary data", "application/octet-stream"),
        (b"", "empty", None),
        (b"  \n\t\n", "empty", None),
        (b"just some notes, no markup at all\n", "text without any HTML markup", "text/plain"),
        (b'{"title": "<b>json</b>"}', "a JSON document", "application/json"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "an RSS feed", None),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><title>x</title></svg>', "an SVG image", None),
    ],
)
def test_a_file_that_is_not_html_is_a_not_html_error(
    tmp_path: Path, body: bytes, looks_like: str, content_type: str | None
) -> None:
    page = save(tmp_path, "saved.html", body)
    result = run("parse", page, "--url", "https://a.example/")
    [record] = json_lines(result.stdout)
    assert (result.returncode, record["status"], record["error"]["kind"]) == (
        1,
        "error",
        "not_html",
    )
    assert looks_like in record["error"]["message"]
    assert record["url"] == "https://a.example/"
    if content_type is not None:
        assert record["content_type"] == content_type
    assert f"not_html: not an HTML page: {looks_like}" in result.stderr


def test_not_html_among_pages_keeps_the_others(tmp_path: Path) -> None:
    good = save(tmp_path, "a.html", RELATIVE)
    bad = save(tmp_path, "b.pdf", b"%PDF-1.4\n")
    result = run("parse", good, bad, "--format", "jsonl", "--quiet")
    records = json_lines(result.stdout)
    assert (result.returncode, result.stderr) == (1, "")
    assert [r["status"] for r in records] == ["processed", "error"]
    assert records[1]["url"] == Path(bad).resolve().as_uri()


@pytest.mark.parametrize(
    "page",
    [
        "<!DOCTYPE html>\n<html><head><title>t</title></head></html>",
        '<?xml version="1.0"?>\n<!DOCTYPE html>\n<html xmlns="x"><title>t</title></html>',
        "<meta property='og:title' content='t'>",
        "\ufeff<title>t</title>",
        "<!-- saved from url=(0022)https://example.com/ -->\n<html><title>t</title></html>",
    ],
)
def test_html_pages_and_fragments_are_parsed(tmp_path: Path, page: str) -> None:
    [record] = json_lines(run("parse", save(tmp_path, "p.html", page)).stdout)
    assert (record["status"], record["title"]) == ("processed", "t")


def test_utf16_page_with_a_byte_order_mark(tmp_path: Path) -> None:
    page = save(tmp_path, "p.html", "<html><title>Grüße</title></html>".encode("utf-16"))
    [record] = json_lines(run("parse", page).stdout)
    assert (record["status"], record["title"]) == ("processed", "Grüße")


def test_a_missing_file_stops_before_anything_is_printed(tmp_path: Path) -> None:
    good = save(tmp_path, "a.html", RELATIVE)
    result = run("parse", good, str(tmp_path / "nope.html"))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"og-preview: error: file not found: {tmp_path / 'nope.html'}\n"


def test_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run("parse", str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert "is a directory" in result.stderr


def test_stdin_twice_is_a_usage_error() -> None:
    result = run("parse", "-", "-", stdin=RELATIVE)
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)


def test_an_invalid_url_is_a_usage_error(tmp_path: Path) -> None:
    result = run("parse", save(tmp_path, "a.html", RELATIVE), "--url", "ftp://x.example/")
    assert (result.returncode, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert "--url" in result.stderr


def test_help_names_no_cache_and_says_what_url_defaults_to() -> None:
    text = run("parse", "--help").stdout
    assert "cache" not in text.lower()
    assert "Usage: og-preview parse [OPTIONS] [FILE...]" in text
    assert "canonical" in text and "--url URL" in text
