"""JSON-LD read by extruct, bounded copies, and the values previews use."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml.html import HtmlElement

__all__ = ["JsonLdView", "extract_jsonld", "is_jsonld_script"]

MAX_DEPTH = 24  # JSON-LD nested deeper than this is cut (a record must stay serialisable)
MAX_NODES = 20_000  # values kept over all of a page's JSON-LD
MAX_STRING = 10_000
MAX_SCRIPT = 1_000_000  # characters of one script we are willing to parse
MAX_CHARS = 2_000_000  # characters of all of a page's scripts

_WRAPPER = re.compile(r"^\s*(?://\s*)?(?:<!\[CDATA\[|<!--)|(?://\s*)?(?:\]\]>|-->)\s*$")
_LD_TYPE = re.compile(r"^\s*application/ld\+json\s*(?:;.*)?$", re.IGNORECASE)


def is_jsonld_script(type_attr: str | None) -> bool:
    return bool(type_attr) and bool(_LD_TYPE.match(type_attr or ""))


_SURROGATE = re.compile("[\ud800-\udfff]")  # lone halves from "\\ud800" escapes: not UTF-8


def _text(value: str, cap: int) -> str:
    if value.isascii():
        return value[:cap]
    return _SURROGATE.sub("\ufffd", value[:cap])


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


def _bounded(value: Any, depth: int, budget: _Budget) -> Any:
    """A copy of parsed JSON with depth, size and string-length caps."""
    budget.left -= 1
    if budget.left < 0:
        return None
    if isinstance(value, str):
        return _text(value, MAX_STRING)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if budget.left <= 0:
                break
            out[_text(str(key), 200)] = _bounded(item, depth + 1, budget)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            if budget.left <= 0:
                break
            items.append(_bounded(item, depth + 1, budget))
        return items
    return None


def _maybe_wrapped(text: str) -> bool:
    """Can `_WRAPPER` match `text`? (It scans all of it: worth skipping for big scripts.)"""
    start, end = text[:200].lstrip(), text[-200:].rstrip()
    if not start or not end:  # a long run of white space: let the regex decide
        return True
    return start.startswith(("//", "<![CDATA[", "<!--")) or end.endswith(("]]>", "-->"))


def _script_items(extractor: Any, script: HtmlElement) -> list[Any]:
    """The JSON-LD items extruct reads from one `<script>`; [] when it cannot."""
    try:
        return list(extractor.extract_items(script))  # (the script and its descendants)
    except Exception:  # invalid JSON, too deep, ...
        return []


def extract_jsonld(scripts: Iterable[HtmlElement]) -> list[Any]:
    """The JSON-LD objects of a page's `<script type="application/ld+json">` elements (of
    an lxml tree), read by extruct's `JsonLdExtractor` one script at a time: it gives up
    on a whole page at its first broken script. CDATA and comment wrappers are dropped
    where extruct cannot read a script as written. The copies kept are bounded (depth,
    nodes, string lengths); oversized scripts are skipped."""
    from extruct.jsonld import JsonLdExtractor

    extractor = JsonLdExtractor()
    budget = _Budget(MAX_NODES)
    chars = MAX_CHARS
    objects: list[Any] = []
    for script in scripts:
        text = script.text or ""
        if budget.left <= 0 or chars <= 0:
            break
        if not text or text.isspace() or len(text) > MAX_SCRIPT:
            continue
        chars -= len(text)
        items = _script_items(extractor, script)
        if not items and _maybe_wrapped(text):
            unwrapped = _WRAPPER.sub("", text)  # CDATA or comment wrappers around the JSON
            if unwrapped != text:
                script.text = unwrapped
                items = _script_items(extractor, script)
        for item in items:
            kept = _bounded(item, 0, budget)
            if kept:
                objects.append(kept)
    return objects


_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "scholarlyarticle",
    "techarticle",
    "socialmediaposting",
    "report",
    "liveblogposting",
    "review",
    "videoobject",
    "podcastepisode",
    "recipe",
    "creativework",
    "medicalwebpage",
    "discussionforumposting",
    "qapage",
    "howto",
    "musicrecording",
    "movie",
    "product",
    "event",
    "book",
    "episode",
    "tvepisode",
}


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    if isinstance(kind, str):
        return {kind.lower().rsplit("/", 1)[-1]}
    if isinstance(kind, list):
        return {k.lower().rsplit("/", 1)[-1] for k in kind if isinstance(k, str)}
    return set()


def _name(value: Any, depth: int = 0) -> str | None:
    """A person's or organisation's name from a string, object or list."""
    if depth > 4:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("name", "legalName", "alternateName"):
            name = value.get(key)
            if isinstance(name, str) and name.strip():
                return name
            if isinstance(name, list | dict):
                got = _name(name, depth + 1)
                if got:
                    return got
        return None
    if isinstance(value, list):
        for item in value:
            got = _name(item, depth + 1)
            if got:
                return got
    return None


def _url(value: Any, depth: int = 0) -> str | None:
    """An image URL from a string, ImageObject or list."""
    if depth > 4:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("url", "contentUrl", "thumbnailUrl"):
            got = _url(value.get(key), depth + 1) if key in value else None
            if got:
                return got
        return None
    if isinstance(value, list):
        for item in value:
            got = _url(item, depth + 1)
            if got:
                return got
    return None


class JsonLdView:
    """The nodes of a page's JSON-LD, main entities first, and the values we take from them."""

    def __init__(self, objects: list[Any]) -> None:
        nodes = list(self._nodes(objects))
        is_main = [bool(_types(n) & _ARTICLE_TYPES) for n in nodes]
        self.nodes = [n for n, m in zip(nodes, is_main, strict=True) if m] + [
            n for n, m in zip(nodes, is_main, strict=True) if not m
        ]
        self._by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}

    @staticmethod
    def _nodes(objects: list[Any]) -> Iterator[dict[str, Any]]:
        """Top-level objects, @graph members and mainEntity objects (breadth-first)."""
        queue: list[Any] = list(objects)
        seen = 0
        while queue and seen < 500:
            item = queue.pop(0)
            seen += 1
            if isinstance(item, list):
                queue.extend(item)
            elif isinstance(item, dict):
                yield item
                for key in ("@graph", "mainEntity", "mainEntityOfPage"):
                    sub = item.get(key)
                    if isinstance(sub, dict | list):
                        queue.append(sub)

    def _deref(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"@id"}:
            return self._by_id.get(value["@id"], value)
        if isinstance(value, list):
            return [self._deref(v) for v in value[:20]]
        return value

    def first(self, key: str) -> Any:
        for node in self.nodes:
            value = node.get(key)
            if value not in (None, "", [], {}):
                return self._deref(value)
        return None

    def text(self, key: str) -> str | None:
        value = self.first(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and isinstance(value[0], str):
            return value[0]
        return None

    def author(self) -> str | None:
        for node in self.nodes:
            for key in ("author", "creator"):
                if key in node:
                    name = _name(self._deref(node[key]))
                    if name and name.strip():
                        return name
        return None

    def publisher(self) -> str | None:
        value = self.first("publisher")
        return _name(value) if value is not None else None

    def image(self) -> str | None:
        for key in ("image", "thumbnailUrl"):
            value = self.first(key)
            if value is not None:
                got = _url(value)
                if got:
                    return got
        return None
