"""Hypothesis: no input makes extraction raise or return an incomplete record."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview.decode import decode_html
from og_preview.extract import Extraction, extract, extract_bytes
from og_preview.record import METADATA_KEYS

BASE = "https://example.com/p"

_TAGS = st.sampled_from(
    [
        "<html>", "<head>", "</head>", "<body>", "<title>", "</title>", "<!--", "-->",
        "<script>", "</script>", '<script type="application/ld+json">', "<style>",
        '<meta property="og:title" content="', '<meta name="twitter:image" content="',
        '<meta property="og:image" content="', '<meta property="og:image:width" content="',
        '<link rel="icon" href="', '<link rel="canonical" href="', '<base href="',
        '<time datetime="', '<span class="byline">', '<a rel="author">', '">', "'", '"', ">",
        "<", "&amp;", "&#x0;", "{", "}", "[", "]", '"@type":"Article"', '"author":',
        '<?xml version="1.0" encoding="utf-8"?>', "<![CDATA[", "]]>", "\x00", "\ufeff",
    ]
)  # fmt: skip
HTMLISH = st.lists(st.one_of(_TAGS, st.text(max_size=20)), max_size=60).map("".join)


def _complete(result: Extraction) -> None:
    assert isinstance(result, Extraction)
    fields = result.metadata.as_fields()
    assert tuple(fields) == METADATA_KEYS
    json.dumps(fields)  # serialisable, no recursion trouble


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(body: bytes) -> None:
    _complete(extract_bytes(body, BASE))
    text, encoding = decode_html(body)
    assert isinstance(text, str) and encoding


@settings(max_examples=200, deadline=None)
@given(HTMLISH, st.sampled_from([BASE, "", "not a url", "http://[::1", "ftp://x/y"]))
def test_arbitrary_htmlish_text(html: str, base: str) -> None:
    _complete(extract(html, base))
    _complete(extract(html, base, fast=False))
    _complete(extract_bytes(html.encode("utf-8", "surrogatepass"), base))
