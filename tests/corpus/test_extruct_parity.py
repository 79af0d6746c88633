"""On every real page of the corpus, `og` and `jsonld` hold what extruct reads from the
whole page (extruct's own lxml parse of it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from og_preview.extract.decode import decode_html
from og_preview.extract.jsonld import MAX_NODES, _bounded, _Budget
from og_preview.extract.metadata import extract
from tests.unit.test_extruct_parity import extruct_jsonld, extruct_og

pytestmark = pytest.mark.corpus


def test_og_and_jsonld_as_extruct_reads_them_on_the_corpus(corpus_dir: Path) -> None:
    pages = sorted(corpus_dir.glob("*/page.html"))
    assert pages
    with_og = with_jsonld = 0
    for page in pages:
        text = decode_html(page.read_bytes())[0]
        record = extract(text, "https://example.com/").metadata
        theirs = extruct_og(text)
        for key, value in theirs.items():  # ours may add name= tags extruct does not read
            assert record.og.get(key) == value, (page.parent.name, key)
        with_og += bool(theirs)
        try:
            expected = extruct_jsonld(text)
        except ValueError:  # extruct gives up on a page with one broken script
            continue
        if expected:
            with_jsonld += 1
            budget = _Budget(MAX_NODES)  # the record keeps bounded copies
            assert record.jsonld == [_bounded(o, 0, budget) for o in expected], page.parent.name
    assert with_og > 50 and with_jsonld > 20
