"""Our own pass over the HTML5 parse: what a page's tags say, before any choosing.

`collect` reads the metadata-bearing elements (`<title>`, `<meta>`, `<link>`, `<base>`,
JSON-LD `<script>`s) of a parsed document, in document order; `body_signals` reads the
bylines and dates written in the body, asked for only when the tags leave them unknown.
The OpenGraph properties themselves come from extruct (see `extract.py`); the helpers
at the end turn property pairs into the record's `og` / `twitter` dicts and `images`.

Every loop here is bounded by a count, and every element is visited at most once per
selection, so the cost grows linearly with the page whatever its shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from turbohtml import Document, Element, Namespace

from .clean import MAX_TEXT, clean_text
from .jsonld import is_jsonld_script

__all__ = [
    "OG_PREFIXES",
    "Page",
    "body_signals",
    "build_og",
    "build_twitter",
    "collect",
    "og_image_groups",
]

MAX_VALUES = 100  # entries of one repeated og property
MAX_KEYS = 300  # distinct og / twitter properties
MAX_METAS = 5000  # <meta> tags read from one page
MAX_LINKS = 500  # <link rel href> tags kept
MAX_SCRIPTS = 100  # JSON-LD scripts kept
MAX_SIGNALS = 200  # body elements looked at for bylines and dates
MAX_BYLINE = 100
MAX_TEXT_READ = 1000  # characters of an element's text read for a byline or a date
MAX_DEEP_CHECKS = 40  # subtree reads (texts, inner lookups) for bylines and dates, all told


@dataclass(slots=True)
class Page:
    """What the tags of one page say, in page order, before any choosing."""

    # (lower-cased key, raw value, written as `property` + `content`: what extruct reads)
    metas: list[tuple[str, str, bool]] = field(default_factory=list)
    # (property as written, content) of every `<meta property content>`: what extruct reads
    properties: list[tuple[str, str]] = field(default_factory=list)
    itemprops: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    lang: str | None = None
    content_language: str | None = None
    base: str | None = None
    links: list[tuple[list[str], str, str]] = field(default_factory=list)  # (rels, href, sizes)
    scripts: list[str] = field(default_factory=list)  # JSON-LD script texts
    html_prefix: str | None = None  # the `prefix` attributes extruct reads namespaces from
    head_prefix: str | None = None
    times: list[tuple[str, bool]] = field(default_factory=list)  # (datetime, marked as published)
    item_dates: list[str] = field(default_factory=list)  # itemprop=datePublished values
    item_authors: list[str] = field(default_factory=list)  # itemprop=author names
    bylines: list[str] = field(default_factory=list)  # rel=author / class~byline texts
    deep_checks: int = 0  # lookups in an element's subtree (each may read all of it)
    class_dates: list[str] = field(default_factory=list)  # ISO text of class~published elements
    # key -> its first non-empty value, built on first use (and again if metas grew)
    _first: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def first(self, *keys: str) -> str | None:
        """The first non-empty value of any of `keys`, in the order of `keys`."""
        index = self._first
        if self._indexed != len(self.metas):
            index.clear()
            for name, value, _extruct in self.metas:
                if name not in index and value.strip():
                    index[name] = value
            self._indexed = len(self.metas)
        for key in keys:
            found = index.get(key)
            if found is not None:
                return found
        return None


def _is_html(el: Element) -> bool:
    """An element of the HTML namespace (an SVG or MathML `<title>` is no page title)."""
    return el.namespace is Namespace.HTML


def _meta(page: Page, el: Element) -> None:
    attr = el.attr
    value = attr("content")
    from_content = value is not None
    if value is None:
        value = attr("value")
        if value is None:
            return
    prop, name = attr("property"), attr("name")
    if prop:
        page.metas.append((prop.strip().lower(), value, from_content))
        if from_content:
            page.properties.append((prop, value))
    if name and name != prop:
        page.metas.append((name.strip().lower(), value, False))
    itemprop = attr("itemprop")
    if itemprop:
        page.itemprops.setdefault(itemprop.strip().lower(), value)
    equiv = attr("http-equiv")
    if equiv and page.content_language is None and equiv.strip().lower() == "content-language":
        page.content_language = value


def collect(doc: Document) -> Page:
    """What the metadata-bearing elements of a parsed document say, in document order."""
    page = Page()
    root = doc.root
    if root is not None:
        page.lang = root.attr("lang") or root.attr("xml:lang")
        page.html_prefix = root.attr("prefix")
    head = doc.select_one("head")
    if head is not None:
        page.head_prefix = head.attr("prefix")
    for count, el in enumerate(doc.select("meta")):
        if count >= MAX_METAS:
            break
        _meta(page, el)
    for el in doc.select("link"):
        if len(page.links) >= MAX_LINKS:
            break
        rel, href = el.attr("rel"), el.attr("href")
        if rel and href:
            page.links.append((rel.lower().split(), href, el.attr("sizes") or ""))
    for el in doc.select("title"):
        if _is_html(el):  # the first HTML <title>: not an SVG's
            page.title = el.text
            break
    for el in doc.select("base"):
        href = el.attr("href")
        if href is not None and _is_html(el):  # the first <base href> counts, even ""
            page.base = href
            break
    for el in doc.select("script[type]"):
        if len(page.scripts) >= MAX_SCRIPTS:
            break
        if is_jsonld_script(el.attr("type")):
            page.scripts.append(el.text)
    return page


# ------------------------------------------------------------------ the body's bylines, dates

# (an id "authorization" or a class "authority" is no byline)
_BYLINE = re.compile(r"byline|author(?!i[tz])|writtenby", re.IGNORECASE)
_DATE_MARK = re.compile(r"publish|timestamp|pubdate|post-?date|entry-?date|article-?date", re.I)
_DATE_MARK_LOW = re.compile(r"pubdate|post-?date|entry-?date|article-?date")  # lower-cased ASCII
_ISO_TEXT = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\s*$"
)
# Candidates for `_body_signal`, which decides: the words of `_marked` in a class or id,
# `<time>`, itemprop, rel=author.
_AUTHOR_SELECTOR = (
    "[itemprop*=author i], [itemprop*=creator i], [rel~=author i], "
    "[class*=byline i], [class*=author i], [class*=writtenby i], "
    "[id*=byline i], [id*=author i], [id*=writtenby i]"
)
_DATE_SELECTOR = (
    "[itemprop*=datepublished i], "
    "[class*=publish i], [class*=timestamp i], [class*=date i], "
    "[id*=publish i], [id*=timestamp i], [id*=date i]"
)


def _marked(marks: str) -> tuple[bool, bool]:
    """Do class/id `marks` mark a date, a byline?"""
    if marks.isascii():  # (re.I matches non-ASCII look-alikes too: the regexes for those)
        low = marks.lower()
        return (
            "publish" in low
            or "timestamp" in low
            or ("date" in low and _DATE_MARK_LOW.search(low) is not None)
        ), (
            "byline" in low
            or "writtenby" in low
            or ("author" in low and _BYLINE.search(low) is not None)
        )
    return _DATE_MARK.search(marks) is not None, _BYLINE.search(marks) is not None


def _text(el: Element, limit: int) -> str:
    """The text of `el`, read only up to about `limit` characters (an element may hold
    the whole page: a byline or date is short, and a longer text is none)."""
    parts: list[str] = []
    size = 0
    for part in el.strings:
        parts.append(part)
        size += len(part)
        if size > limit:
            break
    return "".join(parts)


def _item_date(el: Element) -> str | None:
    attr = el.attr
    value = attr("content") or attr("datetime") or attr("title")
    if value:
        return value
    inner = el.select_one("time[datetime]")
    return (inner.attr("datetime") if inner is not None else None) or _text(el, MAX_TEXT_READ)


def _item_author(el: Element) -> str | None:
    name = el.select_one("[itemprop=name i]")
    node = name if name is not None else el
    return node.attr("content") or _text(node, MAX_TEXT_READ)


def _body_signal(page: Page, el: Element, author: bool, date: bool) -> None:
    """The date or byline one body element states (itemprop, rel, class, id)."""
    attr = el.attr
    itemprop = (attr("itemprop") or "").lower()
    if itemprop:
        deep = page.deep_checks < MAX_DEEP_CHECKS
        if deep and date and "datepublished" in itemprop and len(page.item_dates) < 5:
            page.deep_checks += 1
            value = _item_date(el)
            if value:
                page.item_dates.append(value)
        wants_author = deep and author and len(page.item_authors) < 5
        if wants_author and ("author" in itemprop or "creator" in itemprop):
            page.deep_checks += 1
            value = _item_author(el)
            if value and value.strip():
                page.item_authors.append(value)
    klass, ident = attr("class"), attr("id")
    date_mark, byline_mark = (
        _marked(f"{klass or ''} {ident or ''}") if klass or ident else (False, False)
    )
    if date and date_mark and len(page.class_dates) < 3 and el.select_one("*") is None:
        stamp = _text(el, MAX_TEXT_READ)
        if _ISO_TEXT.match(stamp):  # an ISO 8601 time as the text of a date-marked element
            page.class_dates.append(stamp.strip())
    if author and len(page.bylines) < 5 and page.deep_checks < MAX_DEEP_CHECKS:
        rel = attr("rel")
        if byline_mark or "author" in itemprop or (rel and "author" in rel.lower().split()):
            page.deep_checks += 1
            text = clean_text(_text(el, MAX_TEXT_READ), cap=1000)
            if text and len(text) < MAX_BYLINE:
                page.bylines.append(text)


def body_signals(doc: Document, page: Page, *, author: bool, date: bool) -> None:
    """Add to `page` the bylines (`author`) and dates (`date`) the body states."""
    body = doc.select_one("body")
    if body is None:
        return
    if date:
        for el in doc.select("time"):  # (a document's tag index: no walk of the tree)
            when = el.attr("datetime")
            if when:
                itemprop = (el.attr("itemprop") or "").lower()
                page.times.append(
                    (when, el.attr("pubdate") is not None or "datepublished" in itemprop)
                )
                if len(page.times) >= 20:
                    break
    selector = ", ".join(
        part for part, wanted in ((_AUTHOR_SELECTOR, author), (_DATE_SELECTOR, date)) if wanted
    )
    if not selector:
        return
    for count, el in enumerate(body.select(selector)):  # (one walk of the body)
        if count >= MAX_SIGNALS:
            break
        _body_signal(page, el, author, date)


# ------------------------------------------------------------------ OpenGraph

OG_PREFIXES = ("og:", "article:", "book:", "profile:", "music:", "video:", "fb:")
ARRAY_ROOTS = {
    "og:image",
    "og:video",
    "og:audio",
    "og:locale:alternate",
    "og:see_also",
    "article:tag",
    "article:author",
    "article:section_url",
    "book:author",
    "book:tag",
    "music:song",
    "music:album",
    "music:musician",
    "music:creator",
    "video:actor",
    "video:director",
    "video:writer",
    "video:tag",
    "fb:admins",
    "fb:profile_id",
}
_STRUCTURED_OF = (
    "og:image:",
    "og:video:",
    "og:audio:",
    "music:song:",
    "music:album:",
    "video:actor:",
)


def _repeats(key: str) -> bool:
    return key in ARRAY_ROOTS or key.startswith(_STRUCTURED_OF)


def _property_dict(pairs: list[tuple[str, str]], repeats: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in pairs:
        value = clean_text(raw, cap=MAX_TEXT)
        if value is None:
            continue
        if key not in out:
            if len(out) < MAX_KEYS:
                out[key] = value
            continue
        if repeats and _repeats(key):
            current = out[key]
            if isinstance(current, list):
                if len(current) < MAX_VALUES:
                    current.append(value)
            else:
                out[key] = [current, value]
    return out


def build_og(extruct_pairs: list[tuple[str, str]], page: Page) -> dict[str, Any]:
    """Every OpenGraph-family property: extruct's, then those it does not read (`name=`,
    `value=`, upper-case namespaces, `fb:`); the first wins, repeated roots are arrays."""
    reported: dict[tuple[str, str], int] = {}
    pairs: list[tuple[str, str]] = []
    for raw_key, value in extruct_pairs:
        key = raw_key.strip().lower()
        pairs.append((key, value))
        reported[(key, value)] = reported.get((key, value), 0) + 1
    for key, value, by_extruct in page.metas:
        if not key.startswith(OG_PREFIXES):
            continue
        if by_extruct and reported.get((key, value), 0) > 0:
            reported[(key, value)] -= 1  # already there, from extruct
            continue
        pairs.append((key, value))
    return _property_dict(pairs, True)


def build_twitter(page: Page) -> dict[str, Any]:
    return _property_dict([(k, v) for k, v, _ in page.metas if k.startswith("twitter:")], False)


def og_image_groups(page: Page) -> list[dict[str, str]]:
    """og:image roots with their structured properties, in page order (raw values)."""
    groups: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for key, raw, _by_extruct in page.metas:
        if not key.startswith("og:image"):
            continue
        value = raw.strip()
        if not value:
            continue
        if key == "og:image":
            if current is not None and "url" not in current:
                current["url"] = value  # structured properties written before their root
            else:
                current = {"url": value}
                groups.append(current)
            continue
        if key == "og:image:url":
            if current is None or "url:" in current:
                current = {"url": value, "url:": "1"}
                groups.append(current)
            else:
                current.setdefault("url", value)
                current["url:"] = "1"
            continue
        sub = key[len("og:image:") :] if key.startswith("og:image:") else ""
        if sub not in ("secure_url", "type", "width", "height", "alt"):
            continue
        if current is None:
            current = {}
            groups.append(current)
        current.setdefault(sub, value)
        if len(groups) > MAX_VALUES:
            break
    return groups
