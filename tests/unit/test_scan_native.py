"""The compiled token pass (og_preview/_scan.c) against its Python reference (scan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview import scan
from og_preview.scan import MAX_FRAGMENT_BYTES, MAX_FRAGMENTS, MAX_TIMES, Scan, tokens_python

native = pytest.importorskip("og_preview._scan", reason="the C token pass is not built here")

LIMITS = (MAX_FRAGMENTS, MAX_FRAGMENT_BYTES, MAX_TIMES)


def both(data: bytes, body_at: int | None = None, limits: tuple[int, int, int] = LIMITS) -> None:
    at = Scan(data).body_at if body_at is None else body_at
    assert native.tokens(data, at, *limits) == tokens_python(data, at, *limits)


def test_scan_uses_the_compiled_pass_when_built() -> None:
    assert scan._tokens is native.tokens


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
