"""Input URLs: streamed lines from files or stdin; trim, skip, normalise, validate."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
    """Fail before any work starts when an input file is missing or unreadable."""
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
    return checked


def read_lines(sources: Iterable[str]) -> Iterator[str]:
    """Stream the lines of every source (`-` is stdin), one at a time."""
    for name in sources:
        if name == "-":
            yield from _lines(sys.stdin.buffer)
            continue
        try:
            handle = open(name, "rb")  # noqa: SIM115 - closed below, generator-friendly
        except OSError as exc:
            raise InputError(f"cannot read input file: {name} ({exc.strerror})") from None
        with handle:
            yield from _lines(handle)


def _lines(stream: Iterable[bytes]) -> Iterator[str]:
    for raw in stream:
        # undecodable bytes and NUL become U+FFFD, which `normalise` rejects
        yield raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


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
    """How many URL lines the files hold (for progress), or None when reading stdin."""
    names = list(sources)
    if "-" in names:
        return None
    total = 0
    for name in names:
        with open(name, "rb") as handle:
            for raw in handle:
                text = raw.strip()
                if text and not text.startswith(b"#"):
                    total += 1
    return total
