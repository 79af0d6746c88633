"""Input URLs: streamed lines from files or stdin; trim, skip, normalise, validate."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import os
import re
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AnyStr, BinaryIO, cast
from urllib.parse import quote, urlsplit, urlunsplit

MAX_URL_LENGTH = 8 * 1024
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_HAS_AUTHORITY = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# URLs that normalising would leave as they are: lower-case scheme and ASCII host, no
# default port, no fragment, a path, only characters that need no %-encoding
_NORMAL = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?(?::(?!80/)(?!443/)[1-9][0-9]{0,3})?"
    r"/[A-Za-z0-9/:@!$&'()*+,;=?%~._\-]*"
)
# characters kept as they are in path/query; everything else (spaces, non-ASCII) is %-encoded
_SAFE = "/:@!$&'()*+,;=?%~-._[]"


class InputError(Exception):
    """The caller's input cannot be used at all (a missing file, say): exit code 2."""


class InvalidURL(ValueError):
    """One input line is not a usable http(s) URL: an `invalid_url` record."""


def normalise(raw: str) -> str:
    """The cache key: trimmed, scheme and host lower-cased, IDN in punycode,
    default port and fragment dropped, an empty path made `/`."""
    text = raw.strip()
    if not text:
        raise InvalidURL("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters")
    if _NORMAL.fullmatch(text) and not text.endswith("?"):  # "?" alone: an empty query
        return text  # the common case: already in normal form
    return _rebuild(text)


