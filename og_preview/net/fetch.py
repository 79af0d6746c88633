"""Fetching one URL safely: session factory, redirect loop, bounded read, retries.

`fetch()` never raises for anything a URL or server does; network-level
failures come back as `FetchResult.error`, HTTP statuses as `http_status`.
Given a cached copy's validators it revalidates: a `304` is a success with no body.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD
from yarl import URL

from ..config import Settings
from ..record import ErrorInfo, ErrorKind, Validators
from .content import parse_content_type, wants_body
from .cookies import ChainCookies
from .deadline import AttemptDeadline, pool_wait_trace
from .errors import classify
from .guard import AddressPolicy, GuardedResolver, lookup_resolver
from .hops import REDIRECT_STATUSES, canonical, drain, hop_error
from .hops import read_bounded as read_bounded
from .hostgate import HostGate
from .retry import RETRY_STATUSES, parse_retry_after, run_with_retries
from .tls import CLIENT, ensure_certificates

ACCEPT: Final = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING: Final = ", ".join(
    ["gzip", "deflate"] + (["br"] if HAS_BROTLI else []) + (["zstd"] if HAS_ZSTD else [])
)
NOT_MODIFIED: Final = 304
VALIDATOR_MAX: Final = 512  # characters of an ETag / Last-Modified kept and sent back

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
    # the last response's validators, for the next revalidation (None: absent or unusable);
    # a 304 without them leaves the cached copy's validators in force
    etag: str | None = None
    last_modified: str | None = None


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
    etag: str | None = None
    last_modified: str | None = None
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
            etag=self.etag,
            last_modified=self.last_modified,
        )


@dataclass(frozen=True, slots=True)
class _Attempt:
    result: FetchResult
    retryable: bool

    @property
    def retry_after(self) -> float | None:
        return self.result.retry_after


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
        trace_configs=[pool_wait_trace()],
    )
    _POLICIES[session] = policy
    try:
        yield session
    finally:
        await session.close()
        if resolver is None:  # ours (the connector closes only resolvers it made)
            await lookup.close()


def session_policy(session: aiohttp.ClientSession, settings: Settings) -> AddressPolicy:
    """The address policy `session`'s connector enforces (one open_session() made),
    else the one `settings` describe: requests check their hosts by the same rules."""
    return _POLICIES.get(session) or AddressPolicy(allow_private=settings.allow_private)


def clean_validator(value: str | None) -> str | None:
    """An ETag / Last-Modified value fit to keep and send back: one line of at most
    VALIDATOR_MAX characters, else None (a cut validator would never match again)."""
    text = (value or "").strip()
    if not text or len(text) > VALIDATOR_MAX or not text.isprintable():
        return None
    return text


def conditional_headers(validators: Validators | None) -> dict[str, str]:
    """`If-None-Match` / `If-Modified-Since` for the validators present and usable."""
    etag, last_modified = validators or (None, None)
    headers = {}
    if (etag := clean_validator(etag)) is not None:
        headers["If-None-Match"] = etag
    if (last_modified := clean_validator(last_modified)) is not None:
        headers["If-Modified-Since"] = last_modified
    return headers


async def fetch(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    gate: HostGate | None = None,
    final: Callable[[bytes], bool] | None = None,
    validators: Validators | None = None,
) -> FetchResult:
    """Fetch `url`, following redirects and retrying; never raises but CancelledError.

    With a `gate`, a `Retry-After` answer pauses every request to that host, and
    each attempt first waits out any pause the host asked for. `final`: says of a
    retryable answer's body that no retry will change it (a bot challenge's "Just a
    moment..." 503 will not pass on a retry); the caller knows such pages, not the network.
    `validators`: (etag, last_modified) of a cached copy, sent on every hop as
    `If-None-Match` / `If-Modified-Since`; a `304` answer is a success (http_status 304,
    no body, not retried), a server ignoring them answers as to any fetch.
    """
    policy = session_policy(session, settings)
    conditional = conditional_headers(validators)
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
        outcome = await _attempt(url, session, settings, policy, final, conditional)
        pause = outcome.retry_after
        if gate is not None and pause is not None and pause <= settings.retry_after_max:
            gate.hold(host, pause)
        return outcome

    outcome = await run_with_retries(attempt, settings)
    return replace(outcome.result, attempts=attempts)


async def _attempt(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    final: Callable[[bytes], bool] | None = None,
    conditional: dict[str, str] | None = None,
) -> _Attempt:
    """One try of the whole redirect chain under one deadline."""
    progress = _Progress(url=url, final_url=url)
    headers = {**settings.extra_headers, **(conditional or {})}
    try:
        async with asyncio.timeout(settings.timeout) as timeout:
            deadline = AttemptDeadline(timeout)
            error = await _follow(progress, session, settings, policy, deadline, headers)
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


async def _follow(
    progress: _Progress,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    deadline: AttemptDeadline,
    base_headers: dict[str, str],
) -> ErrorInfo | None:
    """Request, following redirects by hand; fills `progress`; returns a chain error if any."""
    target = URL(progress.url).with_fragment(None)
    seen: set[tuple[URL, str]] = set()
    for hop in range(settings.max_redirects + 1):
        progress.target = str(target) if hop else ""  # ("": the URL itself)
        if (error := hop_error(target, policy)) is not None:
            return error
        cookie = progress.cookies.header(target.host or "")
        if (target, cookie) in seen:
            return ErrorInfo(
                kind=ErrorKind.TOO_MANY_REDIRECTS, message=f"redirect loop at {target}"
            )
        seen.add((target, cookie))
        if target.scheme == "https":
            ensure_certificates()
        headers = {**base_headers, **({"Cookie": cookie} if cookie else {})}
        async with session.get(
            canonical(target), allow_redirects=False, headers=headers, trace_request_ctx=deadline
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
    progress.etag = clean_validator(resp.headers.get("ETag"))
    progress.last_modified = clean_validator(resp.headers.get("Last-Modified"))
    progress.cookies.keep(target.host or "", resp.headers.getall("Set-Cookie", ()))
    location = resp.headers.get("Location") if resp.status in REDIRECT_STATUSES else None
    if location is not None:
        await drain(resp)
        return location
    if resp.status == NOT_MODIFIED:  # the cached copy stands; a 304 has no body
        return None
    read = wants_body(resp.status, progress.content_type)
    if read:
        progress.body, progress.truncated = await read_bounded(resp, settings.max_bytes)
    if progress.truncated or not read:
        resp.close()  # unread or cut short: the connection cannot be reused
    return None
