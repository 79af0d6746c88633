"""Checking an image URL (`--check-images`): one bounded request under the pages' rules.

`check_image()` asks for the first 64 KiB (`Range: bytes=0-65535`), reads at most that
much whatever the server sends, and judges the answer (`imagebytes`): ok with the
image's size in bytes and pixels, broken, blocked, not an image, or timed out. It uses
the session of the pages, so the same address guard, connection pool and per-host
limits apply; redirects are followed hop by hop and checked like a page's; attempts
are timed and retried as a page's. A server refusing the GET (405/501) is asked with
`HEAD`. `ImageChecks` checks each URL once per run: a site's logo shared by a thousand
pages costs one request.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import partial
from types import TracebackType
from typing import Final, Literal
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from ..config import Settings
from ..record import ErrorInfo, ErrorKind
from .content import parse_content_type
from .cookies import ChainCookies
from .deadline import AttemptDeadline
from .errors import classify
from .fetch import session_policy
from .guard import AddressPolicy
from .hops import REDIRECT_STATUSES, canonical, drain, hop_error, read_bounded
from .hostgate import HostGate
from .imagebytes import ImageStatus, extent, judge_head, judge_image
from .retry import RETRY_STATUSES, parse_retry_after, run_with_retries
from .tls import ensure_certificates

__all__ = ["IMAGE_READ", "ImageCheck", "ImageChecks", "ImageStatus", "check_image"]

IMAGE_READ: Final = 64 * 1024  # bytes of an image read at most
IMAGE_ACCEPT: Final = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
HEAD_FALLBACK: Final = frozenset({405, 501})  # a GET refused that a HEAD may answer
KEEP_CHECKS: Final = 10_000  # results ImageChecks keeps (the most recently asked for)

Method = Literal["GET", "HEAD"]

_STATUS_OF: Final = {ErrorKind.BLOCKED: ImageStatus.BLOCKED, ErrorKind.TIMEOUT: ImageStatus.TIMEOUT}


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """What checking one image URL found. `to_dict()` is the record's `image_check`."""

    status: ImageStatus
    http_status: int | None = None  # the last response's status; None when none came
    content_type: str | None = None  # mime type only, lower-cased
    size: int | None = None  # the image's total bytes (the record's `bytes`), if known
    width: int | None = None
    height: int | None = None
    # not in the record: for people and tests
    message: str | None = None  # why, when not ok
    read: int = 0  # bytes of the image read (at most IMAGE_READ)
    attempts: int = 1

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status.value,
            "http_status": self.http_status,
            "content_type": self.content_type,
            "bytes": self.size,
            "width": self.width,
            "height": self.height,
        }


async def check_image(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    policy: AddressPolicy | None = None,
    gate: HostGate | None = None,
) -> ImageCheck:
    """Check the image at `url`; never raises but CancelledError.

    `session`: one `fetch.open_session()` made (its address policy is the one applied,
    unless `policy` is given). `settings.timeout` bounds each attempt, `settings.retries`
    and the retry policy of pages apply (timeouts, connection failures, 429/5xx), and with
    a `gate` a host's `Retry-After` is honoured as for pages.
    """
    policy = policy or session_policy(session, settings)
    attempts = 0
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # unparsable: the attempt itself reports it
        host = ""

    async def attempt() -> _Outcome:
        nonlocal attempts
        if gate is not None:
            await gate.wait(host)
        attempts += 1
        outcome = await _attempt(url, session, settings, policy, "GET")
        if (
            outcome.check.http_status in HEAD_FALLBACK
            and outcome.check.status is ImageStatus.BROKEN
        ):
            outcome = await _attempt(url, session, settings, policy, "HEAD")
        pause = outcome.retry_after
        if gate is not None and pause is not None and pause <= settings.retry_after_max:
            gate.hold(host, pause)
        return outcome

    outcome = await run_with_retries(attempt, settings)
    return replace(outcome.check, attempts=attempts)


class ImageChecks:
    """Each image URL checked once per run (the fragment aside), shared by its pages.

    Callers asking at the same time for one URL wait for the same request; its result is
    kept for later callers, the `keep` most recently asked for. Close it (`aclose()` or
    `async with`) before the session: checks still running are cancelled.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        policy: AddressPolicy | None = None,
        gate: HostGate | None = None,
        keep: int = KEEP_CHECKS,
    ) -> None:
        self._session = session
        self._settings = settings
        self._policy = policy
        self._gate = gate
        self._keep = max(1, keep)
        self._done: OrderedDict[str, ImageCheck] = OrderedDict()
        self._running: dict[str, asyncio.Task[ImageCheck]] = {}

    def __len__(self) -> int:
        """Results kept."""
        return len(self._done)

    async def check(self, url: str) -> ImageCheck:
        """The check of `url`: kept, running (waited for), else started now."""
        key = url.partition("#")[0]
        if (done := self._done.get(key)) is not None:
            self._done.move_to_end(key)
            return done
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(
                check_image(
                    key, self._session, self._settings, policy=self._policy, gate=self._gate
                )
            )
            self._running[key] = task
            task.add_done_callback(partial(self._finished, key))
        # a caller cancelled stops waiting; the check goes on for the others
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[ImageCheck]) -> None:
        self._running.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return  # (a bug reaches the callers waiting; nothing is kept)
        self._done[key] = task.result()
        while len(self._done) > self._keep:
            self._done.popitem(last=False)

    async def aclose(self) -> None:
        """Cancel the checks still running and wait for them to end."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def __aenter__(self) -> ImageChecks:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass(frozen=True, slots=True)
