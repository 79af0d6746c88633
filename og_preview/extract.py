"""One lxml parse → OpenGraph, Twitter, JSON-LD + our fallbacks → a clean `Metadata`.

Only what metadata needs is parsed: the head, plus the `<meta>`, `<link>` and
JSON-LD fragments of the body (see `scan.Scan`). OpenGraph namespaces and JSON-LD
are read as extruct's extractors read them (tests/unit/test_extruct_parity.py holds
us to that), without importing extruct. `extract` and
`extract_bytes` never raise: the worst case is a `Metadata` of Nones.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

import lxml.html
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from .challenge import looks_like_challenge
from .clean import clean_date, clean_lang, clean_text, clean_url, looks_like_url, origin_favicon
from .decode import (
    ascii_compatible,
    declared_encoding,
    decode_fragment,
    decode_with,
    sniff_encoding,
)
from .jsonld import JsonLdView, extract_jsonld
from .meta import (
    OG_PREFIXES,
    Page,
    build_og,
    build_twitter,
    collect,
    og_image_groups,
)
from .record import Metadata
from .scan import Scan

__all__ = ["Extraction", "extract", "extract_bytes"]

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# lxml.html's parser, but every element an HtmlElement: lxml.html's own parser asks a
# Python lookup for the class of each element it hands out (form, input, label...).
_PARSER = lxml.html.HTMLParser(
    recover=True, no_network=True, remove_blank_text=False, collect_ids=False
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
    )
)


# How `extract_bytes` reads the bytes a page's extraction keeps (see there): "" as UTF-8,
# unchecked; "utf-8" they must be UTF-8; else the name of the ASCII-compatible encoding the
# page declares (`decode.decode_fragment`).
_Check = str


class _NotUtf8(Exception):
    """The kept bytes fail the check: the page is decoded the careful way."""


@dataclass(frozen=True, slots=True)
class Extraction:
    metadata: Metadata
    challenge: bool  # the content looks like a bot-challenge interstitial


def parse_tree(doc: str, controls: bool = True) -> HtmlElement | None:
    """One lxml parse of a (small) document; None when there is nothing to parse.

    `controls=False`: the caller knows `doc` has no control characters.
    """
    if _XML_DECL.match(doc):
        doc = _XML_DECL.sub("", doc, count=1)
    if controls:
        doc = _CONTROL.sub("", doc)
    if not doc or doc.isspace():
        return None
    try:
        return lxml.html.document_fromstring(doc, parser=_PARSER)
    except Exception:  # ParserError on an empty document, encoding declarations, ...
        return None


def _parse_fragments(doc: bytes, check: _Check) -> HtmlElement | None:
    """`parse_tree` of the kept bytes; raise `_NotUtf8` when they fail `check`."""
    if not check:
        text = doc.decode("utf-8", "replace")
    elif check == "utf-8":
        try:
            text = doc.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8 from None
    else:
        decoded = decode_fragment(doc, check)
        if decoded is None:
            raise _NotUtf8
        text = decoded
    # (a control character is one byte in UTF-8: looking for them in the bytes is cheap)
    return parse_tree(text, len(doc.translate(None, _CONTROL_BYTES)) != len(doc))


# extruct's OpenGraph extractor, read the same way (extruct.opengraph), without importing
# extruct: that loads every syntax it knows (RDFa, microformats...) at ~0.25 s a process.
_PREFIX_ATTR = re.compile(r"\s*(\w+):\s*([^\s]+)")
_EXTRUCT_OG_NAMESPACES = frozenset(
    ("og", "music", "video", "article", "book", "profile", "product")
)


def _declared_prefixes(element: HtmlElement | None) -> list[str]:
    if element is None:
        return []
    return [name for name, _uri in _PREFIX_ATTR.findall(element.get("prefix") or "")]


def _og_namespaces(root: HtmlElement, page: Page) -> tuple[str, ...]:
    """Prefixes extruct's OpenGraph extractor recognises beyond our OG family (e.g. product:).

    As extruct does it: for each `<head>`, the prefixes declared on the document's `<html>`
    and on that head, plus the known OG namespaces its `<meta property content>` children
    use, count when at least one of those children uses one of them.
    """
    if (
        root.get("prefix") is None
        and all(head.get("prefix") is None for head in root.iter("head"))
        and not any(key.startswith("product:") for key, _value in page.metas)
    ):
        return ()  # nothing beyond our OG family then
    extra: list[str] = []
    first_head = next(root.getroottree().iter("head"), None)
    parent = first_head.getparent() if first_head is not None else None
    html = parent if parent is not None and parent.tag == "html" else None
    for head in root.iter("head"):
        names = dict.fromkeys(_declared_prefixes(html) + _declared_prefixes(head))
        used = False
        for meta in head.iterchildren("meta"):
            prop, content = meta.get("property"), meta.get("content")
            if prop is None or content is None:
                continue
            ns = prop.partition(":")[0]
            if ns in _EXTRUCT_OG_NAMESPACES:
                names[ns] = None
            used = used or ns in names
        if not used:
            continue
        for name in names:
            key = f"{name.lower()}:"
            if key not in OG_PREFIXES and key != "twitter:" and key not in extra:
                extra.append(key)
    return tuple(extra)


def _images(page: Page, base: str | None) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = []
    for group in og_image_groups(page):
        url = clean_url(group.get("url"), base)
        secure = clean_url(group.get("secure_url"), base)
        if url is None and secure is None:
            continue
        entry: dict[str, Any] = {"url": url or secure, "secure_url": secure}
        entry["type"] = clean_text(group.get("type"), cap=200)
        for dim in ("width", "height"):
            raw = clean_text(group.get(dim), cap=50)
            entry[dim] = int(raw) if raw and raw.isdigit() else raw
        entry["alt"] = clean_text(group.get("alt"))
        images.append(entry)
    return images


def _first_url(base: str | None, *values: str | None) -> str | None:
    for value in values:
        url = clean_url(value, base)
        if url:
            return url
    return None


def _link(page: Page, *rels: str) -> str | None:
    for rel in rels:
        for link_rels, href, _sizes in page.links:
            if rel in link_rels:
                return href
    return None


_AUTHOR_METAS = (
    "author",
    "dc.creator",
    "dcterms.creator",
    "dc:creator",
    "sailthru.author",
    "parsely-author",
    "byl",
    "article:author_name",
    "citation_author",
    "cxenseparse:author",
)
_DATE_METAS = (
    "article:published",
    "og:published_time",
    "published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "dcterms.date",
    "dcterms.created",
    "dc:date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "citation_publication_date",
    "citation_date",
    "release_date",
    "og:release_date",
)
_BY = re.compile(
    r"^(?:(?:posted|written|published|words|story|text)\s+)?(?:by|von|par|por|di|door)\b\s*:?\s*",
    re.IGNORECASE,
)


def _person(value: str | None) -> str | None:
    text = clean_text(value, cap=300)
    if not text or looks_like_url(text):
        return None
    text = _BY.sub("", text).strip(" ,|-\u2013\u2014")
    return text or None


def _first_person(*values: str | None) -> str | None:
    for value in values:
        person = _person(value)
        if person:
            return person
    return None


def _innermost(bylines: list[str]) -> str | None:
    """The first byline, or a shorter one nested in it (`Jane Doe` in `Jane Doe - 31.05.2022`)."""
    if not bylines:
        return None
    chosen = bylines[0]
    for text in bylines[1:]:
        if text in chosen and len(text) < len(chosen) and _person(text):
            chosen = text
    return chosen


def _first_date(*values: str | None) -> str | None:
    for value in values:
        when = clean_date(value)
        if when:
            return when
    return None


_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\u00b7\u2022\u00bb/:]|-{1,2}|::)\s+")


def _title_site(title: str | None) -> str | None:
    """The site name a `<title>` ends or starts with (`Post | Site`, `Site - Post`)."""
    text = clean_text(title, cap=500)
    if not text:
        return None
    parts = [p for p in _TITLE_SEPARATOR.split(text) if p]
    if len(parts) < 2:
        return None
    side = min((parts[-1], parts[0]), key=len)
    return side if 1 < len(side) <= 40 and len(side.split()) <= 4 else None


def _handle(value: str | None) -> str | None:
    """A twitter:site handle as a site name (`@nytimes` → `nytimes`)."""
    text = clean_text(value, cap=100)
    if not text or looks_like_url(text):
        return None
    return text.lstrip("@") or None


def _fields(
    page: Page,
    jsonld: list[Any],
    ld: JsonLdView,
    base_url: str,
    content_language: str | None,
    og_prefixes: tuple[str, ...] = (),
) -> Metadata:
    base = clean_url(page.base, base_url) or base_url if page.base else base_url
    og = build_og(page, og_prefixes)
    twitter = build_twitter(page)
    images = _images(page, base)
    first = page.first

    title = clean_text(first("og:title") or first("twitter:title") or page.title)
    description = clean_text(
        first("og:description")
        or first("twitter:description")
        or first("description")
        or page.itemprops.get("description")
        or ld.text("description")
    )
    image = (images[0]["url"] if images else None) or _first_url(
        base,
        first("twitter:image", "twitter:image:src"),
        ld.image(),
        _link(page, "image_src"),
    )
    site_name = (
        clean_text(
            first("og:site_name")
            or first("application-name")
            or ld.publisher()
            or first("publisher"),
            cap=300,
        )
        or _title_site(page.title)
        or _handle(first("twitter:site"))
    )
    locale = clean_text(first("og:locale"), cap=50)
    lang = (
        clean_lang(page.lang)
        or clean_lang(locale)
        or clean_lang(content_language)
        or clean_lang(page.content_language)
    )
    author = _first_person(
        first("article:author"),
        ld.author(),
        first(*_AUTHOR_METAS),
        *page.item_authors[:3],
        _innermost(page.bylines),
    )
    published = _first_date(
        first("article:published_time"),
        ld.text("datePublished"),
        first(*_DATE_METAS),
        page.itemprops.get("datepublished"),
        *page.item_dates[:3],
        *[when for when, marked in page.times if marked][:3],
        *page.class_dates[:2],
        ld.text("uploadDate"),
        ld.text("dateCreated"),
        *[when for when, _marked in page.times][:1],
    )
    icon = _first_url(
        base,
        _link(page, "icon"),
        _link(page, "apple-touch-icon", "apple-touch-icon-precomposed"),
    ) or origin_favicon(base)
    return Metadata(
        title=title,
        description=description,
        image=image,
        images=images,
        site_name=site_name,
        type=clean_text(first("og:type"), cap=200),
        canonical_url=_first_url(base, first("og:url"), _link(page, "canonical")),
        locale=locale,
        lang=lang,
        author=author,
        published=published,
        icon=icon,
        og=og,
        twitter=twitter,
        jsonld=jsonld,
    )


def _empty(base_url: str) -> Metadata:
    return Metadata(icon=origin_favicon(base_url))


def _missing(page: Page, ld: JsonLdView) -> tuple[bool, bool]:
    """Do the tags and JSON-LD leave (author, publication date) unknown?"""
    first = page.first
    author = _first_person(first("article:author"), ld.author(), first(*_AUTHOR_METAS))
    published = _first_date(
        first("article:published_time"),
        ld.text("datePublished"),
        first(*_DATE_METAS),
        page.itemprops.get("datepublished"),
    )
    return author is None, published is None


def _extract_utf8(
    data: bytes,
    base_url: str,
    content_language: str | None,
    include_jsonld: bool,
    fast: bool,
    check: _Check = "",
) -> Extraction:
    """The extraction proper, on the page as UTF-8 bytes.

    `check`: how the bytes kept must be checked (raising `_NotUtf8`), see `extract_bytes`.
    """
    try:
        scan = Scan(data)
        if fast:
            root = _parse_fragments(scan.document(), check)
        else:
            root = parse_tree(data.decode("utf-8", "replace"))
        if root is None:
            return Extraction(_empty(base_url), looks_like_challenge(data))
        page = collect(root)
        jsonld = extract_jsonld(page.scripts)
        ld = JsonLdView(jsonld)
        no_author, no_date = _missing(page, ld) if fast else (False, False)
        if no_author or no_date:
            body = scan.body_document(author=no_author, date=no_date)
            body_root = _parse_fragments(body, check) if body else None
            if body_root is not None:
                collect(body_root, page)
        metadata = _fields(page, jsonld, ld, base_url, content_language, _og_namespaces(root, page))
        if not include_jsonld:
            metadata = Metadata(**{**metadata.as_fields(), "jsonld": []})
        described = bool(metadata.og or metadata.twitter or page.scripts)
        return Extraction(metadata, looks_like_challenge(data, page.title, described))
    except _NotUtf8:
        raise
    except Exception:  # a bug must not cost the batch a URL: degrade to nothing
        try:
            return Extraction(_empty(base_url), False)
        except Exception:
            return Extraction(Metadata(), False)


def extract(
    html: str,
    base_url: str,
    *,
    content_language: str | None = None,
    include_jsonld: bool = True,
    fast: bool = True,
) -> Extraction:
    """Metadata of one decoded page; `base_url` is its final URL. Never raises.

    `fast=False` parses the whole page instead of its metadata fragments (for comparison).
    """
    try:
        data = html.encode("utf-8", "replace")
    except Exception:
        data = b""
    return _extract_utf8(data, base_url, content_language, include_jsonld, fast)


def extract_bytes(
    body: bytes,
    base_url: str,
    *,
    header_charset: str | None = None,
    content_language: str | None = None,
    include_jsonld: bool = True,
) -> Extraction:
    """decode_html + extract; a top-level picklable function run in worker processes.

    Pages are scanned in their raw bytes, without decoding all of them: only the bytes
    extraction keeps are decoded, and the encoding is checked on those (checking all of a
    page costs as much as the rest of the extraction). A page that declares UTF-8, or
    nothing, is read as UTF-8 when the bytes kept are UTF-8; a page that declares an
    ASCII-compatible legacy encoding (windows-1251, GB18030, Shift_JIS...) has them decoded
    as `decode_html` would decode a page (`decode.decode_fragment`). Otherwise (UTF-16,
    ISO-2022-JP, a declaration that does not fit) the whole page is decoded first.
    """
    declared = declared_encoding(body, header_charset)
    check: _Check = ""
    if declared is None or (declared == "utf-8" and not body.startswith(codecs.BOM_UTF8)):
        check = "utf-8"
    elif ascii_compatible(declared):
        check = declared
    if check:
        try:
            return _extract_utf8(body, base_url, content_language, include_jsonld, True, check)
        except _NotUtf8:
            pass
    encoding = sniff_encoding(body, header_charset)
    if encoding == "utf-8":
        data = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    else:
        data = decode_with(body, encoding).encode("utf-8", "replace")
    return _extract_utf8(data, base_url, content_language, include_jsonld, True)
