"""The pieces of a request chain that pages and images share: may this hop be
requested, which address it connects to, and reading a body without reading too much."""

from __future__ import annotations

from typing import Final

import aiohttp
from yarl import URL

from ..record import ErrorInfo, ErrorKind
from .guard import ALLOWED_SCHEMES, AddressPolicy, parse_ipv4_loose

__all__ = [
    "READ_CHUNK",
    "REDIRECT_DRAIN",
    "REDIRECT_STATUSES",
    "canonical",
    "drain",
    "hop_error",
    "read_bounded",
]

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
READ_CHUNK: Final = 64 * 1024  # aiohttp inflates at most this much per read: bomb-safe
REDIRECT_DRAIN: Final = 64 * 1024  # read small redirect bodies so the connection is reused


def hop_error(target: URL, policy: AddressPolicy) -> ErrorInfo | None:
    """Why `target` may not be requested (a scheme other than http(s), a refused
    address), else None. The connector's socket check stays the last word."""
    if target.scheme not in ALLOWED_SCHEMES:
        scheme = target.scheme or "a relative"
        return ErrorInfo(kind=ErrorKind.BLOCKED, message=f"{scheme}: URLs are not fetched")
    reason = policy.check_host(target.raw_host or "")
    return ErrorInfo(kind=ErrorKind.BLOCKED, message=reason) if reason else None


def canonical(target: URL) -> URL:
    """Loose IPv4 spellings (`127.1`, `0x7f.0.0.1`) connect as the dotted quad they mean."""
    host = target.raw_host or ""
    ip = parse_ipv4_loose(host.rstrip("."))
    return target.with_host(str(ip)) if ip is not None and str(ip) != host else target


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` decoded bytes, and whether there was more.

    aiohttp (>= 3.12) inflates compressed bodies lazily, at most
    max(READ_CHUNK, read size) per step and only while the buffer is below its
    low-water mark, so a gzip bomb is never expanded beyond what is read here.
    """
    chunks: list[bytes] = []  # joined once at the end: one copy of the body, not three
    size = 0
    content = resp.content
    # An uncompressed body is taken a buffered block at a time, as it arrived (asking for
    # a size slices and re-slices the blocks); at most one block more than `limit` is held.
    plain = resp.headers.get("Content-Encoding", "identity").strip().lower() == "identity"
    while size <= limit:
        if plain:
            chunk = await content.readany()
        else:
            chunk = await content.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), False
        chunks.append(chunk)
        size += len(chunk)
    chunks[-1] = chunks[-1][: len(chunks[-1]) - (size - limit)]  # exactly `limit` bytes
    return b"".join(chunks), True


async def drain(resp: aiohttp.ClientResponse) -> None:
    """Read a small redirect body so keep-alive works; drop the connection otherwise."""
    try:
        _, more = await read_bounded(resp, REDIRECT_DRAIN)
    except aiohttp.ClientError:
        more = True
    if more:
        resp.close()