def _rebuild(text: str) -> str:
    """`normalise` for URLs that are not in normal form already."""
    if _CONTROL.search(text):
        raise InvalidURL("URL contains control characters")
    if "\ufffd" in text:
        raise InvalidURL("URL contains undecodable bytes")
    if not _HAS_AUTHORITY.match(text):
        found = _SCHEME.match(text)
        # `example.com:8080/x` has a "scheme" only in appearance: a port follows the colon
        if found and not re.match(r"^[^/:]+:\d+(/|$)", text):
            raise InvalidURL(f"unsupported scheme {found.group(1).lower()!r}: only http and https")
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(f"unsupported scheme {scheme!r}: only http and https")
    host = parts.hostname or ""
    if not host:
        raise InvalidURL("URL has no host")
    host = _ascii_host(host)
    if port is not None and port == _DEFAULT_PORTS[scheme]:
        port = None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{auth}@{netloc}"
    path = quote(parts.path, safe=_SAFE) or "/"
    query = quote(parts.query, safe=_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _ascii_host(host: str) -> str:
    host = host.lower()
    if any(c.isspace() for c in host) or any(c in host for c in '<>"{}|\\^`%'):
        raise InvalidURL(f"invalid host {host!r}")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidURL(f"invalid international host name {host!r}") from None


@dataclass(frozen=True, slots=True)
class InputURL:
    """One input line: the normalised URL, or why it is not one."""

    raw: str
    url: str | None
    problem: str | None = None


def check_sources(sources: Iterable[str]) -> list[str]:
    """Fail before any work starts when an input file is missing, unreadable or not a
    file of URLs (a PDF, an image, an archive: gzip alone is read, transparently).
    Pipes and FIFOs (`batch <(grep http notes.txt)`) are read as stdin is: their first
    bytes are looked at only when they are read."""
    checked = list(sources)
    for name in checked:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise InputError(f"input file not found: {name}")
        if path.is_dir():
            raise InputError(f"input is a directory, not a file of URLs: {name}")
        if not os.access(path, os.R_OK):
            raise InputError(f"cannot read input file: {name} (permission denied)")
        if _is_regular(name):
            with open(name, "rb") as handle:
                _refuse_binary(name, handle.read(_SNIFF_BYTES))
    return checked


def read_lines(sources: Iterable[str]) -> Iterator[str]:
    """Stream the lines of every source (`-` is stdin), one at a time."""
    for name in sources:
        if name == "-":
            yield from _lines(_text_stream("stdin", sys.stdin.buffer))
            continue
        try:
            handle = open(name, "rb")  # noqa: SIM115 - closed below, generator-friendly
        except OSError as exc:
            raise InputError(f"cannot read input file: {name} ({exc.strerror})") from None
        with handle:
            yield from _lines(_text_stream(name, handle))


# What an input is read as, from its first bytes: gzip is unpacked as it is read (a
# `urls.txt.gz`); a UTF-16 text file (with its byte-order mark) is decoded; any other
# binary file is refused in one line rather than read as lines of garbage.
_SNIFF_BYTES = 8192
_GZIP = b"\x1f\x8b"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_BINARY_KINDS = (
    (b"%PDF", "a PDF"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a zip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"7z\xbc\xaf", "a 7z archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program"),
)


# bytes of text: everything but the C0 controls that no text file holds
_TEXT_BYTES = bytes(set(range(256)) - set(range(0x20)) | set(b"\t\n\r\f\x1b"))


def _is_regular(name: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(name).st_mode)
    except OSError:
        return False


def _refuse_binary(name: str, head: bytes) -> None:
    if head.startswith(_GZIP) or head.startswith(_UTF16_BOMS):
        return
    kind = next((what for magic, what in _BINARY_KINDS if head.startswith(magic)), None)
    if kind is None and len(head.translate(None, _TEXT_BYTES)) > len(head) // 20:
        kind = "a binary file"  # (a line of garbage here and there is an invalid URL)
    if kind is not None:
        raise InputError(f"{name} is {kind}, not a text file of URLs (one URL per line)")


def _text_stream(name: str, raw: BinaryIO) -> Iterable[bytes] | Iterable[str]:
    """The lines of `raw`: unpacked when gzip, decoded when UTF-16; refused when binary."""
    stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # (no byte consumed: pipes too)
    if head.startswith(_GZIP):
        unpacked = gzip.GzipFile(fileobj=stream)
        return _gunzipped(name, unpacked)
    if head.startswith(_UTF16_BOMS):
        return _utf16(stream)
    _refuse_binary(name, head)
    return _bounded_lines(stream.readline, b"\n")


# A line is read at most this long: a longer one is an invalid URL whatever follows, and
# the rest of it is skipped, never held (one endless line of a gzip bomb unpacks to GBs).
LINE_LIMIT = MAX_URL_LENGTH + 2


def _bounded_lines(readline: Callable[[int], AnyStr], newline: AnyStr) -> Iterator[AnyStr]:
    """The lines `readline` gives, each cut to `LINE_LIMIT` (the cut part skipped)."""
    while line := readline(LINE_LIMIT):
        yield line
        if len(line) == LINE_LIMIT and not line.endswith(newline):
            while (rest := readline(LINE_LIMIT)) and not rest.endswith(newline):
                pass


def _utf16(stream: io.BufferedReader) -> Iterator[str]:
    text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace")
    try:
        yield from _bounded_lines(text.readline, "\n")
    finally:
        text.detach()  # (the file is closed by its opener)


def _gunzipped(name: str, stream: gzip.GzipFile) -> Iterator[bytes]:
    try:
        yield from _bounded_lines(stream.readline, b"\n")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read input file: {name} (broken gzip: {exc})") from None


def _lines(stream: Iterable[bytes] | Iterable[str]) -> Iterator[str]:
    for raw in stream:
        # undecodable bytes and NUL become U+FFFD, which `normalise` rejects
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        yield text.replace("\x00", "\ufffd")


def _fingerprint(url: str) -> int:
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big")


class Fingerprints:
    """An exact set of 64-bit fingerprints in 16 bytes each (a `set` of ints takes ~64):
    open addressing over an `array('Q')`, kept at most half full. Zero marks a free slot."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self._slots = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, fingerprint: int) -> bool:
        """Add `fingerprint`; False when it was there already."""
        value = fingerprint or 1
        slots, mask = self._slots, self._mask
        index = value & mask
        while (held := slots[index]) != 0:
            if held == value:
                return False
            index = (index + 1) & mask
        slots[index] = value
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._count = 0
        for value in old:
            if value:
                self.add(value)


def iter_inputs(lines: Iterable[str]) -> Iterator[InputURL]:
    """Trim, skip blanks and `#` comments, normalise, de-duplicate; bad lines are reported.

    De-duplication keeps a 64-bit fingerprint per distinct URL (16 bytes), not the URL
    itself, so memory stays small on inputs of millions of lines.
    """
    seen = Fingerprints()
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            url = normalise(text)
        except InvalidURL as exc:
            yield InputURL(raw=printable(text), url=None, problem=str(exc))
            continue
        if not seen.add(_fingerprint(url)):
            continue
        yield InputURL(raw=text, url=url)


def printable(text: str, limit: int = 200) -> str:
    """Bad input as it can be shown in a record: no control characters, cut to `limit`."""
    cleaned = _CONTROL.sub("", text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def count_urls(sources: Iterable[str]) -> int | None:
    """How many URL lines the inputs hold (for progress), or None when one of them is
    stdin, a pipe or a FIFO (it can be read only once: by the batch)."""
    names = list(sources)
    if "-" in names or not all(_is_regular(name) for name in names):
        return None
    total = 0
    for name in names:
        with open(name, "rb") as handle:
            for line in _lines(_text_stream(name, handle)):
                text = line.strip()
                if text and not text.startswith("#"):
                    total += 1
    return total
