"""Every real page of the shared corpus extracts without error and is not a challenge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from og_preview.extract.metadata import extract_bytes
from og_preview.record import METADATA_KEYS

pytestmark = pytest.mark.corpus

FAKE_BASE = "http://fakehost/test/page.html"


@pytest.fixture(scope="module")
def corpus_pages(corpus_dir: Path) -> list[tuple[str, bytes, str]]:
    pages = []
    for page in sorted(corpus_dir.glob("*/page.html")):
        expected = json.loads((page.parent / "expected.json").read_text(encoding="utf-8"))
        pages.append((page.parent.name, page.read_bytes(), expected.get("page_url") or FAKE_BASE))
    assert pages
    return pages


def test_every_page_extracts_a_complete_record(corpus_pages: list[tuple[str, bytes, str]]) -> None:
    for name, body, url in corpus_pages:
        result = extract_bytes(body, url)
        fields = result.metadata.as_fields()
        assert tuple(fields) == METADATA_KEYS, name
        json.dumps(fields)
        assert result.metadata.icon, name


def test_no_corpus_page_is_a_challenge(corpus_pages: list[tuple[str, bytes, str]]) -> None:
    flagged = [name for name, body, url in corpus_pages if extract_bytes(body, url).challenge]
    assert flagged == []


def test_most_pages_have_a_title(corpus_pages: list[tuple[str, bytes, str]]) -> None:
    titled = sum(1 for _n, body, url in corpus_pages if extract_bytes(body, url).metadata.title)
    assert titled >= 0.95 * len(corpus_pages)
