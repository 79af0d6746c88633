"""Hypothesis: no input makes extraction raise or return an incomplete record."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview.extract.decode import decode_html, reads_as_utf8
from og_preview.extract.metadata import Extraction, extract, extract_bytes
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
    _complete(extract_bytes(html.encode("utf-8", "surrogatepass"), base))


# ---------------------------------------------------------------- nested markup

_ASCII = st.text(st.characters(max_codepoint=0x7F), max_size=12)  # (mostly: markup is ASCII)

# Elements the HTML5 tree builder treats specially: raw text and RCDATA, template contents,
# foreign content and its integration points, tables (foster parenting), select, the
# formatting elements of the adoption agency, and the metadata tags themselves.
_ELEMENTS = [
    "html", "head", "body", "title", "meta", "link", "base", "template", "textarea",
    "noscript", "script", "style", "xmp", "iframe", "noembed", "noframes", "plaintext",
    "svg", "math", "mi", "mtext", "annotation-xml", "foreignObject", "desc", "g",
    "table", "tbody", "tr", "td", "th", "caption", "colgroup", "col", "select", "option",
    "optgroup", "b", "i", "a", "u", "em", "font", "nobr", "p", "div", "span", "ul", "li",
    "form", "button", "frameset", "frame", "time", "image", "br", "img", "input", "hr",
]  # fmt: skip
_ATTRIBUTE_NAMES = [
    "property", "name", "content", "value", "rel", "href", "class", "itemprop",
    "datetime", "pubdate", "lang", "type", "shadowrootmode", "id", "prefix", "http-equiv",
    "color", "encoding", "xmlns", "xlink:href", "a", '"', "'", "<", "=x", "/",
]  # fmt: skip
_ATTRIBUTE_VALUES = st.one_of(
    st.sampled_from(
        [
            "og:title", "og:image", "og:image:width", "og:description", "twitter:image",
            "description", "author", "canonical", "icon", "image_src", "byline author",
            "application/ld+json", "open", "datePublished", "2021-03-04T05:06:07Z",
            "/a.png", "//cdn.example/b.png", "javascript:x", "a>b", 'say "hi"', "it's",
            "&amp;", "&copy=1", "&#0;", "\x00", "\ufffd", " ", "",
        ]
    ),
    _ASCII,
    st.text(max_size=6),
)  # fmt: skip
# How an attribute is written: odd quoting, missing space, unclosed quotes, slashes.
_QUOTING = [
    ' {}="{}"', " {}='{}'", " {}={}", " {}", ' {} = "{}"', '{}="{}"', ' {}="{}', " {}='{}",
    "/{}={}", " {}={}/", " {}=`{}`",
]  # fmt: skip
_CLOSE = ["</{}>", "", "</{} >", "</{}/>", "</{}\n", "</p>", "</b>", "</table>", "</svg>"]
_TEXT = st.one_of(
    _ASCII,
    st.text(max_size=6),
    st.sampled_from(
        [
            "&amp;", "&", "&#0;", "&#x80;", "&copy=", "<", ">", "</", "<!--", "-->", "--!>",
            "<!-->", "<![CDATA[", "]]>", "<?x ?>", "<!doctype html>", "\x00", "\r\n",
            '{"@type":"Article","author":{"name":"A"}}', "{bad", "By Ann Lee",
        ]
    ),
)  # fmt: skip


def _attribute(name: str, value: str, quoting: str) -> str:
    return quoting.format(name, value)


def _element(tag: str, upper: bool, attributes: list[str], children: list[str], close: str) -> str:
    name = tag.upper() if upper else tag
    return f"<{name}{''.join(attributes)}>{''.join(children)}{close.format(name)}"


_ATTRIBUTE = st.builds(
    _attribute, st.sampled_from(_ATTRIBUTE_NAMES), _ATTRIBUTE_VALUES, st.sampled_from(_QUOTING)
)


def _elements(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        _element,
        st.sampled_from(_ELEMENTS),
        st.booleans(),
        st.lists(_ATTRIBUTE, max_size=4),
        st.lists(children, max_size=5),
        st.sampled_from(_CLOSE),
    )


MARKUP = st.lists(st.recursive(_TEXT, _elements, max_leaves=40), max_size=6).map("".join)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@settings(max_examples=200, deadline=None)
@given(MARKUP)
def test_nested_markup(html: str) -> None:
    for result in (
        extract(html, BASE),
        extract_bytes(html.encode("utf-8", "surrogatepass"), BASE),
    ):
        _complete(result)
        metadata = result.metadata
        for text in (metadata.title, metadata.description, metadata.site_name, metadata.author):
            assert text is None or not _CONTROL.search(text)
        for url in (metadata.image, metadata.canonical_url, metadata.icon):
            assert url is None or url.startswith(("http://", "https://"))


@settings(max_examples=200, deadline=None)
@given(MARKUP, st.sampled_from(["", '<meta charset="windows-1252">', "<meta charset=utf-8>"]))
def test_utf8_bytes_parse_as_their_decoded_text(html: str, declared: str) -> None:
    """The parser reads UTF-8 bytes as they are: the same record as their decoded text."""
    body = (declared + html).encode("utf-8", "replace")
    text, encoding = decode_html(body)
    if reads_as_utf8(body):  # (it may say no where decode_html would say UTF-8: safe)
        assert encoding == "utf-8" or body.isascii()
    assert extract_bytes(body, BASE) == extract(text, BASE)
