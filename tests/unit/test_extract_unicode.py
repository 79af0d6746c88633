"""Lone UTF-16 surrogates (from JSON `\\ud800` escapes or `&#xD800;`) never reach the record."""

from __future__ import annotations

import json
from pathlib import Path

from og_preview.extract.metadata import extract_bytes
from og_preview.record import Preview, Status
from og_preview.store.cache import Cache

PAGE = (
    b'<html><head><meta property="og:title" content="x&#xD800;y">'
    b'<script type="application/ld+json">'
    b'{"@type": "Article", "headline": "bad \\ud800 here", "\\udfff": "key"}'
    b"</script></head></html>"
)


def record() -> Preview:
    meta = extract_bytes(PAGE, "https://a.example/").metadata
    return Preview(url="https://a.example/", status=Status.PROCESSED, **meta.as_fields())


def test_record_encodes_as_utf8_json() -> None:
    text = json.dumps(record().to_dict(), ensure_ascii=False)
    assert "\ufffd" in text and text.encode("utf-8")


def test_record_can_be_cached(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.db") as cache:
        saved = cache.save(record())
        again = cache.get(saved.url)
    assert again is not None and again.jsonld == saved.jsonld
