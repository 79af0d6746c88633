"""Pick out of a page the few fragments metadata needs, without parsing all of it.

Parsing a whole 250 kB page with lxml costs about 3 ms; the metadata lives in a
few kB of it. `Scan.document()` keeps, in page order, the `<html>` and `<head>`
start tags, every `<meta>`, `<link>` and `<base>`, the JSON-LD `<script>`s and
the first `<title>` (outside comments and other scripts and styles), as one
small document for one lxml parse. `Scan.body_document()` is asked for only
when those leave author or date unknown: the body's `<time>` tags and the
elements marked as author / byline / datePublished, cut out as small windows.

Scanning runs on the page's UTF-8 bytes and a lower-cased copy (`bytes.lower`
is ASCII-only, so both share indices): literal searches on bytes are many
times faster than case-insensitive regexes on a str.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["Scan"]

MAX_FRAGMENTS = 5000
MAX_FRAGMENT_BYTES = 2_000_000
MAX_WINDOW = 1500  # bytes of a byline / date element kept
MAX_WINDOWS = 12
MAX_TIMES = 10
MAX_SIGNAL_HITS = 2000

_HEAD_END = re.compile(rb"</head\s*>")
_BODY_START = re.compile(rb"<body[\s>/]")
_TAG = re.compile(rb"<(?:!--|script|style|meta|link|base|title|html|head|time)")
_START_TAG = re.compile(rb"""<[a-zA-Z]+\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_SCRIPT_END = re.compile(rb"</script\s*>")
_STYLE_END = re.compile(rb"</style\s*>")
_TITLE_END = re.compile(rb"</title\s*>")
_UNSAFE = re.compile(
    rb"<(?:script|style|!--|textarea|template|title|iframe|noscript|xmp|plaintext|svg|math|"
    rb"html|head|body)\b"
)
_AUTHOR_WORDS = (b"author", b"byline")
_DATE_WORDS = (b"publish", b"timestamp")
_SIGNAL_ATTR = re.compile(rb"""\s(?:itemprop|rel|class|id)\s*=\s*["']?[^"'<>=]*$""")
_NAME_END = frozenset(b" \t\n\r\f/>")


