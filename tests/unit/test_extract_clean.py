"""Cleaning helpers and bot-challenge detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview.extract.challenge import looks_like_challenge
from og_preview.extract.clean import _resolve, clean_date, clean_lang, clean_text, clean_url
from og_preview.extract.metadata import extract

BASE = "https://example.com/a/b.html"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a \n\t b  ", "a b"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("&lt;b&gt;", "<b>"),
        ("bell\x07 and\x00 nul", "bell and nul"),
        ("zero\u200bwidth", "zerowidth"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_clean_text(raw: str | None, expected: str | None) -> None:
    assert clean_text(raw) == expected


def test_clean_text_cap() -> None:
    text = clean_text("word " * 1000, cap=50)
    assert text is not None and len(text) == 50 and text.endswith("\u2026")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/x.png", "https://example.com/x.png"),
        ("x.png", "https://example.com/a/x.png"),
        ("//cdn.example/x.png", "https://cdn.example/x.png"),
        (" http://other.example/p?q=1&amp;r=2 ", "http://other.example/p?q=1&r=2"),
        ("/a b.png", "https://example.com/a%20b.png"),
        ("/x\n.png", "https://example.com/x.png"),
        ("javascript:alert(1)", None),
        ("data:image/png;base64,xx", None),
        ("mailto:a@example.com", None),
        ("https://", None),
        ("http://[bad", None),
        ("/" + "x" * 5000, None),
        ("", None),
    ],
)
def test_clean_url(raw: str, expected: str | None) -> None:
    assert clean_url(raw, BASE) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-12-09T12:00:00.000Z", "2021-12-09T12:00:00+00:00"),
        ("2021-12-09T12:00:00+0530", "2021-12-09T12:00:00+05:30"),
        ("2021-12-09 12:00:00 -0700", "2021-12-09T12:00:00-07:00"),
        ("2016-05-04@15:56:14 UTC", None),
        ("2021/12/09", "2021-12-09"),
        ("2021-12-09", "2021-12-09"),
        ("2021-02-30", None),
        ("Thu, 09 Dec 2021 12:00:00 GMT", "2021-12-09T12:00:00+00:00"),
        ("December 9, 2021", "2021-12-09"),
        ("9 Dec 2021", "2021-12-09"),
        ("1639051200", "2021-12-09T12:00:00+00:00"),
        ("1639051200000", "2021-12-09T12:00:00+00:00"),
        ("yesterday", None),
        ("0001-01-01", None),
        ("", None),
    ],
)
def test_clean_date(raw: str, expected: str | None) -> None:
    assert clean_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("en_us", "en-US"),
        ("EN", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("fr, en;q=0.8", "fr"),
        ("not a tag", None),
        ("", None),
    ],
)
def test_clean_lang(raw: str, expected: str | None) -> None:
    assert clean_lang(raw) == expected


CHALLENGES = [
    "<html><head><title>Just a moment...</title></head><body>Checking</body></html>",
    "<title>Attention Required! | Cloudflare</title>",
    "<title>DDoS-Guard</title>",
    "<title>Access to this page has been denied.</title><div id='px-captcha'></div>",
    "<html><body><script>window._cf_chl_opt={cvId: '2'};</script></body></html>",
    "<form id='challenge-form' class='cf-browser-verification'></form>",
    "<title>Vercel Security Checkpoint</title>",
    "<script src='https://geo.captcha-delivery.com/captcha/?initialCid=x'></script>",
]


@pytest.mark.parametrize("html", CHALLENGES)
def test_challenge_pages_are_flagged(html: str) -> None:
    assert extract(html, BASE).challenge


NORMAL = [
    "<title>Just a moment in history: the 1969 landing</title>",
    "<title>Cloudflare blog</title><p>How our challenge-platform works</p>",
    "<title>News</title><script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>",
    "<title>Captcha solving services compared</title>",
    "",
]


@pytest.mark.parametrize("html", NORMAL)
def test_normal_pages_are_not_flagged(html: str) -> None:
    assert not extract(html, BASE).challenge


def test_markers_in_big_pages_are_ignored() -> None:
    html = "<title>Article</title>" + "<p>text</p>" * 20_000 + "<!-- _cf_chl_opt -->"
    assert not looks_like_challenge(html.encode().lower(), "Article")


def test_markers_in_described_pages_are_ignored() -> None:
    og = '<meta property="og:title" content="A product page">'
    assert not extract(og + "<script>window._cf_chl_opt={};</script>", BASE).challenge
    assert extract(og + "<title>Just a moment...</title>", BASE).challenge


_URL_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "HTTP",
        "://",
        ":",
        "//",
        "/",
        "a",
        "B",
        "x.org",
        "-",
        ".",
        "80",
        "?",
        "#",
        ";",
        "&",
        "&amp;",
        "&#38;",
        "=",
        "@",
        "%20",
        "%zz",
        " ",
        "\t",
        "é",
        "[",
        "]",
        "\\",
        "'",
        '"',
        "~",
        "data:",
        "javascript:",
    ]
)
_BASES = st.sampled_from(
    [None, "https://base.example/dir/page.html", "http://base.example/", "https://x.org/a/b"]
)


@settings(max_examples=2000)
@given(st.builds("".join, st.lists(_URL_PIECES, max_size=14)), _BASES)
def test_clean_url_shortcut_agrees_with_resolving(value: str, base: str | None) -> None:
    """Plain absolute URLs skip urljoin/urlsplit: the answer must be the same."""
    for candidate in (value, "https://" + value, "http://x.org/" + value):
        assert clean_url(candidate, base) == _resolve(candidate, base)