class _Outcome:
    check: ImageCheck
    retryable: bool = False
    retry_after: float | None = None


@dataclass(slots=True)
class _Chain:
    """What one attempt has learnt so far, kept when it fails half way."""

    url: str
    final_url: str  # the last URL that answered
    target: str = ""  # a redirect's target being asked for, before it answers
    http_status: int | None = None
    cookies: ChainCookies = field(default_factory=ChainCookies)

    def failed(self, error: ErrorInfo, retryable: bool = False) -> _Outcome:
        message = error.message
        if error.kind is ErrorKind.BLOCKED and self.target not in ("", self.final_url):
            message = f"redirect to {self.target} refused: {message}"
        status = _STATUS_OF.get(error.kind, ImageStatus.BROKEN)
        check = ImageCheck(status=status, http_status=self.http_status, message=message)
        return _Outcome(check, retryable)


async def _attempt(
    url: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    method: Method,
) -> _Outcome:
    """One try of the whole redirect chain under one deadline."""
    chain = _Chain(url=url, final_url=url)
    try:
        async with asyncio.timeout(settings.timeout) as timeout:
            deadline = AttemptDeadline(timeout)
            return await _follow(chain, session, settings, policy, method, deadline)
    except Exception as exc:  # every failure of the URL/server becomes a result
        target = chain.target or chain.final_url
        return chain.failed(*classify(exc, target, chain.http_status, settings))


async def _follow(
    chain: _Chain,
    session: aiohttp.ClientSession,
    settings: Settings,
    policy: AddressPolicy,
    method: Method,
    deadline: AttemptDeadline,
) -> _Outcome:
    """Request, following redirects by hand, checking each hop as pages do."""
    target = URL(chain.url).with_fragment(None)
    base = {"Accept": IMAGE_ACCEPT, "Accept-Encoding": "identity", **settings.extra_headers}
    if method == "GET":
        base["Range"] = f"bytes=0-{IMAGE_READ - 1}"
    seen: set[tuple[URL, str]] = set()
    for hop in range(settings.max_redirects + 1):
        chain.target = str(target) if hop else ""
        if (error := hop_error(target, policy)) is not None:
            return chain.failed(error)
        cookie = chain.cookies.header(target.host or "")
        if (target, cookie) in seen:
            loop = ErrorInfo(
                kind=ErrorKind.TOO_MANY_REDIRECTS, message=f"redirect loop at {target}"
            )
            return chain.failed(loop)
        seen.add((target, cookie))
        if target.scheme == "https":
            ensure_certificates()
        headers = {**base, **({"Cookie": cookie} if cookie else {})}
        async with session.request(
            method,
            canonical(target),
            allow_redirects=False,
            headers=headers,
            trace_request_ctx=deadline,
        ) as resp:
            if hop:
                chain.final_url = chain.target  # it answered
            chain.http_status = resp.status
            chain.cookies.keep(target.host or "", resp.headers.getall("Set-Cookie", ()))
            location = resp.headers.get("Location") if resp.status in REDIRECT_STATUSES else None
            if location is None:
                return await _answer(resp, method)
            await drain(resp)
        if hop == settings.max_redirects:
            break
        try:
            target = target.join(URL(location)).with_fragment(None)
        except ValueError:
            bad = ErrorInfo(kind=ErrorKind.INVALID_URL, message=f"bad redirect to {location!r}")
            return chain.failed(bad)
    too_many = f"more than {settings.max_redirects} redirects"
    return chain.failed(ErrorInfo(kind=ErrorKind.TOO_MANY_REDIRECTS, message=too_many))


async def _answer(resp: aiohttp.ClientResponse, method: Method) -> _Outcome:
    """Judge the final answer; read at most IMAGE_READ bytes of its body."""
    status = resp.status
    mime, _ = parse_content_type(resp.headers.get("Content-Type"))
    if not 200 <= status < 300:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        await drain(resp)  # (an error page: read if small, so the connection is reused)
        check = ImageCheck(ImageStatus.BROKEN, status, mime, message=f"HTTP {status}")
        if status not in RETRY_STATUSES:
            return _Outcome(check)
        return _Outcome(check, retryable=True, retry_after=retry_after)
    if method == "HEAD":
        size, _ = extent(status, resp.headers, None, more=False)
        verdict = judge_head(mime)
        return _Outcome(ImageCheck(verdict.status, status, mime, size, message=verdict.reason))
    head, more = await read_bounded(resp, IMAGE_READ)
    if more:
        resp.close()  # a server ignoring Range: the rest is never read
    size, complete = extent(status, resp.headers, len(head), more)
    verdict = judge_image(mime, head, complete=complete)
    check = ImageCheck(
        verdict.status,
        status,
        mime,
        size,
        verdict.width,
        verdict.height,
        message=verdict.reason,
        read=len(head),
    )
    return _Outcome(check)
