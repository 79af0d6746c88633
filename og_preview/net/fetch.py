"""Fetching one URL safely: session factory, redirect loop, bounded read, retries.

`fetch()` never raises for anything a URL or server does; network-level
failures come back as `FetchResult.error`, HTTP statuses as `http_status`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD
from yarl import URL

from ..config import Settings
from ..record import ErrorInfo, ErrorKind
from .content import parse_content_type, wants_body
from .cookies import ChainCookies
from .errors import classify
from .guard import (
    ALLOWED_SCHEMES,
    AddressPolicy,
    GuardedResolver,
    lookup_resolver,
    parse_ipv4_loose,
)
from .hostgate import HostGate
from .retry import RETRY_STATUSES, parse_retry_after, run_with_retries
from .tls import CLIENT, ensure_certificates

ACCEPT: Final = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING: Final = ", ".join(
    ["gzip", "deflate"] + (["br"] if HAS_BROTLI else []) + (["zstd"] if HAS_ZSTD else [])
)
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
READ_CHUNK: Final = 64 * 1024  # aiohttp inflates at most this much per read: bomb-safe
REDIRECT_DRAIN: Final = 64 * 1024  # read small redirect bodies so the connection is reused

# The policy of each session open_session() made, so fetch() checks hosts the same way.
_POLICIES: weakref.WeakKeyDictionary[aiohttp.ClientSession, AddressPolicy] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # as requested
    final_url: str  # after redirects (== url when none)
    http_status: int | None  # last response's status; None when no response
    content_type: str | None  # mime type only, lower-cased, e.g. "text/html"
    charset: str | None  # charset parameter of Content-Type, if any
    content_language: str | None  # Content-Language header, if any
    body: bytes  # decoded (decompressed) body, at most settings.max_bytes
    truncated: bool  # the cap was hit
    attempts: int  # fetch attempts made (1 + retries used)
    error: ErrorInfo | None  # network-level failure only
    retry_after: float | None  # seconds the server asked to wait (429/503), if any


@dataclass(slots=True)
class _Progress:
    """What one attempt has learnt so far, kept when it fails half way."""

    url: str
    final_url: str  # the last URL that answered
    target: str = ""  # a redirect's target being asked for, before it answers
    http_status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    content_language: str | None = None
    retry_after: float | None = None
    body: bytes = b""
    truncated: bool = False
    cookies: ChainCookies = field(default_factory=ChainCookies)

    def result(self, error: ErrorInfo | None = None) -> FetchResult:
        return FetchResult(
            url=self.url,
            final_url=self.final_url,
            http_status=self.http_status,
            content_type=self.content_type,
            charset=self.charset,
            content_language=self.content_language,
            body=self.body,
            truncated=self.truncated,
            attempts=1,
            error=error,
            retry_after=self.retry_after,
        )


@dataclass(frozen=True, slots=True)
class _Attempt:
    result: FetchResult
    retryable: bool

    @property
    def retry_after(self) -> float | None:
        return self.result.retry_after


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


@asynccontextmanager
async def open_session(
    settings: Settings,
    *,
    policy: AddressPolicy | None = None,
    resolver: AbstractResolver | None = None,
) -> AsyncIterator[aiohttp.ClientSession]:
    """One session and connector for a whole run.

    Keep-alive, a DNS cache, `limit=concurrency`, `limit_per_host=per_host`; names are
    looked up asynchronously, as many at once as requests in flight (`lookup_resolver`:
    c-ares, else a thread pool of `concurrency`); unless private addresses are allowed,
    they resolve through the guarding resolver and every socket is checked before it
    connects. `policy` and `resolver` (the lookup the guard wraps, left open: the
    caller's) are seams for deployments and tests.
    """
    policy = policy or AddressPolicy(allow_private=settings.allow_private)
    guarded = not policy.allow_private
    lookup = resolver if resolver is not None else lookup_resolver(settings.concurrency)
    connector = aiohttp.TCPConnector(
        limit=settings.concurrency,
        limit_per_host=settings.per_host,
        resolver=GuardedResolver(policy, lookup) if guarded else lookup,
        socket_factory=policy.socket_factory if guarded else None,
        ssl=CLIENT,  # its certificates are loaded at the first https request (tls.py)
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout),
        cookie_jar=aiohttp.DummyCookieJar(),  # cookies live per attempt: cookies.py
        auto_decompress=True,
        trust_env=False,
        trace_configs=[_pool_wait_trace()],
    )
    _POLICIES[session] = policy
    try:
        yield session
    finally:
        await session.close()
        if resolver is None:  # ours (the connector closes only resolvers it made)
            await lookup.close()


async def fetch(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    gate: HostGate | None = None,
    final: Callable[[bytes], bool] | None = None,
) -> FetchResult:
    """Fetch `url`, following redirects and retrying; never raises but CancelledError.

    With a `gate`, a `Retry-After` answer pauses every request to that host, and
    each attempt first waits out any pause the host asked for. `final`: says of a
    retryable answer's body that no retry will change it (a bot challenge's "Just a
    moment..." 503 will not pass on a retry); the caller knows such pages, not the network.
    """
    policy = _POLICIES.get(session) or AddressPolicy(allow_private=settings.allow_private)
    attempts = 0
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # unparsable: the attempt itself reports it
        host = ""

    async def attempt() -> _Attempt:
        nonlocal attempts
        if gate is not None:
            await gate.wait(host)
        attempts += 1
        outcome = await _attempt(url, session, settings, policy, final)
        pause = outcome.retry_after
        if gate is not None and pause is not None and pause <= settings.retry_after_max:
            gate.hold(host, pause)
        return outcome

    outcome = await run_with_retries(attempt, settings)
    return replace(outcome.result, attempts=attempts)


class _Deadline:
    """One attempt's deadline, paused while the request waits for a pooled connection.

    Waiting behind other pages of the same host (`per_host`) is politeness,
    not slowness of this URL, so it does not count against `settings.timeout`.
    """

    def __init__(self, timeout: asyncio.Timeout) -> None:
        self._timeout = timeout
        self._left: float | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> _Deadline:
        return self  # a handle on a running timer; copies (e.g. by request mocks) share it

    def pause(self) -> None:
        when = self._timeout.when()
        if when is not None and self._left is None:
            self._left = when - asyncio.get_running_loop().time()
            with suppress(RuntimeError):  # already expiring: let it expire
                self._timeout.reschedule(None)

    def resume(self) -> None:
        if self._left is not None:
            left, self._left = self._left, None
            with suppress(RuntimeError):
                self._timeout.reschedule(asyncio.get_running_loop().time() + left)


async def _on_queued(_: object, ctx: SimpleNamespace, __: object) -> None:
    if isinstance(deadline := ctx.trace_request_ctx, _Deadline):
        deadline.pause()


async def _on_dequeued(_: object, ctx: SimpleNamespace, __: object) -> None:
    if isinstance(deadline := ctx.trace_request_ctx, _Deadline):
        deadline.resume()


def _pool_wait_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(_on_queued)
    trace.on_connection_queued_end.append(_on_dequeued)
    return trace


async def _attempt(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    final: Callable[[bytes], bool] | None = None,
) -> _Attempt:
    """One try of the whole redirect chain under one deadline."""
    progress = _Progress(url=url, final_url=url)
    try:
        async with asyncio.timeout(settings.timeout) as timeout:
            error = await _follow(progress, session, settings, policy, _Deadline(timeout))
    except Exception as exc:  # every failure of the URL/server becomes a result
        target = progress.target or progress.final_url
        error, retryable = classify(exc, target, progress.http_status, settings)
        return _Attempt(progress.result(_naming_the_target(error, progress)), retryable)
    if error is not None:
        return _Attempt(progress.result(_naming_the_target(error, progress)), False)
    result = progress.result()
    retryable = progress.http_status in RETRY_STATUSES and not (
        final is not None and result.body and final(result.body)
    )
    return _Attempt(result, retryable)


def _naming_the_target(error: ErrorInfo, progress: _Progress) -> ErrorInfo:
    """A redirect refused (a `file:` URL, a blocked address) leaves `final_url` on the URL
    that answered with the redirect: the message names where it led."""
    if error.kind is not ErrorKind.BLOCKED or progress.target in ("", progress.final_url):
        return error
    return ErrorInfo(
        kind=error.kind,
        message=f"redirect to {progress.target} refused: {error.message}",
        http_status=error.http_status,
    )


def _hop_error(target: URL, policy: AddressPolicy) -> ErrorInfo | None:
    if target.scheme not in ALLOWED_SCHEMES:
        scheme = target.scheme or "a relative"
        return ErrorInfo(kind=ErrorKind.BLOCKED, message=f"{scheme}: URLs are not fetched")
    reason = policy.check_host(target.raw_host or "")
    return ErrorInfo(kind=ErrorKind.BLOCKED, message=reason) if reason else None


def _canonical(target: URL) -> URL:
    """Loose IPv4 spellings (`127.1`, `0x7f.0.0.1`) connect as the dotted quad they mean."""
    host = target.raw_host or ""
    ip = parse_ipv4_loose(host.rstrip("."))
    return target.with_host(str(ip)) if ip is not None and str(ip) != host else target


async def _follow(
    progress: _Progress,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    deadline: _Deadline,
) -> ErrorInfo | None:
    """Request, following redirects by hand; fills `progress`; returns a chain error if any."""
    target = URL(progress.url).with_fragment(None)
    seen: set[tuple[URL, str]] = set()
    for hop in range(settings.max_redirects + 1):
        progress.target = str(target) if hop else ""  # ("": the URL itself)
        if (error := _hop_error(target, policy)) is not None:
            return error
        cookie = progress.cookies.header(target.host or "")
        if (target, cookie) in seen:
            return ErrorInfo(
                kind=ErrorKind.TOO_MANY_REDIRECTS, message=f"redirect loop at {target}"
            )
        seen.add((target, cookie))
        if target.scheme == "https":
            ensure_certificates()
        headers = {**settings.extra_headers, **({"Cookie": cookie} if cookie else {})}
        async with session.get(
            _canonical(target), allow_redirects=False, headers=headers, trace_request_ctx=deadline
        ) as resp:
            if hop:
                progress.final_url = progress.target  # it answered
            location = await _take_response(progress, resp, target, settings)
        if location is None:
            return None
        if hop == settings.max_redirects:
            break
        try:
            target = target.join(URL(location)).with_fragment(None)
        except ValueError:
            return ErrorInfo(kind=ErrorKind.INVALID_URL, message=f"bad redirect to {location!r}")
    return ErrorInfo(
        kind=ErrorKind.TOO_MANY_REDIRECTS,
        message=f"more than {settings.max_redirects} redirects",
    )


async def _take_response(
    progress: _Progress, resp: aiohttp.ClientResponse, target: URL, settings: Settings
) -> str | None:
    """Record one response; read its body if wanted. Returns the redirect Location, if any."""
    progress.http_status = resp.status
    progress.content_type, progress.charset = parse_content_type(resp.headers.get("Content-Type"))
    progress.content_language = resp.headers.get("Content-Language", "").strip() or None
    progress.body, progress.truncated = b"", False
    progress.retry_after = (
        parse_retry_after(resp.headers.get("Retry-After"))
        if resp.status in RETRY_STATUSES
        else None
    )
    progress.cookies.keep(target.host or "", resp.headers.getall("Set-Cookie", ()))
    location = resp.headers.get("Location") if resp.status in REDIRECT_STATUSES else None
    if location is not None:
        await _drain(resp)
        return location
    read = wants_body(resp.status, progress.content_type)
    if read:
        progress.body, progress.truncated = await read_bounded(resp, settings.max_bytes)
    if progress.truncated or not read:
        resp.close()  # unread or cut short: the connection cannot be reused
    return None


async def _drain(resp: aiohttp.ClientResponse) -> None:
    """Read a small redirect body so keep-alive works; drop the connection otherwise."""
    try:
        _, more = await read_bounded(resp, REDIRECT_DRAIN)
    except aiohttp.ClientError:
        more = True
    if more:
        resp.close()