class Scan:
    """One page's bytes, scanned once for its metadata fragments."""

    __slots__ = ("_skipped", "_time_tags", "body_at", "data", "lower")

    def __init__(self, data: bytes, lower: bytes | None = None) -> None:
        self.data = data
        self.lower = data.lower() if lower is None else lower
        end = _HEAD_END.search(self.lower)
        if end is not None:
            self.body_at = end.start()
        else:
            body = _BODY_START.search(self.lower)
            self.body_at = body.start() if body else len(self.lower)
        self._skipped: list[tuple[int, int]] = []  # comments, scripts and styles, in order
        self._time_tags: list[bytes] = []  # the body's <time> start tags (found by document())

    def document(self) -> str:
        """The metadata fragments of the page as one small HTML document."""
        data, lower = self.data, self.lower
        html_tag, head_tag = b"<html>", b"<head>"
        want_html = want_head = want_title = True
        parts: list[bytes] = []
        skipped = self._skipped
        size = 0
        pos = 0
        end_of_page = len(lower)
        while len(parts) < MAX_FRAGMENTS and size < MAX_FRAGMENT_BYTES:
            match = _TAG.search(lower, pos)
            if match is None:
                break
            start, after = match.start(), match.end()
            name = lower[start + 1 : after]
            if name == b"!--":
                close = lower.find(b"-->", after)
                pos = end_of_page if close < 0 else close + 3
                skipped.append((start, pos))
                continue
            if after < end_of_page and lower[after] not in _NAME_END:
                pos = after  # <metadata>, <header>, <linkage>...: not ours
                continue
            if name in (b"script", b"style"):
                open_end = lower.find(b">", after)
                ender = _SCRIPT_END if name == b"script" else _STYLE_END
                close_m = ender.search(lower, max(open_end, after))
                pos = end_of_page if open_end < 0 or close_m is None else close_m.end()
                if (
                    name == b"script"
                    and open_end >= 0
                    and lower.find(b"ld+json", after, open_end) >= 0
                ):
                    parts.append(data[start:pos])
                    size += pos - start
                else:
                    skipped.append((start, pos))
                continue
            if name == b"title":
                close_m = _TITLE_END.search(lower, after)
                pos = end_of_page if close_m is None else close_m.end()
                if want_title:
                    parts.append(data[start:pos] + (b"" if close_m else b"</title>"))
                    want_title = False
                continue
            tag = _START_TAG.match(data, start)
            if tag is None:
                close = lower.find(b">", after)
                if close < 0:
                    break
                pos = close + 1
                continue
            pos = tag.end()
            if name == b"html":
                if want_html:
                    html_tag, want_html = tag.group(0), False
            elif name == b"head":
                if want_head:
                    head_tag, want_head = tag.group(0), False
            elif name == b"time":
                if start >= self.body_at and len(self._time_tags) < MAX_TIMES:
                    self._time_tags.append(tag.group(0) + b"</time>")
            else:
                parts.append(tag.group(0))
                size += pos - start
        doc = b"".join((html_tag, head_tag, *parts, b"</head><body></body></html>"))
        return doc.decode("utf-8", "replace")

    def _inside_skipped(self, pos: int) -> int:
        """The end of the comment/script/style holding `pos`, else -1."""
        skipped = self._skipped
        index = bisect_right(skipped, (pos, 1 << 62)) - 1
        if index >= 0 and skipped[index][0] <= pos < skipped[index][1]:
            return skipped[index][1]
        return -1

    def _signal_tags(self, words: tuple[bytes, ...]) -> list[int]:
        """Starts of body tags whose itemprop/rel/class/id contains one of `words`."""
        lower, cut = self.lower, self.body_at
        starts: set[int] = set()
        hits = 0
        for word in words:
            pos = lower.find(word, cut)
            while pos >= 0 and hits < MAX_SIGNAL_HITS:
                hits += 1
                skip_to = self._inside_skipped(pos)
                if skip_to >= 0:
                    pos = lower.find(word, skip_to)
                    continue
                tag = lower.rfind(b"<", cut, pos)
                if (
                    tag >= 0
                    and tag not in starts
                    and lower.find(b">", tag, pos) < 0
                    and 0x61 <= lower[tag + 1] <= 0x7A
                    and _SIGNAL_ATTR.search(lower, tag, pos)
                ):
                    starts.add(tag)
                pos = lower.find(word, pos + len(word))
        return sorted(starts)[:MAX_WINDOWS]

    def _window(self, start: int) -> bytes:
        """MAX_WINDOW bytes from `start`, cut before anything that could swallow what follows."""
        data = self.data
        stop = min(len(data), start + MAX_WINDOW)
        unsafe = _UNSAFE.search(self.lower, start + 1, stop)
        if unsafe:
            stop = unsafe.start()
        elif data.rfind(b"<", start + 1, stop) > data.rfind(b">", start, stop):
            stop = data.rfind(b"<", start + 1, stop)  # never end inside a tag
        while stop > start and 0x80 <= data[stop - 1] <= 0xBF:  # don't split a UTF-8 sequence
            stop -= 1
        if stop > start and data[stop - 1] >= 0xC0:
            stop -= 1
        return data[start:stop]

    def body_document(self, *, author: bool = True, date: bool = True) -> str | None:
        """The body's elements marked as author/byline (`author`) and its `<time>` tags and
        elements marked as published (`date`); None if there are none.

        Call after `document()` (it records the comments and scripts to skip).
        """
        parts = list(self._time_tags) if date else []
        words = (_AUTHOR_WORDS if author else ()) + (_DATE_WORDS if date else ())
        parts.extend(
            b"<div>" + self._window(start) + b"</div>" for start in self._signal_tags(words)
        )
        if not parts:
            return None
        return b"".join((b"<html><body>", *parts, b"</body></html>")).decode("utf-8", "replace")
