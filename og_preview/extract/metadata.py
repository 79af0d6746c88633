"""One HTML5 parse → extruct's OpenGraph and JSON-LD + our own pass → a clean `Metadata`.

The decoded page is parsed once by turbohtml, a WHATWG (browser) tree builder that stays
linear on any input: markup inside `<textarea>`, `<template>`, `<script>`, comments...
is text, never tags, and nesting is capped as browsers cap it. Its metadata-bearing
elements (`<title>`, `<meta>`, `<link>`, `<base>`, JSON-LD `<script>`s, wherever they
are) are read once (`meta.collect`); the `<meta property content>`s and the JSON-LD
scripts are rebuilt as a small lxml tree, on which extruct's own `OpenGraphExtractor`
and `JsonLdExtractor` run (the parse and the tree: `html5.py`). Our pass adds what
extruct does not read: twitter:*, `name=` tags, the HTML fallbacks, and (only when the
tags leave them unknown) the body's bylines and dates. `extract` and `extract_bytes`
never raise for anything a page contains: the worst case is a `Metadata` of Nones. (A
`deadline.ParseTimeout`, a BaseException, goes through: it is the caller's deadline.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..record import Metadata
from .challenge import looks_like_challenge
from .clean import clean_date, clean_lang, clean_text, clean_url, looks_like_url, origin_favicon
from .decode import decode_html, reads_as_utf8
from .html5 import metadata_tree, og_properties, parse_html
from .jsonld import JsonLdView, extract_jsonld
from .meta import Page, body_signals, build_og, build_twitter, collect, og_image_groups

__all__ = ["Extraction", "extract", "extract_bytes", "parse_html"]


@dataclass(frozen=True, slots=True)
class Extraction:
    metadata: Metadata
    challenge: bool  # the content looks like a bot-challenge interstitial


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
    og: dict[str, Any],
    jsonld: list[Any],
    ld: JsonLdView,
    base_url: str,
    content_language: str | None,
) -> Metadata:
    base = clean_url(page.base, base_url) or base_url if page.base else base_url
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


def _extract(
    text: str | bytes,
    base_url: str,
    content_language: str | None,
    jsonld_wanted: bool,
    nul_free: bool,
) -> Extraction:
    doc = parse_html(text, nul_free=nul_free)
    page = collect(doc)
    tree, scripts = metadata_tree(page)
    og = build_og(og_properties(tree), page)
    jsonld = extract_jsonld(scripts)
    ld = JsonLdView(jsonld)
    no_author, no_date = _missing(page, ld)
    if no_author or no_date:
        body_signals(doc, page, author=no_author, date=no_date)
    metadata = _fields(page, og, jsonld, ld, base_url, content_language)
    if not jsonld_wanted:
        metadata = Metadata(**{**metadata.as_fields(), "jsonld": []})
    described = bool(metadata.og or metadata.twitter or page.scripts)
    return Extraction(metadata, looks_like_challenge(text, page.title, described))


def _never_raising(
    text: str | bytes,
    base_url: str,
    content_language: str | None,
    jsonld_wanted: bool,
    nul_free: bool,
) -> Extraction:
    try:
        return _extract(text, base_url, content_language, jsonld_wanted, nul_free)
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
) -> Extraction:
    """Metadata of one decoded page; `base_url` is its final URL. Never raises."""
    return _never_raising(html, base_url, content_language, include_jsonld, False)


def extract_bytes(
    body: bytes,
    base_url: str,
    *,
    header_charset: str | None = None,
    content_language: str | None = None,
    include_jsonld: bool = True,
) -> Extraction:
    """`extract` of a page's bytes, decoded as `decode.decode_html` decodes them (the
    transport charset, a BOM, `<meta charset>`, then detection). Never raises."""
    if reads_as_utf8(body, header_charset):  # most pages: the parser reads the bytes
        return _never_raising(body, base_url, content_language, include_jsonld, True)
    try:
        text, encoding = decode_html(body, header_charset)
    except Exception:  # never fatal
        text, encoding = body.decode("utf-8", "replace"), "utf-8"
    # (UTF-8 text holds a U+0000 only where its bytes hold a 0x00)
    nul_free = encoding == "utf-8" and b"\x00" not in body
    return _never_raising(text, base_url, content_language, include_jsonld, nul_free)
