"""Pick out of a page the few fragments metadata needs, without parsing all of it.

Parsing a whole 250 kB page with lxml costs about 3 ms; the metadata lives in a
few kB of it. `Scan.document()` keeps, in page order, the `<html>` and `<head>`
start tags, every `<meta>`, `<link>` and `<base>`, the JSON-LD `<script>`s and
the first `<title>` (outside comments and other scripts and styles), as one
small document for one lxml parse. `Scan.body_document()` is asked for only
when those leave author or date unknown: the body's `<time>` tags and the
elements marked as author / byline / datePublished, cut out as small windows.

Scanning runs on the page's UTF-8 bytes: one regex pass (`_TOKEN`) finds the
tags we keep and jumps over comments, scripts and styles, matching tag names
case-insensitively without lower-casing the page. `body_document()` lower-cases
only the parts of the body where its words can be (not its big scripts).

Both passes have a compiled twin in `_scan.c`, used when it was built; the Python
ones here are the reference (`tokens_python`, `Scan.signal_tags_python`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

__all__ = ["Scan"]

MAX_FRAGMENTS = 5000
MAX_FRAGMENT_BYTES = 2_000_000
MAX_WINDOW = 1500  # bytes of a byline / date element kept
MAX_WINDOWS = 12
MAX_TIMES = 10
MAX_SIGNAL_HITS = 2000
BIG_SKIP = 2048  # skipped regions at least this long are not searched for signal words

_HEAD_END = re.compile(rb"</(?i:head)\s*>")
_BODY_START = re.compile(rb"<(?i:body)[\s>/]")
# A tag name ends at whitespace, "/", ">" or the end of the page (`<metadata>` is not ours).
_NAME_END = rb"(?=[ \t\n\r\f/>]|\Z)"
# The start of a token of ours; the end of a comment, script, style or title is searched
# for separately (faster than consuming them in this pattern). Possessive quantifiers
# keep every part linear.
_TOKEN = re.compile(
    # a cheap filter first (the first three letters of our names): most "<" are not ours
    rb"<(?=[!sSmMlLbBtThH][-cCtTeEiIaA][-rRyYtTnNsSmMaA])(?:"
    rb"(!--)"  # 1: a comment
    rb"|(?i:script)" + _NAME_END + rb"([^>]*+)(>)?"  # 2: a script's attributes, 3: its ">"
    rb"|((?i:style|title))"
    + _NAME_END  # 4
    # 5: a tag we keep, 6: the rest of its start tag, quote-aware (None: it never ends)
    + rb"|((?i:meta|link|base|html|head|time))"
    + _NAME_END
    + rb"""((?:[^>"']++|"[^"]*+"|'[^']*+')*+>)?"""
    rb")"
)
_SCRIPT_END = re.compile(rb"</(?i:script)\s*>")
_STYLE_END = re.compile(rb"</(?i:style)\s*>")
_TITLE_END = re.compile(rb"</(?i:title)\s*>")
_UNSAFE = re.compile(
    # (the lookahead turns most "<" away before the alternatives are tried)
    rb"<(?=[sStTiInNxXpPmMhHbB!])"
    rb"(?i:script|style|!--|textarea|template|title|iframe|noscript|xmp|plaintext|svg|math|"
    rb"html|head|body)\b"
)
_AUTHOR_WORDS = (b"author", b"byline")
_DATE_WORDS = (b"publish", b"timestamp")
_SIGNAL_ATTR = re.compile(rb"""\s(?i:itemprop|rel|class|id)\s*=\s*["']?[^"'<>=]*$""")


Tokens = tuple[bytes | None, bytes | None, list[bytes], list[tuple[int, int]], list[bytes]]


def tokens_python(
    data: bytes, body_at: int, max_fragments: int, max_bytes: int, max_times: int
) -> Tokens:
    """The token pass of `Scan.document()`: the `<html>` and `<head>` start tags (None when
    absent), the fragments kept in page order, the (start, end) of every comment, script
    and style skipped, and the body's `<time>` start tags (each closed).

    The reference for `_scan.tokens`, its compiled twin (tests/unit/test_scan_native.py)."""
    html_tag: bytes | None = None
    head_tag: bytes | None = None
    want_title = True
    parts: list[bytes] = []
    skipped: list[tuple[int, int]] = []
    times: list[bytes] = []
    search = _TOKEN.search
    end_of_page = len(data)
    size = 0
    pos = 0
    while len(parts) < max_fragments and size < max_bytes:
        match = search(data, pos)
        if match is None:
            break
        start, pos = match.span()
        comment, script_attrs, script_open, raw, name, tag = match.groups()
        if name is not None:
            if tag is None:  # an unterminated quote: resume after the next ">"
                close = data.find(b">", pos)
                if close < 0:
                    break
                pos = close + 1
                continue
            first = name[0] | 0x20
            if first == 0x68:  # html, head
                if name[1] | 0x20 == 0x74:
                    if html_tag is None:
                        html_tag = match.group(0)
                elif head_tag is None:
                    head_tag = match.group(0)
            elif first == 0x74:  # time
                if start >= body_at and len(times) < max_times:
                    times.append(match.group(0) + b"</time>")
            else:  # meta, link, base
                tag = match.group(0)
                if first == 0x6C:  # <link>: only those extraction reads are kept
                    low = tag.lower()
                    if b"icon" not in low and b"canonical" not in low and b"image_src" not in low:
                        continue
                parts.append(tag)
                size += pos - start
        elif script_attrs is not None:
            if script_open is None:  # a start tag that never ends swallows the page
                skipped.append((start, end_of_page))
                break
            close_m = _SCRIPT_END.search(data, pos)
            pos = end_of_page if close_m is None else close_m.end()
            if b"ld+json" in script_attrs.lower():
                parts.append(data[start:pos])
                size += pos - start
            else:
                skipped.append((start, pos))
        elif comment is not None:
            close = data.find(b"-->", pos)
            pos = end_of_page if close < 0 else close + 3
            skipped.append((start, pos))
        elif raw[1] | 0x20 == 0x74:  # style
            open_end = data.find(b">", pos)
            if open_end < 0:
                skipped.append((start, end_of_page))
                break
            close_m = _STYLE_END.search(data, open_end)
            pos = end_of_page if close_m is None else close_m.end()
            skipped.append((start, pos))
        else:  # title
            close_m = _TITLE_END.search(data, pos)
            pos = end_of_page if close_m is None else close_m.end()
            if want_title:
                parts.append(data[start:pos] + (b"" if close_m else b"</title>"))
                want_title = False
    return html_tag, head_tag, parts, skipped, times


SignalTags = Callable[
    [bytes, int, list[tuple[int, int]], tuple[bytes, ...], int, int, int], list[int]
]


def _compiled() -> tuple[Callable[[bytes, int, int, int, int], Tokens], SignalTags | None]:
    """The compiled passes when they were built (setup.py: a C compiler is optional)."""
    try:
        from ._scan import signal_tags, tokens
    except ImportError:  # pragma: no cover - depends on the install
        return tokens_python, None
    return tokens, signal_tags


_tokens, _native_signal_tags = _compiled()


class Scan:
    """One page's bytes, scanned once for its metadata fragments."""

    __slots__ = ("_skipped", "_time_tags", "body_at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        end = _HEAD_END.search(data)
        if end is not None:
            self.body_at = end.start()
        else:
            body = _BODY_START.search(data)
            self.body_at = body.start() if body else len(data)
        self._skipped: list[tuple[int, int]] = []  # comments, scripts and styles, in order
        self._time_tags: list[bytes] = []  # the body's <time> start tags (found by document())

    def document(self) -> bytes:
        """The metadata fragments of the page as one small HTML document (UTF-8 bytes)."""
        html_tag, head_tag, parts, skipped, times = _tokens(
            self.data, self.body_at, MAX_FRAGMENTS, MAX_FRAGMENT_BYTES, MAX_TIMES
        )
        self._skipped = skipped
        self._time_tags = times
        return b"".join(
            (html_tag or b"<html>", head_tag or b"<head>", *parts, b"</head><body></body></html>")
        )

    def _inside_skipped(self, pos: int) -> int:
        """The end of the comment/script/style holding `pos`, else -1."""
        skipped = self._skipped
        index = bisect_right(skipped, (pos, 1 << 62)) - 1
        if index >= 0 and skipped[index][0] <= pos < skipped[index][1]:
            return skipped[index][1]
        return -1

    def _searchable(self) -> tuple[bytes, list[tuple[int, int, int]]]:
        """The body minus its big comments, scripts and styles (signal words are not in
        them), lower-cased, as one buffer; and its pieces: (buffer offset, start, end)."""
        data = self.data
        pieces: list[tuple[int, int, int]] = []
        chunks: list[bytes] = []
        offset = 0
        pos, end = self.body_at, len(data)
        for start, stop in [*self._skipped, (end, end)]:
            if stop <= pos or (stop - start < BIG_SKIP and start < end):
                continue
            if start > pos:
                pieces.append((offset, pos, start))
                chunks.append(data[pos:start])
                offset += start - pos
            pos = stop
        return b"".join(chunks).lower(), pieces

    def _signal_tags(self, words: tuple[bytes, ...]) -> list[int]:
        """Starts of body tags whose itemprop/rel/class/id contains one of `words`."""
        if _native_signal_tags is not None:
            return _native_signal_tags(
                self.data,
                self.body_at,
                self._skipped,
                words,
                MAX_WINDOWS,
                MAX_SIGNAL_HITS,
                BIG_SKIP,
            )
        return self.signal_tags_python(words)

    def signal_tags_python(self, words: tuple[bytes, ...]) -> list[int]:
        """`_signal_tags` in Python: the reference for `_scan.signal_tags`, its compiled twin."""
        data, cut = self.data, self.body_at
        lower, pieces = self._searchable()
        offsets = [offset for offset, _start, _end in pieces]
        starts: set[int] = set()
        hits = 0
        for word in words:
            size = len(word)
            # this word's first MAX_WINDOWS tags (in page order) are all it can add to the
            # first MAX_WINDOWS tags of all words: stop there
            mine, last = 0, -1
            found = lower.find(word)
            while found >= 0 and hits < MAX_SIGNAL_HITS and mine < MAX_WINDOWS:
                offset, piece_start, piece_end = pieces[bisect_right(offsets, found) - 1]
                pos = piece_start + found - offset
                if pos + size > piece_end:  # across two pieces: not in the page
                    found = lower.find(word, found + 1)
                    continue
                hits += 1
                skip_to = self._inside_skipped(pos)
                if skip_to >= 0:
                    found = lower.find(word, found + skip_to - pos)
                    continue
                tag = data.rfind(b"<", cut, pos)
                if tag > last:  # tags only grow with pos
                    if tag in starts:
                        mine, last = mine + 1, tag
                    elif (
                        data.find(b">", tag, pos) < 0
                        and 0x61 <= data[tag + 1] | 0x20 <= 0x7A
                        and _SIGNAL_ATTR.search(data, tag, pos)
                    ):
                        starts.add(tag)
                        mine, last = mine + 1, tag
                found = lower.find(word, found + size)
        return sorted(starts)[:MAX_WINDOWS]

    def _window(self, start: int) -> bytes:
        """MAX_WINDOW bytes from `start`, cut before anything that could swallow what follows."""
        data = self.data
        stop = min(len(data), start + MAX_WINDOW)
        unsafe = _UNSAFE.search(data, start + 1, stop)
        if unsafe:
            stop = unsafe.start()
        elif data.rfind(b"<", start + 1, stop) > data.rfind(b">", start, stop):
            stop = data.rfind(b"<", start + 1, stop)  # never end inside a tag
        while stop > start and 0x80 <= data[stop - 1] <= 0xBF:  # don't split a UTF-8 sequence
            stop -= 1
        if stop > start and data[stop - 1] >= 0xC0:
            stop -= 1
        return data[start:stop]

    def body_document(self, *, author: bool = True, date: bool = True) -> bytes | None:
        """The body's elements marked as author/byline (`author`) and its `<time>` tags and
        elements marked as published (`date`), as UTF-8 bytes; None if there are none.

        Call after `document()` (it records the comments and scripts to skip).
        """
        parts = list(self._time_tags) if date else []
        words = (_AUTHOR_WORDS if author else ()) + (_DATE_WORDS if date else ())
        parts.extend(
            b"<div>" + self._window(start) + b"</div>" for start in self._signal_tags(words)
        )
        if not parts:
            return None
        return b"".join((b"<html><body>", *parts, b"</body></html>"))
