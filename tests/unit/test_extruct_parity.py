"""OpenGraph namespaces and JSON-LD are read exactly as extruct reads them.

og-preview does not import extruct at run time (importing it loads every syntax it
knows and costs ~0.25 s a process): these tests hold our reading to extruct's, on
hand-written pages here and on every real page of the corpus (tests/corpus).
"""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from extruct.jsonld import JsonLdExtractor
from extruct.opengraph import OpenGraphExtractor

from og_preview.extract import _og_namespaces, parse_tree
from og_preview.jsonld import _items
from og_preview.meta import OG_PREFIXES, collect


def extruct_namespaces(root: lxml.html.HtmlElement) -> tuple[str, ...]:
    """What the extra OG prefixes were when extruct's extractor was asked for them."""
    extra: list[str] = []
    for item in OpenGraphExtractor().extract_items(root):
        for prefix in item.get("namespace", {}):
            key = f"{str(prefix).lower()}:"
            if key not in OG_PREFIXES and key != "twitter:" and key not in extra:
                extra.append(key)
    return tuple(extra)


def ours(root: lxml.html.HtmlElement) -> tuple[str, ...]:
    return _og_namespaces(root, collect(root))


def tree(html: str) -> lxml.html.HtmlElement:
    root = parse_tree(html)
    assert root is not None
    return root


def m(prop: str, content: str = "x") -> str:
    return f'<meta property="{prop}" content="{content}">'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (f"<html><head>{m('og:title')}</head></html>", ()),
        (
            '<html prefix="product: http://ogp.me/ns/product#"><head>'
            f"{m('product:price:amount', '9')}</head></html>",
            ("product:",),
        ),
        # product: is a namespace extruct knows without any prefix attribute
        (f"<html><head>{m('product:price:amount', '9')}</head></html>", ("product:",)),
        # declared prefixes count only when some meta of the head uses a known one
        ('<html prefix="shop: http://x/ns#"><head><title>t</title></head></html>', ()),
        (
            '<html prefix="shop: http://x/ns# og: http://ogp.me/ns#"><head>'
            f"{m('og:title')}</head></html>",
            ("shop:",),
        ),
        # prefixes are matched as written, and reported lower-cased
        (
            f'<html><head prefix="Fb: http://f/ns# Mine: http://m/ns#">{m("Mine:x")}</head></html>',
            ("mine:",),
        ),
        (f'<html><head prefix="Mine: http://m/ns#">{m("mine:x")}</head></html>', ()),
        # a meta without content does not count; an empty content does
        (
            '<html prefix="shop: http://x/ns#"><head><meta property="shop:a"></head></html>',
            (),
        ),
        (
            f'<html prefix="shop: http://x/ns#"><head>{m("shop:a", "")}</head></html>',
            ("shop:",),
        ),
        # case matters to extruct: Product: is no known namespace
        (f"<html><head>{m('Product:price', '9')}</head></html>", ()),
        ('<html prefix="bad prefix value"><head>' + m("og:title") + "</head></html>", ()),
    ],
)
def test_og_namespaces_as_extruct(html: str, expected: tuple[str, ...]) -> None:
    root = tree(html)
    assert ours(root) == extruct_namespaces(root) == expected


def extruct_items(text: str) -> list[Any]:
    script = lxml.html.fragment_fromstring(
        '<script type="application/ld+json"></script>', create_parent=False
    )
    script.text = text
    return list(JsonLdExtractor().extract_items(script))


@pytest.mark.parametrize(
    "text",
    [
        '{"@type": "Article", "headline": "H"}',
        '[{"@type": "A"}, {}, null, {"@type": "B"}]',
        "{}",
        "[]",
        '"just a string"',
        '{"text": "a\tcontrol character"}',
        '// a comment line\n{"@type": "Article"}',
        '<!-- an html comment -->\n{"@type": "Article"}',
        '{"@type": "Article", /* inline */ "name": "N",}',
        '{"@type": "Article", "list": [1, 2,],}',
    ],
)
def test_jsonld_items_as_extruct(text: str) -> None:
    assert _items(text) == extruct_items(text)


@pytest.mark.parametrize("text", ["{not json", '{"a": }', "<p>html</p>"])
def test_jsonld_both_reject_what_neither_can_read(text: str) -> None:
    with pytest.raises(ValueError):
        extruct_items(text)
    with pytest.raises(ValueError):
        _items(text)
