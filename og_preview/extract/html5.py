"""The page's one HTML5 parse, and the small lxml tree extruct reads.

`parse_html` builds the browser's DOM of a page with turbohtml, a WHATWG tree builder
that stays linear on any input. From what `meta.collect` reads off that DOM,
`metadata_tree` rebuilds the `<meta property content>`s and the JSON-LD scripts as a
small lxml document: what extruct's `OpenGraphExtractor` (`og_properties`) and
`JsonLdExtractor` (`jsonld.extract_jsonld`) run on.
"""

from __future__ import annotations

import re

import lxml.html
import turbohtml
from extruct.opengraph import OpenGraphExtractor
from lxml.etree import SubElement
from lxml.html import HtmlElement

from .meta import Page

__all__ = ["metadata_tree", "og_properties", "parse_html"]

# What an lxml tree cannot hold (XML 1.0): C0 controls but tab/LF/CR, U+FFFE/U+FFFF and
# lone surrogates (a `str` given to `extract` may carry them).
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_OG = OpenGraphExtractor()
_LXML = lxml.html.HTMLParser()  # makes the small tree's elements lxml.html's HtmlElements


def _xml_safe(text: str) -> str:
    return _XML_UNSAFE.sub("", text) if _XML_UNSAFE.search(text) else text


def parse_html(markup: str | bytes, *, nul_free: bool = False) -> turbohtml.Document:
    """The page as a browser's DOM: the WHATWG tree-building rules with scripting on (so
    `<noscript>` holds text, as in a browser that runs scripts). `<template>` contents are
    dropped: they are no part of the document a browser's `querySelectorAll` sees.
    `markup` is the decoded page, or its bytes when they are UTF-8 (`reads_as_utf8`).

    NUL characters are made U+FFFD first, as the tokenizer makes those in names, values
    and raw text (a browser drops those of body text, where U+FFFD stays here): the
    parser keeps a parse error for every NUL it meets, and a page of zeros, a
    decompression bomb's favourite, would cost ~30 bytes of memory a byte. `nul_free`:
    the caller knows there are none (looking costs ~0.15 ms in a 250 kB non-ASCII str,
    ~0.01 ms in its UTF-8 bytes)."""
    if isinstance(markup, bytes):
        if b"\x00" in markup:
            markup = markup.replace(b"\x00", "\ufffd".encode())
        doc = turbohtml.parse(markup, encoding="utf-8", positions=False, scripting=True)
    else:
        if not nul_free and "\x00" in markup:  # what the tokenizer makes of it
            markup = markup.replace("\x00", "\ufffd")
        doc = turbohtml.parse(markup, positions=False, scripting=True)
    templates = doc.select("template")
    for template in templates:  # (an inner one may go with its outer one: both are fine)
        template.decompose()
    return doc


def metadata_tree(page: Page) -> tuple[HtmlElement, list[HtmlElement]]:
    """The page's `<meta property content>`s and JSON-LD scripts as one small lxml
    document (with the `prefix`es of `<html>` and `<head>`), and its script elements."""
    html = _LXML.makeelement("html")
    head = SubElement(html, "head")
    if page.html_prefix:
        html.set("prefix", _xml_safe(page.html_prefix))
    if page.head_prefix:
        head.set("prefix", _xml_safe(page.head_prefix))
    for prop, content in page.properties:
        SubElement(head, "meta", {"property": _xml_safe(prop), "content": _xml_safe(content)})
    scripts = []
    for text in page.scripts:
        script = SubElement(head, "script", {"type": "application/ld+json"})
        script.text = _xml_safe(text)
        scripts.append(script)
    return html, scripts


def og_properties(tree: HtmlElement) -> list[tuple[str, str]]:
    """extruct's OpenGraph properties of the tree, in document order."""
    if tree[0].find("meta") is None:  # nothing for extruct to read
        return []
    return [pair for item in _OG.extract_items(tree) for pair in item["properties"]]
