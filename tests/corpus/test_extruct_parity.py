"""On every real page of the corpus, OpenGraph namespaces and JSON-LD read as extruct
reads them (see tests/unit/test_extruct_parity.py), on the small document the fast
path parses and on a full parse of the page."""

from __future__ import annotations

from pathlib import Path

import pytest

from og_preview.decode import decode_html
from og_preview.extract import _parse_fragments, parse_tree
from og_preview.jsonld import _items, is_jsonld_script
from og_preview.scan import Scan
from tests.unit.test_extruct_parity import extruct_items, extruct_namespaces, ours

pytestmark = pytest.mark.corpus


def test_og_namespaces_as_extruct_on_the_corpus(corpus_dir: Path) -> None:
    pages = sorted(corpus_dir.glob("*/page.html"))
    assert pages
    with_extra = 0
    for page in pages:
        body = page.read_bytes()
        small = _parse_fragments(Scan(body).document(), "")
        full = parse_tree(decode_html(body)[0])
        for root in (small, full):
            if root is None:
                continue
            assert ours(root) == extruct_namespaces(root), page.parent.name
            with_extra += bool(ours(root))
    assert with_extra  # some corpus pages declare namespaces beyond OpenGraph's own


def test_jsonld_as_extruct_on_the_corpus(corpus_dir: Path) -> None:
    scripts = 0
    for page in sorted(corpus_dir.glob("*/page.html")):
        root = parse_tree(decode_html(page.read_bytes())[0])
        if root is None:
            continue
        for script in root.iter("script"):
            if not is_jsonld_script(script.get("type")) or not (script.text or "").strip():
                continue
            scripts += 1
            text = script.text or ""
            try:
                expected = extruct_items(text)
            except ValueError:
                with pytest.raises(ValueError):
                    _items(text)
                continue
            assert _items(text) == expected, page.parent.name
    assert scripts > 50
