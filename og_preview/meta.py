"""The meta-tag pass: a small document to parse, and what its tags say.

`small_document` keeps what metadata needs from a page: everything up to
`</head>`, plus the `<meta>`, `<link>`, JSON-LD `<script>` (and, when the head
has none, `<title>`) fragments of the rest, picked out with a compiled regex
instead of parsing a 250 kB body. `collect` walks the parsed tree once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from .clean import MAX_TEXT, clean_text

__all__ = ["Page", "build_og", "build_twitter", "collect", "small_document"]

MAX_FRAGMENTS = 5000
MAX_FRAGMENT_CHARS = 2_000_000
MAX_VALUES = 100  # entries of one repeated og property
MAX_KEYS = 300  # distinct og / twitter properties

# All scanning runs case-sensitively on a lower-cased copy of the page (same indices):
# literal-prefix searches and str.find are many times faster than re.IGNORECASE.
_HEAD_END = re.compile(r"</head\s*>")
_BODY_START = re.compile(r"<body[\s>/]")
_TAIL_TAG = re.compile(r"<(?:(!--)|(script)\b|(meta|link)\b|(title)\b|(time)\b)")
_VOID_TAG = re.compile(r"""<[a-zA-Z]+\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_SCRIPT_END = re.compile(r"</script\s*>")
_TITLE_END = re.compile(r"</title\s*>")
_HEAD_TITLE = re.compile(r"<title[\s>]")
_UNSAFE = re.compile(
    r"<(?:script|style|!--|textarea|template|title|iframe|noscript|xmp|plaintext|svg|math)"
)
_SIGNAL_WORDS = ("author", "byline", "datepublished", "writtenby")
_SIGNAL_ATTR = re.compile(r"""\s(?:itemprop|rel|class|id)\s*=\s*["']?[^"'<>=]*$""")
MAX_WINDOW = 1500  # characters of a byline / date element kept
MAX_WINDOWS = 12
MAX_TIMES = 10
MAX_SIGNAL_HITS = 2000


def _window(html: str, lower: str, start: int, size: int) -> str:
    """html[start:start+size], cut before anything that could swallow what follows."""
    stop = min(len(html), start + size)
    unsafe = _UNSAFE.search(lower, start + 1, stop)
    return html[start : unsafe.start() if unsafe else stop]


def _signal_tags(lower: str, cut: int, skipped: list[tuple[int, int]]) -> list[int]:
    """Starts of body tags whose itemprop/rel/class/id mentions author, byline, datePublished."""
    starts: set[int] = set()
    hits = 0
    for word in _SIGNAL_WORDS:
        pos = lower.find(word, cut)
        while pos >= 0 and hits < MAX_SIGNAL_HITS:
            hits += 1
            tag = lower.rfind("<", cut, pos)
            if (
                tag >= 0
                and tag not in starts
                and lower.find(">", tag, pos) < 0
                and lower[tag + 1 : tag + 2].isalpha()
                and _SIGNAL_ATTR.search(lower, tag, pos)
                and not any(a <= tag < b for a, b in skipped)
            ):
                starts.add(tag)
            pos = lower.find(word, pos + len(word))
    return sorted(starts)[:MAX_WINDOWS]


def small_document(html: str, lower: str | None = None) -> str:
    """The head of `html` plus the metadata fragments of its body (or `html` if unsure).

    `lower` is `html.lower()` when the caller has it (it must have the same length).
    """
    if lower is None:
        lower = html.lower()
    if len(lower) != len(html):
        return html  # a few characters change length when lower-cased: parse it all
    end = _HEAD_END.search(lower)
    cut = end.start() if end else -1
    if cut < 0:
        body = _BODY_START.search(lower)
        if body is None:
            return html
        cut = body.start()
    head = lower[:cut]
    if head.rfind("<!--") > head.rfind("-->") or head.rfind("<script") > head.rfind("</script"):
        return html  # the "</head>" we found is inside a comment or a script
    want_title = _HEAD_TITLE.search(head) is None
    fragments: list[str] = []
    skipped: list[tuple[int, int]] = []  # comments and scripts of the body
    times = 0
    size = 0
    pos = cut
    while len(fragments) < MAX_FRAGMENTS and size < MAX_FRAGMENT_CHARS:
        match = _TAIL_TAG.search(lower, pos)
        if match is None:
            break
        comment, script, void, title, time = match.groups()
        start = match.start()
        piece = ""
        if comment:
            close = lower.find("-->", match.end())
            if close < 0:
                skipped.append((start, len(lower)))
                break
            pos = close + 3
            skipped.append((start, pos))
            continue
        if void or time:
            tag = _VOID_TAG.match(html, start)
            if tag is None:
                close = lower.find(">", start)
                if close < 0:
                    break
                pos = close + 1
                continue
            pos = tag.end()
            if void:
                piece = tag.group(0)
            elif times < MAX_TIMES:
                piece, times = tag.group(0) + "</time>", times + 1
        elif script:
            open_end = lower.find(">", match.end())
            close_m = _SCRIPT_END.search(lower, max(open_end, match.end()))
            if open_end < 0 or close_m is None:
                skipped.append((start, len(lower)))
                break
            if lower.find("ld+json", match.end(), open_end) >= 0:
                piece = html[start : close_m.end()]
            else:
                skipped.append((start, close_m.end()))
            pos = close_m.end()
        elif title:
            close_m = _TITLE_END.search(lower, match.end())
            if close_m is None:
                break
            if want_title:
                piece = html[start : close_m.end()]
                want_title = False
            pos = close_m.end()
        if piece:
            fragments.append(piece)
            size += len(piece)
    windows = "".join(
        f"<div>{_window(html, lower, start, MAX_WINDOW)}</div>"
        for start in _signal_tags(lower, cut, skipped)
    )
    return f"{html[:cut]}</head><body>{''.join(fragments)}{windows}</body></html>"


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

    def first(self, *keys: str) -> str | None:
        """The first non-empty value of any of `keys`, in the order of `keys`."""
        for key in keys:
            for name, value in self.metas:
                if name == key and value.strip():
                    return value
        return None


