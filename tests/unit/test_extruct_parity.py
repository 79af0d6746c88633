"""extruct's own extractors produce `og` and `jsonld`, on the small lxml tree rebuilt
from the HTML5 parse: whatever extruct reads from a whole page, we read too."""

from __future__ import annotations

from typing import Any

import extruct
import pytest

from og_preview.extract.meta import _property_dict
from og_preview.extract.metadata import extract

BASE = "https://example.com/"


def extruct_og(html: str) -> dict[str, Any]:
    """extruct's OpenGraph properties of the whole page, as the record's `og` dict."""
    data = extruct.extract(html, base_url=BASE, syntaxes=["opengraph"], uniform=False)
    pairs = [(k.strip().lower(), v) for item in data["opengraph"] for k, v in item["properties"]]
    return _property_dict(pairs, True)


def extruct_jsonld(html: str) -> list[Any]:
    return list(extruct.extract(html, base_url=BASE, syntaxes=["json-ld"])["json-ld"])


def m(prop: str, content: str = "x") -> str:
    return f'<meta property="{prop}" content="{content}">'


@pytest.mark.parametrize(
    "html",
    [
        f"<html><head>{m('og:title')}{m('og:image', '/a.png')}{m('og:image', '/b.png')}</head>",
        # namespaces only extruct's rules know: declared prefixes, product: without one
        f'<html prefix="shop: http://x/ns#"><head>{m("shop:price", "9")}{m("og:type")}</head>',
        f"<html><head>{m('product:price:amount', '9')}</head></html>",
        f'<html><head prefix="Mine: http://m/ns#">{m("Mine:x")}{m("og:title")}</head></html>',
        f"<html><head>{m('og:title', '')}{m('article:tag', 'a')}{m('article:tag', 'b')}</head>",
    ],
)
def test_og_is_what_extruct_reads(html: str) -> None:
    assert extract(html, BASE).metadata.og == extruct_og(html)


def test_og_adds_what_extruct_does_not_read() -> None:
    html = (
        '<head><meta name="og:title" content="by name">'
        '<meta property="og:description" value="by value">'
        f"{m('fb:app_id', '1')}</head>"
    )
    assert extruct_og(html) == {}
    assert extract(html, BASE).metadata.og == {
        "og:title": "by name",
        "og:description": "by value",
        "fb:app_id": "1",
    }


@pytest.mark.parametrize(
    "text",
    [
        '{"@type": "Article", "headline": "H"}',
        '[{"@type": "A"}, {}, null, {"@type": "B"}]',
        '{"text": "a\tcontrol character"}',
        '// a comment line\n{"@type": "Article"}',
        '<!-- an html comment -->\n{"@type": "Article"}',
        '{"@type": "Article", /* inline */ "name": "N",}',
    ],
)
def test_jsonld_is_what_extruct_reads(text: str) -> None:
    html = f'<script type="application/ld+json">{text}</script>'
    assert extract(html, BASE).metadata.jsonld == extruct_jsonld(html)


def test_one_broken_script_costs_only_itself() -> None:
    html = "".join(
        f'<script type="application/ld+json">{t}</script>'
        for t in ('{"@type": "A"}', "{not json", '{"@type": "B"}')
    )
    with pytest.raises(ValueError):
        extruct_jsonld(html)  # extruct gives up on the page...
    assert [o["@type"] for o in extract(html, BASE).metadata.jsonld] == ["A", "B"]  # ...not us
