"""The tag pass: what a parsed page's tags say, and its OpenGraph / Twitter properties.

`collect` walks the (small, see `scan.py`) tree once, in page order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from .clean import MAX_TEXT, clean_text

__all__ = ["Page", "build_og", "build_twitter", "collect", "og_image_groups"]

MAX_VALUES = 100  # entries of one repeated og property
MAX_KEYS = 300  # distinct og / twitter properties


@dataclass(slots=True)
class Page:
    """What the tags of one page say, in page order, before any choosing."""

    metas: list[tuple[str, str]] = field(default_factory=list)  # (lower-cased key, raw value)
    itemprops: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    lang: str | None = None
    content_language: str | None = None
    base: str | None = None
    links: list[tuple[list[str], str, str]] = field(default_factory=list)  # (rels, href, sizes)
    scripts: list[HtmlElement] = field(default_factory=list)
    times: list[tuple[str, bool]] = field(default_factory=list)  # (datetime, marked as published)
    item_dates: list[str] = field(default_factory=list)  # itemprop=datePublished values
    item_authors: list[str] = field(default_factory=list)  # itemprop=author names
    bylines: list[str] = field(default_factory=list)  # rel=author / class~byline texts
    byline_checks: int = 0
    class_dates: list[str] = field(default_factory=list)  # ISO text of class~published elements
    # key -> its first non-empty value, built on first use (and again if metas grew)
    _first: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=-1, repr=False, compare=False)

    def first(self, *keys: str) -> str | None:
        """The first non-empty value of any of `keys`, in the order of `keys`."""
        index = self._first
        if self._indexed != len(self.metas):
            index.clear()
            for name, value in self.metas:
                if name not in index and value.strip():
                    index[name] = value
            self._indexed = len(self.metas)
        for key in keys:
            found = index.get(key)
            if found is not None:
                return found
        return None


def _in_svg(element: HtmlElement) -> bool:
    return any(str(a.tag).lower() in ("svg", "symbol") for a in element.iterancestors())


_BYLINE = re.compile(r"byline|author|writtenby", re.IGNORECASE)
_DATE_MARK = re.compile(r"publish|timestamp|pubdate|post-?date|entry-?date|article-?date", re.I)
_DATE_MARK_LOW = re.compile(r"pubdate|post-?date|entry-?date|article-?date")  # lower-cased ASCII
_ISO_TEXT = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\s*$"
)
MAX_BYLINE = 100


def _marked(marks: str) -> tuple[bool, bool]:
    """Do class/id `marks` mark a date, a byline?"""
    if marks.isascii():  # (re.I matches non-ASCII look-alikes too: the regexes for those)
        low = marks.lower()
        return (
            "publish" in low
            or "timestamp" in low
            or ("date" in low and _DATE_MARK_LOW.search(low) is not None)
        ), ("byline" in low or "author" in low or "writtenby" in low)
    return _DATE_MARK.search(marks) is not None, _BYLINE.search(marks) is not None


def _body_signals(page: Page, el: HtmlElement, attrs: dict[str, str]) -> None:
    """Dates and bylines written in the body (`<time>`, itemprop, rel=author, class~byline).

    `attrs`: the attributes of `el` (one `items()` call is cheaper than several `get`s).
    """
    tag = el.tag
    itemprop = (attrs.get("itemprop") or "").lower()
    if tag == "time":
        when = attrs.get("datetime")
        if when and len(page.times) < 20:
            marked = "pubdate" in attrs or "datepublished" in itemprop
            page.times.append((when, marked))
    if itemprop:
        if "datepublished" in itemprop:
            value = attrs.get("content") or attrs.get("datetime") or attrs.get("title")
            if not value:
                inner = next(
                    (t.get("datetime") for t in el.iter("time") if t.get("datetime")), None
                )
                value = inner or el.text_content()
            if value:
                page.item_dates.append(value)
        if "author" in itemprop or "creator" in itemprop:
            names = [n for n in el.iter() if (n.get("itemprop") or "").lower() == "name"]
            node = names[0] if names else el
            value = node.get("content") or node.text_content()
            if value and value.strip():
                page.item_authors.append(value)
    klass, ident = attrs.get("class"), attrs.get("id")
    date_mark, byline_mark = (
        _marked(f"{klass or ''} {ident or ''}") if klass or ident else (False, False)
    )
    if date_mark and len(page.class_dates) < 3 and len(el) == 0:
        stamp = el.text or ""
        if _ISO_TEXT.match(stamp):  # an ISO 8601 time as the text of a date-marked element
            page.class_dates.append(stamp.strip())
    if len(page.bylines) < 5 and page.byline_checks < 30:
        rel = attrs.get("rel")
        if byline_mark or "author" in itemprop or (rel and "author" in rel.lower().split()):
            page.byline_checks += 1
            text = clean_text(el.text_content(), cap=1000)
            if text and len(text) < MAX_BYLINE:
                page.bylines.append(text)


def collect(root: HtmlElement, page: Page | None = None) -> Page:
    """What the tags of `root` say.

    Given a `page`, `root` holds body fragments only: their dates and bylines are added
    to it (their `<meta>`/`<link>` tags are already in it).
    """
    if page is not None:
        for el in root.iter():
            if isinstance(el.tag, str):
                items = el.items()
                if items:
                    _body_signals(page, el, dict(items))
        return page
    page = Page()
    if str(root.tag) == "html":
        page.lang = root.get("lang") or root.get("xml:lang")
    metas, links = page.metas, page.links
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if tag == "meta":
            attrs = dict(el.items())
            value = attrs.get("content")
            if value is None:
                value = attrs.get("value")
            if value is None:
                continue
            prop, name = attrs.get("property"), attrs.get("name")
            if prop:
                metas.append((prop.strip().lower(), value))
            if name and name != prop:
                metas.append((name.strip().lower(), value))
            itemprop = attrs.get("itemprop")
            if itemprop:
                page.itemprops.setdefault(itemprop.strip().lower(), value)
            equiv = attrs.get("http-equiv")
            if equiv and equiv.strip().lower() == "content-language":
                page.content_language = page.content_language or value
        elif tag == "link":
            attrs = dict(el.items())
            rel, href = attrs.get("rel"), attrs.get("href")
            if rel and href:
                links.append((rel.lower().split(), href, attrs.get("sizes") or ""))
        elif tag == "title":
            if page.title is None and not _in_svg(el):
                page.title = el.text_content()
        elif tag == "base":
            href = el.get("href")
            if page.base is None and href:
                page.base = href
        elif tag == "script":
            kind = el.get("type")
            if kind and "ld+json" in kind.lower():
                page.scripts.append(el)
        elif tag in ("head", "html", "style", "body"):
            continue
        else:
            items = el.items()
            if items:
                _body_signals(page, el, dict(items))
    return page


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


def build_og(page: Page, extra_prefixes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every OpenGraph-family property, first wins; repeated roots become arrays."""
    prefixes = OG_PREFIXES + extra_prefixes
    return _property_dict([(k, v) for k, v in page.metas if k.startswith(prefixes)], True)


def build_twitter(page: Page) -> dict[str, Any]:
    return _property_dict([(k, v) for k, v in page.metas if k.startswith("twitter:")], False)


def og_image_groups(page: Page) -> list[dict[str, str]]:
    """og:image roots with their structured properties, in page order (raw values)."""
    groups: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for key, raw in page.metas:
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
