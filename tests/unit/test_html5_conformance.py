"""The fields a browser's DOM gives, on small pages that trip up non-HTML5 parsers.

Each expected value follows the WHATWG parsing rules, with the scripting flag on as in a
browser: markup inside `<textarea>`, `<xmp>`, `<noscript>`, `<script>`, `<style>`,
`<title>`, `<iframe>`, `<noembed>`, `<noframes>`, `<plaintext>`, comments and attribute
values is text; `<template>` content is not in the document; the first `<title>` of the
HTML namespace is the title (not an SVG or MathML one); the first `<base>` with an `href`,
wherever it is, sets the base URL. Every page is read through `extract` (a `str`) and
`extract_bytes` (its UTF-8 bytes), which must agree.

When written, every expected value was checked against what headless Chromium 156 gives
for the same page (in an iframe's srcdoc: scripting on, its inline scripts blocked by a
CSP so that none writes into the page): `document.title`, the HTML-namespace `<meta>` and
`<link>` elements `querySelectorAll` finds, `document.baseURI`, `<html lang>`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from og_preview.extract.metadata import extract, extract_bytes
from og_preview.record import Metadata

BASE = "https://example.com/dir/page.html"
PAGE_DIR = "https://example.com/dir/"
FAVICON = "https://example.com/favicon.ico"
CDN = "https://cdn.example.org/x/"

REAL = "<title>Real</title>"
INJ = '<meta property="og:title" content="Injected">'
FOUND = '<meta property="og:description" content="Found">'
NOT_TAGS = {"title": "Real", "og": {}}
COUNTS = {"title": "Real", "description": "Found", "og": {"og:description": "Found"}}


def both(html: str) -> list[Metadata]:
    """The page read as text and as UTF-8 bytes."""
    page = "<!doctype html>" + html
    return [
        extract(page, BASE).metadata,
        extract_bytes(page.encode("utf-8"), BASE).metadata,
    ]


def check(html: str, expected: dict[str, Any]) -> None:
    for metadata in both(html):
        assert {key: getattr(metadata, key) for key in expected} == expected


def case(name: str, html: str, *rest: Any) -> Any:
    return pytest.param(html, *rest, id=name)


# ------------------------------------------------------- markup that is text, not tags


@pytest.mark.parametrize(
    "html",
    [
        case("textarea", f"{REAL}<textarea>{INJ}</textarea>"),
        case("textarea-unclosed", f"{REAL}<textarea>{INJ}"),
        case("xmp", f"{REAL}<xmp>{INJ}</xmp>"),
        case("template-head", f"<head>{REAL}<template>{INJ}</template></head>"),
        case("template-body", f"{REAL}<body><template><div>{INJ}</div></template>"),
        case("template-nested", f"{REAL}<template><template></template>{INJ}</template>"),
        case("shadow-root", f'{REAL}<div><template shadowrootmode="open">{INJ}</template></div>'),
        case("noscript-head", f"<head>{REAL}<noscript>{INJ}</noscript></head>"),
        case("noscript-body", f"{REAL}<body><noscript>{INJ}</noscript>"),
        case("script", f"{REAL}<script>document.write('{INJ}')</script>"),
        case("script-unclosed", f"{REAL}<script>{INJ}"),
        case("script-escaped", f"{REAL}<script><!--<script></script>{INJ}</script>"),
        case("style", f"{REAL}<style>{INJ}</style>"),
        case("style-unclosed", f"{REAL}<style>{INJ}"),
        case("iframe", f"{REAL}<iframe>{INJ}</iframe>"),
        case("noembed", f"{REAL}<noembed>{INJ}</noembed>"),
        case("noframes", f"{REAL}<noframes>{INJ}</noframes>"),
        case("plaintext", f"{REAL}<plaintext>{INJ}</plaintext>{INJ}"),
        case("comment", f"{REAL}<!-- {INJ} -->"),
        case("comment-unclosed", f"{REAL}<!-- {INJ}"),
        case("comment-dashes", f"{REAL}<!-- -- > {INJ} -- -->"),
        case("bogus-comment", f"{REAL}<? {INJ} ?>"),
        case("cdata-in-html", f"{REAL}<![CDATA[{INJ}]]>"),
        case("attribute-value", f"{REAL}<img alt='{INJ}'>"),
        case("attribute-run-on", f'{REAL}<a href="x" {INJ}'),
    ],
)
def test_markup_that_is_text_is_not_tags(html: str) -> None:
    check(html, NOT_TAGS)


# ------------------------------------------------------- tags that count, wherever they are


@pytest.mark.parametrize(
    "html",
    [
        case("head", f"<head>{REAL}{FOUND}</head>"),
        case("body", f"<head>{REAL}</head><body><p>x</p>{FOUND}</body>"),
        case("after-html", f"<head>{REAL}</head><body></body></html>{FOUND}"),
        case("no-head-end", f"<head>{REAL}{FOUND}<body>x"),
        case("no-head-end-no-body", f"<head>{REAL}{FOUND}"),
        case("implied-body", f"{REAL}<p>text</p>{FOUND}"),
        case("after-head", f"<head>{REAL}</head>{FOUND}<body>x"),
        case("second-head", f"<head>{REAL}</head><body><head>{FOUND}</head></body>"),
        case("table", f"{REAL}<table>{FOUND}<tr><td>x</td></tr></table>"),
        case("table-cell", f"{REAL}<table><tr><td>{FOUND}</td></tr></table>"),
        case("svg-breakout", f"{REAL}<svg><g>{FOUND}</g></svg>"),
        case("math-breakout", f"{REAL}<math><mi>x</mi>{FOUND}</math>"),
        case("after-textarea", f"{REAL}<textarea><x></TEXTAREA >{FOUND}"),
        case("after-script", f"{REAL}<script>x = '<!-- <meta>';</script>{FOUND}"),
        case("after-template", f"{REAL}<template>x</template>{FOUND}"),
        case("after-noscript", f"{REAL}<noscript><img src=x></noscript>{FOUND}"),
        case("comment-bang-end", f"{REAL}<!-- x --!>{FOUND}"),
        case("comment-abrupt", f"{REAL}<!-->{FOUND}<!-- -->"),
        case("comment-abrupt-dash", f"{REAL}<!--->{FOUND}<!-- -->"),
        case("comment-nested-open", f"{REAL}<!-- <!-- -->{FOUND}"),
        case("upper-case", f'{REAL}<META PROPERTY="og:description" CONTENT="Found">'),
        case("unquoted", f"{REAL}<meta property=og:description content=Found>"),
        case("self-closing", f'{REAL}<meta property="og:description" content="Found"/>'),
        case("newlines", f'{REAL}<meta\nproperty="og:description"\ncontent="Found"\n>'),
        case("no-space-between", f'{REAL}<meta property="og:description"content="Found">'),
        case("slash-separated", f'{REAL}<meta/property="og:description"/content="Found">'),
        case("script-comment-end", f"{REAL}<script><!-- </script> -->{FOUND}"),
        case("style-comment", f"{REAL}<style><!-- </style> -->{FOUND}"),
        case("textarea-comment", f"{REAL}<textarea><!-- </textarea> -->{FOUND}"),
        case("noscript-comment", f"{REAL}<noscript><!-- </noscript> -->{FOUND}"),
        case("title-comment", f"{REAL}<title><!-- </title> -->{FOUND}"),
        case("iframe-comment", f"{REAL}<iframe><!-- </iframe> -->{FOUND}"),
        case("xmp-comment", f"{REAL}<xmp><!-- </xmp> -->{FOUND}"),
        case("duplicate-attribute", f'{REAL}<meta property="og:description" content="Found" '
             'content="Other">'),
    ],
)  # fmt: skip
def test_tags_count_wherever_they_are(html: str) -> None:
    check(html, COUNTS)


# ------------------------------------------------------- every field, hidden in text

# (name, markup, fields when it is a tag, fields when it is text)
_MARKUP: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("og-title", INJ, {"title": "Injected"}, {"title": "Real", "og": {}}),
    (
        "og-description",
        '<meta property="og:description" content="Hidden">',
        {"description": "Hidden", "og": {"og:description": "Hidden"}},
        {"description": None, "og": {}},
    ),
    (
        "description",
        '<meta name="description" content="Hidden">',
        {"description": "Hidden"},
        {"description": None},
    ),
    (
        "og-image",
        '<meta property="og:image" content="/hidden.png">',
        {"image": "https://example.com/hidden.png"},
        {"image": None, "images": []},
    ),
    (
        "twitter-image",
        '<meta name="twitter:image" content="/hidden.png">',
        {"image": "https://example.com/hidden.png"},
        {"image": None, "twitter": {}},
    ),
    (
        "image-src",
        '<link rel="image_src" href="/hidden.png">',
        {"image": "https://example.com/hidden.png"},
        {"image": None},
    ),
    (
        "canonical",
        '<link rel="canonical" href="/hidden">',
        {"canonical_url": "https://example.com/hidden"},
        {"canonical_url": None},
    ),
    (
        "og-url",
        '<meta property="og:url" content="/hidden">',
        {"canonical_url": "https://example.com/hidden"},
        {"canonical_url": None, "og": {}},
    ),
    (
        "icon",
        '<link rel="icon" href="/hidden.ico">',
        {"icon": "https://example.com/hidden.ico"},
        {"icon": FAVICON},
    ),
    (
        "author",
        '<meta name="author" content="Ann Hidden">',
        {"author": "Ann Hidden"},
        {"author": None},
    ),
    (
        "published",
        '<meta property="article:published_time" content="2021-03-04T05:06:07Z">',
        {"published": "2021-03-04T05:06:07+00:00"},
        {"published": None},
    ),
    (
        "content-language",
        '<meta http-equiv="content-language" content="fr">',
        {"lang": "fr"},
        {"lang": None},
    ),
    (
        "jsonld",
        '<script type="application/ld+json">{"@type": "Article", "headline": "Hidden", '
        '"author": {"@type": "Person", "name": "Ann Hidden"}}</script>',
        {
            "author": "Ann Hidden",
            "jsonld": [
                {
                    "@type": "Article",
                    "headline": "Hidden",
                    "author": {"@type": "Person", "name": "Ann Hidden"},
                }
            ],
        },
        {"author": None, "jsonld": []},
    ),
    (
        "byline",
        '<span class="byline">By Ann Hidden</span>',
        {"author": "Ann Hidden"},
        {"author": None},
    ),
    (
        "time",
        '<time datetime="2021-03-04T05:06:07Z">March 4</time>',
        {"published": "2021-03-04T05:06:07+00:00"},
        {"published": None},
    ),
]

# Each of these makes its content text, or keeps it out of the document (template).
_CONTAINERS = {
    "textarea": "<textarea>{}</textarea>",
    "textarea-unclosed": "<textarea>{}",
    "xmp": "<xmp>{}</xmp>",
    "template": "<template>{}</template>",
    "shadow-root": '<div><template shadowrootmode="open">{}</template></div>',
    "noscript": "<noscript>{}</noscript>",
    "script": "<script>{}</script>",
    "script-escaped": "<script><!--<script></script>{}</script>",
    "style": "<style>{}</style>",
    "title": "<title>{}</title>",
    "iframe": "<iframe>{}</iframe>",
    "noembed": "<noembed>{}</noembed>",
    "noframes": "<noframes>{}</noframes>",
    "plaintext": "<plaintext>{}",
    "comment": "<!-- {} -->",
    "comment-unclosed": "<!-- {}",
    "cdata-in-html": "<![CDATA[{}]]>",
    "bogus-comment": "<?{}?>",
    "attribute-value": "<img alt='{}'>",
}


def _page(where: str, markup: str) -> str:
    if where == "head":
        return f"<html><head>{REAL}{markup}</head><body><p>x</p></body></html>"
    return f"<html><head>{REAL}</head><body><p>x</p>{markup}</body></html>"


@pytest.mark.parametrize("where", ["head", "body"])
@pytest.mark.parametrize(
    ("markup", "as_tag"), [pytest.param(m, t, id=n) for n, m, t, _h in _MARKUP]
)
def test_field_markup_counts_as_a_tag(where: str, markup: str, as_tag: dict[str, Any]) -> None:
    """The markup `test_field_markup_in_text_is_not_a_field` hides does give its field."""
    check(_page(where, markup), as_tag)


@pytest.mark.parametrize("where", ["head", "body"])
@pytest.mark.parametrize(
    ("markup", "as_text"), [pytest.param(m, h, id=n) for n, m, _t, h in _MARKUP]
)
@pytest.mark.parametrize("container", list(_CONTAINERS.values()), ids=list(_CONTAINERS))
def test_field_markup_in_text_is_not_a_field(
    container: str, markup: str, as_text: dict[str, Any], where: str
) -> None:
    check(_page(where, container.format(markup)), as_text)


# ------------------------------------------------------- the title


@pytest.mark.parametrize(
    ("html", "title"),
    [
        case("head", "<head><title>Real</title></head>", "Real"),
        case("rcdata", f"<title>Real{INJ}</title>", f"Real{INJ}"),
        case("unclosed", f"<title>Real {INJ}", f"Real {INJ}"),
        case("entities", "<title>A &amp; B &lt;C&gt;</title>", "A & B <C>"),
        case("legacy-entities", "<title>Fish &amp Chips &copy 2020</title>", "Fish & Chips © 2020"),
        case("entity-before-equals", "<title>x&copy=2</title>", "x©=2"),
        case("windows-1252-refs", "<title>A &#150; B &#x80;5</title>", "A \u2013 B \u20ac5"),
        case("comment-is-text", "<title>A<!-- x -->B</title>", "A<!-- x -->B"),
        case("other-end-tag-is-text", "<title>A</titlex>B</title>", "A</titlex>B"),
        case("end-tag-any-case", "<title>A</TITLE >B", "A"),
        case("whitespace", "<title>\n  A \t B\n</title>", "A B"),
        case("first-of-two", "<title>Real</title><title>Second</title>", "Real"),
        case("in-body", "<body><p>x</p><title>Late</title>", "Late"),
        case("second-head", "<head><title>Real</title></head><body><head><title>B</title>", "Real"),
        case("svg-only", "<body><svg><title>Icon</title></svg>", None),
        case("svg-first", "<body><svg><title>Icon</title></svg><title>Real</title>", "Real"),
        case("svg-after", "<head><title>Real</title></head><body><svg><title>Icon</title></svg>",
             "Real"),
        case("math-only", "<body><math><title>M</title></math>", None),
        case("math-first", "<body><math><mi>x</mi><title>M</title></math><title>Real</title>",
             "Real"),
        case("template", "<template><title>T</title></template>", None),
        case("noscript", "<noscript><title>T</title></noscript>", None),
        case("textarea", "<body><textarea><title>T</title></textarea>", None),
        case("comment", "<!--<title>T</title>-->", None),
    ],
)  # fmt: skip
def test_title(html: str, title: str | None) -> None:
    check(html, {"title": title})


# ------------------------------------------------------- attribute values


@pytest.mark.parametrize(
    ("html", "field", "value"),
    [
        case("gt-in-quotes", '<meta property="og:title" content="a > b">', "title", "a > b"),
        case("quotes-in-quotes", """<meta property="og:title" content='say "hi"'>""", "title",
             'say "hi"'),
        case("unquoted-slash", "<meta property=og:image content=/a.png/>", "image",
             "https://example.com/a.png/"),
        case("legacy-entity", '<meta property="og:title" content="Fish &amp Chips">', "title",
             "Fish & Chips"),
        case("legacy-entity-alnum", '<meta property="og:title" content="AT&ampT">', "title",
             "AT&ampT"),
        case("legacy-entity-equals", '<meta property="og:url" content="/a?x=1&copy=2&not=3">',
             "canonical_url", "https://example.com/a?x=1&copy=2&not=3"),
        case("link-entity-equals", '<link rel="canonical" href="/a?x=1&reg=2">',
             "canonical_url", "https://example.com/a?x=1&reg=2"),
        case("windows-1252-ref", '<meta property="og:title" content="A &#150; B">', "title",
             "A \u2013 B"),
        case("duplicate-content", '<meta property="og:title" content="First" content="Second">',
             "title", "First"),
        case("duplicate-property",
             '<meta property="og:title" property="og:description" content="X">', "og",
             {"og:title": "X"}),
        case("duplicate-lang", '<html lang="en" lang="fr">', "lang", "en"),
    ],
)  # fmt: skip
def test_attribute_values(html: str, field: str, value: Any) -> None:
    check(html, {field: value})


# ------------------------------------------------------- <html lang>, a second <html>


@pytest.mark.parametrize(
    ("html", "lang"),
    [
        case("first", '<html lang="en"><head></head><body></body></html>', "en"),
        case("second-does-not-override", '<html lang="en"><body><html lang="fr">', "en"),
        case("second-after-end", '<html lang="en"></html><html lang="fr" dir="rtl">', "en"),
        case("second-fills-in", '<html><body><html lang="fr">', "fr"),
        case("implied-root", '<title>T</title><html lang="de">', "de"),
        case("in-template", '<html><template><html lang="fr"></template>', None),
        case("in-comment", '<!-- <html lang="fr"> --><html>', None),
    ],
)
def test_lang(html: str, lang: str | None) -> None:
    check(html, {"lang": lang})


# ------------------------------------------------------- <base href>

URLS = '<meta property="og:image" content="i.png"><link rel="canonical" href="c">'
URLS += '<link rel="icon" href="fav.png">'


@pytest.mark.parametrize(
    ("html", "base"),
    [
        case("none", f"<head>{URLS}</head>", PAGE_DIR),
        case("head", f'<head><base href="{CDN}">{URLS}</head>', CDN),
        case("after-the-tags", f'<head>{URLS}<base href="{CDN}"></head>', CDN),
        case("body", f'<head>{URLS}</head><body><p>x</p><base href="{CDN}">', CDN),
        case("after-html", f'<head>{URLS}</head><body></body></html><base href="{CDN}">', CDN),
        case("first-wins", f'{URLS}<base href="{CDN}"><base href="https://b.example/">', CDN),
        case("first-with-href", f'{URLS}<base target="_top"><base href="{CDN}">', CDN),
        case("empty-href-counts", f'{URLS}<base href=""><base href="{CDN}">', PAGE_DIR),
        case("relative", f'{URLS}<base href="/sub/">', "https://example.com/sub/"),
        case("in-textarea", f'{URLS}<textarea><base href="{CDN}"></textarea>', PAGE_DIR),
        case("in-template", f'{URLS}<template><base href="{CDN}"></template>', PAGE_DIR),
        case("in-noscript", f'{URLS}<noscript><base href="{CDN}"></noscript>', PAGE_DIR),
        case("in-comment", f'{URLS}<!-- <base href="{CDN}"> -->', PAGE_DIR),
        case("in-svg", f'{URLS}<svg><base href="{CDN}"></base></svg>', PAGE_DIR),
        case("in-svg-then-html", f'{URLS}<svg><base href="https://b.example/"></svg>'
             f'<base href="{CDN}">', CDN),
    ],
)  # fmt: skip
def test_base_href(html: str, base: str) -> None:
    """Relative URLs resolve against the first `<base href>` of the document, wherever it is."""
    check(
        html,
        {"image": f"{base}i.png", "canonical_url": f"{base}c", "icon": f"{base}fav.png"},
    )


# ------------------------------------------------------- NUL characters


def _nul_free(metadata: Metadata) -> None:
    assert "\\u0000" not in json.dumps(metadata.as_fields())


@pytest.mark.parametrize(
    "html",
    [
        case("meta-content", '<meta property="og:title" content="A\x00B">'),
        case("title-text", "<title>A\x00B</title>"),
        case("title-char-ref", "<title>A&#0;B</title>"),
        case("og-before-title", '<meta property="og:title" content="A\x00B"><title>C</title>'),
    ],
)
def test_nul_in_values_is_replaced_or_removed(html: str) -> None:
    """The tokenizer turns U+0000 in attribute values and RCDATA into U+FFFD; either that
    or removing it is fine, a NUL in the record is not."""
    for metadata in both(html):
        assert metadata.title in ("AB", "A\ufffdB")
        _nul_free(metadata)


def test_nul_in_og_values() -> None:
    for metadata in both('<meta property="og:site_name" content="\x00Si\x00te\x00">'):
        assert metadata.site_name in ("Site", "\ufffdSi\ufffdte\ufffd")
        assert metadata.og["og:site_name"] == metadata.site_name
        _nul_free(metadata)


def test_nul_in_jsonld() -> None:
    script = '<script type="application/ld+json">{"@type": "Thing", "name": "A\x00B"}</script>'
    for metadata in both(script):
        assert len(metadata.jsonld) == 1
        assert metadata.jsonld[0]["name"] in ("AB", "A\ufffdB")
        _nul_free(metadata)


@pytest.mark.parametrize(
    "html",
    [
        case("body-text", f"<head>{REAL}</head><body>\x00<p>a\x00b</p>{FOUND}\x00"),
        case("between-tags", f"{REAL}\x00{FOUND}\x00\x00"),
        case("everywhere", "\x00" * 100 + f"{REAL}{FOUND}" + "\x00" * 100),
        case("in-comment", f"{REAL}<!-- \x00 -->{FOUND}"),
        case("in-script", f"{REAL}<script>\x00</script>{FOUND}"),
    ],
)
def test_nul_in_text_is_harmless(html: str) -> None:
    check(html, COUNTS)
    for metadata in both(html):
        _nul_free(metadata)


@pytest.mark.parametrize(
    "html",
    [
        case("tag-name", '<me\x00ta property="og:title" content="X">'),
        case("attribute-name", '<meta prop\x00erty="og:title" content="X">'),
    ],
)
def test_nul_in_names_makes_other_names(html: str) -> None:
    """U+0000 in a tag or attribute name becomes U+FFFD: `me\ufffdta` is no `<meta>`."""
    check(html, {"title": None, "og": {}})