def _in_svg(element: HtmlElement) -> bool:
    return any(str(a.tag).lower() in ("svg", "symbol") for a in element.iterancestors())


_BYLINE = re.compile(r"byline|author|writtenby", re.IGNORECASE)
MAX_BYLINE = 100


def _body_signals(page: Page, el: HtmlElement) -> None:
    """Dates and bylines written in the body (`<time>`, itemprop, rel=author, class~byline)."""
    tag = el.tag
    itemprop = (el.get("itemprop") or "").lower()
    if tag == "time":
        when = el.get("datetime")
        if when and len(page.times) < 20:
            marked = el.get("pubdate") is not None or "datepublished" in itemprop
            page.times.append((when, marked))
    if itemprop:
        if "datepublished" in itemprop:
            value = el.get("content") or el.get("datetime") or el.get("title") or el.text_content()
            if value:
                page.item_dates.append(value)
        if "author" in itemprop or "creator" in itemprop:
            names = [n for n in el.iter() if (n.get("itemprop") or "").lower() == "name"]
            node = names[0] if names else el
            value = node.get("content") or node.text_content()
            if value and value.strip():
                page.item_authors.append(value)
    if len(page.bylines) < 5 and page.byline_checks < 30:
        rel = (el.get("rel") or "").lower()
        marks = f"{el.get('class') or ''} {el.get('id') or ''}"
        if "author" in rel.split() or "author" in itemprop or _BYLINE.search(marks):
            page.byline_checks += 1
            text = clean_text(el.text_content(), cap=1000)
            if text and len(text) < MAX_BYLINE:
                page.bylines.append(text)


def collect(root: HtmlElement) -> Page:
    page = Page()
    page.lang = root.get("lang") or root.get("xml:lang") if str(root.tag) == "html" else None
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue  # comments, processing instructions
        if tag == "meta":
            value = el.get("content")
            if value is None:
                value = el.get("value")
            if value is None:
                continue
            prop, name = el.get("property"), el.get("name")
            if prop:
                page.metas.append((prop.strip().lower(), value))
            if name and name != prop:
                page.metas.append((name.strip().lower(), value))
            itemprop = el.get("itemprop")
            if itemprop:
                page.itemprops.setdefault(itemprop.strip().lower(), value)
            equiv = el.get("http-equiv")
            if equiv and equiv.strip().lower() == "content-language":
                page.content_language = page.content_language or value
        elif tag == "link":
            rel, href = el.get("rel"), el.get("href")
            if rel and href:
                page.links.append((rel.lower().split(), href, el.get("sizes") or ""))
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
            if el.attrib:
                _body_signals(page, el)
    return page


# ------------------------------------------------------------------ OpenGraph

OG_PREFIXES = ("og:", "article:", "book:", "profile:", "music:", "video:", "fb:")
ARRAY_ROOTS = {
    "og:image", "og:video", "og:audio", "og:locale:alternate", "og:see_also",
    "article:tag", "article:author", "article:section_url", "book:author", "book:tag",
    "music:song", "music:album", "music:musician", "music:creator", "video:actor",
    "video:director", "video:writer", "video:tag", "fb:admins", "fb:profile_id",
}  # fmt: skip
_STRUCTURED_OF = ("og:image:", "og:video:", "og:audio:", "music:song:", "music:album:", "video:actor:")


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
