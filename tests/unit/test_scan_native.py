"""The compiled token pass (og_preview/_scan.c) against its Python reference (scan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview import scan
from og_preview.scan import (
    _AUTHOR_WORDS,
    _DATE_WORDS,
    BIG_SKIP,
    MAX_FRAGMENT_BYTES,
    MAX_FRAGMENTS,
    MAX_SIGNAL_HITS,
    MAX_TIMES,
    MAX_WINDOWS,
    Scan,
    tokens_python,
)

native = pytest.importorskip("og_preview._scan", reason="the C token pass is not built here")

LIMITS = (MAX_FRAGMENTS, MAX_FRAGMENT_BYTES, MAX_TIMES)


def both(data: bytes, body_at: int | None = None, limits: tuple[int, int, int] = LIMITS) -> None:
    at = Scan(data).body_at if body_at is None else body_at
    assert native.tokens(data, at, *limits) == tokens_python(data, at, *limits)


WORDS = (_AUTHOR_WORDS + _DATE_WORDS, _AUTHOR_WORDS, _DATE_WORDS)


def signals(
    data: bytes, words: tuple[bytes, ...], limits: tuple[int, int, int] | None = None
) -> None:
    page = Scan(data)
    page.document()  # records the comments, scripts and styles
    windows, hits, big = limits or (MAX_WINDOWS, MAX_SIGNAL_HITS, BIG_SKIP)
    scan_limits = (scan.MAX_WINDOWS, scan.MAX_SIGNAL_HITS, scan.BIG_SKIP)
    scan.MAX_WINDOWS, scan.MAX_SIGNAL_HITS, scan.BIG_SKIP = windows, hits, big
    try:
        expected = page.signal_tags_python(words)
    finally:
        scan.MAX_WINDOWS, scan.MAX_SIGNAL_HITS, scan.BIG_SKIP = scan_limits
    got = native.signal_tags(data, page.body_at, page._skipped, words, windows, hits, big)
    assert got == expected


def test_scan_uses_the_compiled_passes_when_built() -> None:
    assert scan._tokens is native.tokens
    assert scan._native_signal_tags is native.signal_tags


@pytest.mark.parametrize(
    "page",
    [
        b"",
        b"<",
        b"<html lang=en><HEAD><META property='og:title' content=\"a>b\"><title>T</title>",
        b"<!-- <meta name=x content=y> --><meta name=a content=b>",
        b"<!--><meta name=a content=b>-->",
        b"<script>var a = '<meta name=x>';</script ><meta name=y content=z>",
        b'<script type="application/LD+JSON">{"a": 1}</SCRIPT\n>',
        b"<script type=application/ld+json>{}",
        b"<script",
        b"<style>p{}</style\t><link rel=ICON href=/i.png><link rel=stylesheet href=s.css>",
        b"<style",
        b"<title>a<title>b</title><title>c</title>",
        b"<title>unterminated",
        b"<meta content='unterminated><meta name=b content=c>",
        b'<meta content="x',
        b"<metadata><meta/><meta\n><meta",
        b"</head><body><time datetime=2020-01-01>x</time><TIME>y</TIME>",
        b"<html><html lang=fr><head><head x>",
        b"<base href=/b/><link rel=canonical href=/c><link rel=image_src href=/i>",
        b"<scripts><styles><titles><timer><header><htmlx><bases><links><metas>",
        "<title>caf\u00e9 \u2013 \u6771\u4eac</title>".encode(),
        b"<!---->" * 3 + b"<!-- -- -->",
    ],
)
def test_hand_written_pages(page: bytes) -> None:
    both(page)
    both(page, body_at=0)


def test_the_limits_stop_both_at_the_same_place() -> None:
    page = b"<meta name=a content=b>" * 50 + b"</head><time>1</time>" * 20
    for limits in ((10, 10**9, 5), (10**6, 100, 3), (0, 0, 0)):
        both(page, limits=limits)


_PIECES = st.sampled_from(
    [
        b"<",
        b">",
        b"/",
        b"!",
        b"-",
        b"--",
        b"<!--",
        b"-->",
        b"'",
        b'"',
        b"=",
        b" ",
        b"\n",
        b"\t",
        b"\x0b",
        b"\x00",
        b"\xc3\xa9",
        b"script",
        b"SCRIPT",
        b"style",
        b"Style",
        b"title",
        b"meta",
        b"META",
        b"link",
        b"base",
        b"html",
        b"head",
        b"HeAd",
        b"time",
        b"ld+json",
        b"LD+JSON",
        b"type=",
        b"rel=",
        b"icon",
        b"canonical",
        b"image_src",
        b"content",
        b"x",
        b"</",
        b"</script>",
        b"</style>",
        b"</title>",
        b"</head>",
        b"body",
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.integers(min_value=0, max_value=400))
def test_generated_pages(pieces: list[bytes], body_at: int) -> None:
    page = b"".join(pieces)
    both(page)
    both(page, body_at=body_at)


def test_every_corpus_page(corpus_dir: Path) -> None:
    pages = sorted(corpus_dir.glob("*/page.html"))
    assert pages
    for path in pages:
        both(path.read_bytes())


@pytest.mark.parametrize(
    "page",
    [
        b'</head><div class="byline">By A</div><span itemprop=author>B</span>',
        b'</head><p class = " Author-name ">x</p><p id=\n"byline">y</p><p rel=author>z</p>',
        b'</head><a href="/author/x" class="x">no</a><div data-author="x">no</div>',
        b'</head><!-- <div class="author">in a comment</div> --><div class="AUTHOR">yes</div>',
        b'</head><script>var author = "x"</script><time class="published">2020</time>',
        b'</head><div class="pub" itemprop="datePublished" content="2020-01-01"></div>',
        b"</head><div class=timestamp>1</div><div class=\"x\" title='a' id='published'>",
        b'</head><div class="author',
        b"</head><div class=author",
        b"</head>author",
        b'</head><div\tclass="byline"\n>x</div><div\x0bclass=byline>y</div>',
        b'</head><div class="a=b author">x</div><div class="a>b author">y</div>',
        b"</head>" + b'<p class="author">x</p>' * 40,
        b"</head><style>" + b"x" * 3000 + b'</style><div class="author">after a big style</div>',
    ],
)
def test_signal_tags_of_hand_written_pages(page: bytes) -> None:
    for words in WORDS:
        signals(page, words)


def test_signal_tags_limits() -> None:
    page = b"</head>" + b'<p class="author byline publish timestamp">x</p>' * 30
    for limits in ((3, 2000, 2048), (12, 5, 2048), (12, 2000, 1)):
        signals(page, WORDS[0], limits)


_BODY_PIECES = st.sampled_from(
    [
        b"<",
        b">",
        b"</",
        b"<div",
        b"<p",
        b"<!--",
        b"-->",
        b"<script>",
        b"</script>",
        b"<style>",
        b"</style>",
        b" ",
        b"\n",
        b"\t",
        b"\x0b",
        b"=",
        b'"',
        b"'",
        b"class",
        b"CLASS",
        b" id",
        b" rel",
        b" itemprop",
        b"data-x",
        b"author",
        b"Author",
        b"byline",
        b"publish",
        b"Published",
        b"timestamp",
        b"x",
        b"\xc3\xa9",
        b"</head>",
        b"x" * 40,
    ]
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_BODY_PIECES, max_size=60), st.integers(min_value=1, max_value=6))
def test_signal_tags_of_generated_pages(pieces: list[bytes], small: int) -> None:
    page = b"".join(pieces)
    signals(page, WORDS[0])
    signals(page, WORDS[2], (2, 5, small * 8))  # small limits, and small "big" skips


def test_signal_tags_of_every_corpus_page(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*/page.html")):
        for words in WORDS:
            signals(path.read_bytes(), words)
