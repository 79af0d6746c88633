"""The retry policy: what is retried, how long it waits, what comes back (aioresponses)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

from og_preview.config import Settings
from og_preview.net.errors import classify, dns_failure_is_temporary
from og_preview.net.fetch import FetchResult, fetch, open_session
from og_preview.net.retry import backoff_delay, parse_retry_after, run_with_retries
from og_preview.record import ErrorKind

URL = "http://example.com/page"
FAST = Settings(backoff_initial=0.001, backoff_max=0.002)


# -- Retry-After and backoff ------------------------------------------------------------


def test_retry_after_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 5 ") == 5.0
    assert parse_retry_after("0") == 0.0


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2026"])
def test_retry_after_garbage(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    settings = Settings(backoff_initial=0.5, backoff_max=8.0)

    def low(a: float, b: float) -> float:
        return a

    def high(a: float, b: float) -> float:
        return b

    assert [backoff_delay(n, settings, high) for n in range(1, 7)] == [0.5, 1, 2, 4, 8, 8]
    assert [backoff_delay(n, settings, low) for n in range(1, 7)] == [0.25, 0.5, 1, 2, 4, 4]
    assert all(0.25 <= backoff_delay(1, settings) <= 0.5 for _ in range(50))


# -- run_with_retries with a fake clock -------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    name: str
    retryable: bool = False
    retry_after: float | None = None


class Script:
    """Plays outcomes in order (the last repeats) and records every sleep."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.sleeps: list[float] = []

    async def attempt(self) -> Outcome:
        self.calls += 1
        return self.outcomes[min(self.calls, len(self.outcomes)) - 1]

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def run(script: Script, settings: Settings = FAST) -> Outcome:
    return await run_with_retries(script.attempt, settings, sleep=script.sleep)


async def test_success_is_not_retried() -> None:
    script = Script(Outcome("ok"))
    assert (await run(script)).name == "ok"
    assert (script.calls, script.sleeps) == (1, [])


async def test_retryable_then_success() -> None:
    script = Script(Outcome("busy", True), Outcome("busy", True), Outcome("ok"))
    assert (await run(script)).name == "ok"
    assert script.calls == 3 and len(script.sleeps) == 2


async def test_attempts_are_one_plus_retries_and_the_last_outcome_is_returned() -> None:
    script = Script(Outcome("first", True), Outcome("again", True))
    assert (await run(script, FAST.but(retries=3))).name == "again"
    assert script.calls == 4 and len(script.sleeps) == 3


async def test_zero_retries() -> None:
    script = Script(Outcome("busy", True))
    assert (await run(script, FAST.but(retries=0))).name == "busy"
    assert script.calls == 1


async def test_backoff_waits_come_from_settings() -> None:
    script = Script(Outcome("busy", True))
    await run(script, Settings(retries=4, backoff_initial=1.0, backoff_max=3.0))
    assert [0.5 <= script.sleeps[0] <= 1, 1 <= script.sleeps[1] <= 2] == [True, True]
    assert all(1.5 <= s <= 3 for s in script.sleeps[2:])


async def test_retry_after_is_waited_exactly() -> None:
    script = Script(Outcome("slow down", True, retry_after=2.0), Outcome("ok"))
    assert (await run(script)).name == "ok"
    assert script.sleeps == [2.0]


async def test_retry_after_beyond_the_cap_stops_at_once() -> None:
    script = Script(Outcome("come back tomorrow", True, retry_after=86400.0), Outcome("ok"))
    assert (await run(script, FAST.but(retry_after_max=30))).name == "come back tomorrow"
    assert (script.calls, script.sleeps) == (1, [])


async def test_exceptions_propagate() -> None:
    async def cancelled() -> Outcome:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_with_retries(cancelled, FAST)


# -- fetch() with mocked responses -------------------------------------------------------


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as mock:
        yield mock


async def get(settings: Settings = FAST) -> FetchResult:
    async with open_session(settings) as session:
        return await fetch(URL, session, settings)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses(mocked: aioresponses, status: int) -> None:
    mocked.get(URL, status=status, body="wait")
    mocked.get(URL, status=200, body="<p>ok</p>", content_type="text/html")
    result = await get()
    assert (result.http_status, result.attempts, result.body) == (200, 2, b"<p>ok</p>")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451, 501])
async def test_other_errors_are_not_retried(mocked: aioresponses, status: int) -> None:
    mocked.get(URL, status=status, body="no", content_type="text/html")
    mocked.get(URL, status=200, body="never asked")
    result = await get()
    assert (result.http_status, result.attempts, result.body, result.error) == (
        status,
        1,
        b"no",
        None,
    )


async def test_last_5xx_response_is_returned_after_retries(mocked: aioresponses) -> None:
    for n in range(4):
        mocked.get(URL, status=503, body=f"busy {n}", content_type="text/html")
    result = await get(FAST.but(retries=3))
    assert (result.http_status, result.attempts, result.body) == (503, 4, b"busy 3")
    assert result.error is None


async def test_long_retry_after_is_returned_not_slept(mocked: aioresponses) -> None:
    mocked.get(URL, status=429, headers={"Retry-After": "3600"})
    mocked.get(URL, status=200, body="never asked")
    result = await get()
    assert (result.http_status, result.attempts, result.retry_after) == (429, 1, 3600.0)


async def test_short_retry_after_is_reported_and_retried(mocked: aioresponses) -> None:
    mocked.get(URL, status=503, headers={"Retry-After": "0"})
    mocked.get(URL, status=503, headers={"Retry-After": "0"})
    result = await get(FAST.but(retries=1))
    assert (result.http_status, result.attempts, result.retry_after) == (503, 2, 0.0)


async def test_retry_after_on_a_success_is_ignored(mocked: aioresponses) -> None:
    mocked.get(URL, status=200, body="<p>ok</p>", headers={"Retry-After": "10"})
    assert (await get()).retry_after is None


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), ErrorKind.CONNECT),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), ErrorKind.CONNECT),
        (aiohttp.ClientPayloadError("Response payload is not completed"), ErrorKind.CONNECT),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (aiohttp.SocketTimeoutError(), ErrorKind.TIMEOUT),
    ],
)
async def test_network_failures_are_retried(
    mocked: aioresponses, exception: Exception, kind: ErrorKind
) -> None:
    mocked.get(URL, exception=exception, repeat=True)
    result = await get(FAST.but(retries=2))
    assert result.error is not None
    assert (result.error.kind, result.attempts, result.http_status) == (kind, 3, None)
    assert "\n" not in result.error.message


async def test_network_failure_then_success(mocked: aioresponses) -> None:
    mocked.get(URL, exception=aiohttp.ServerDisconnectedError())
    mocked.get(URL, status=200, body="<p>ok</p>")
    result = await get()
    assert (result.http_status, result.attempts, result.error) == (200, 2, None)


async def test_invalid_url_is_not_retried(mocked: aioresponses) -> None:
    mocked.get(URL, exception=aiohttp.InvalidURL(URL), repeat=True)
    result = await get()
    assert result.error is not None
    assert (result.error.kind, result.attempts) == (ErrorKind.INVALID_URL, 1)


async def test_unparsable_url_is_an_invalid_url_error() -> None:
    async with open_session(FAST) as session:
        result = await fetch("http://[::1/", session, FAST)
    assert result.error is not None
    assert (result.error.kind, result.attempts, result.http_status) == (
        ErrorKind.INVALID_URL,
        1,
        None,
    )


# -- DNS failures: a name that does not exist is final, a DNS server that failed is not --


def _raised_from(error: OSError, cause: BaseException) -> OSError:
    error.__cause__ = cause
    return error


def _ares(status: str, message: str) -> BaseException:
    """The `aiodns.error.DNSError` c-ares gives for `status` (a `pycares.errno` name)."""
    aiodns_error = pytest.importorskip("aiodns.error")
    ares = pytest.importorskip("pycares.errno")
    return aiodns_error.DNSError(getattr(ares, status), message)  # type: ignore[no-any-return]


def _aiohttp_async_resolver(status: str, message: str) -> OSError:
    """What aiohttp's own AsyncResolver raises: OSError(None, message) from the DNSError."""
    return _raised_from(OSError(None, message), _ares(status, message))


def _cares_resolver(errno: int, status: str, message: str) -> OSError:
    """What `resolver.CaresResolver` raises: a gaierror with getaddrinfo()'s errno."""
    return _raised_from(socket.gaierror(errno, message), _ares(status, message))


NO_SUCH_NAME: list[Callable[[], OSError]] = [
    lambda: socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
    lambda: socket.gaierror(socket.EAI_NONAME, "nodename nor servname provided, or not known"),
    lambda: socket.gaierror(socket.EAI_NODATA, "No address associated with hostname"),
    lambda: _cares_resolver(socket.EAI_NONAME, "ARES_ENOTFOUND", "Domain name not found"),
    lambda: _aiohttp_async_resolver("ARES_ENOTFOUND", "Domain name not found"),
    lambda: _aiohttp_async_resolver("ARES_ENODATA", "DNS server returned answer with no data"),
    lambda: OSError(None, "Domain name not found"),
    lambda: OSError(None, "DNS lookup failed"),
]
TEMPORARY: list[Callable[[], OSError]] = [
    lambda: socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
    lambda: _cares_resolver(socket.EAI_AGAIN, "ARES_ESERVFAIL", "Server failure"),
    lambda: _cares_resolver(
        socket.EAI_AGAIN, "ARES_ETIMEOUT", "Timeout while contacting DNS servers"
    ),
    lambda: _aiohttp_async_resolver("ARES_ESERVFAIL", "Server failure"),
    lambda: _aiohttp_async_resolver("ARES_ETIMEOUT", "Timeout while contacting DNS servers"),
    lambda: _aiohttp_async_resolver("ARES_ECONNREFUSED", "Could not contact DNS servers"),
    lambda: OSError(None, "Temporary failure in name resolution"),
]


class FailingResolver(AbstractResolver):
    """A resolver whose every lookup raises what `make` builds, counting the lookups."""

    def __init__(self, make: Callable[[], OSError]) -> None:
        self.make = make
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        raise self.make()

    async def close(self) -> None:
        pass


async def lookup_and_fetch(make: Callable[[], OSError]) -> tuple[FetchResult, int]:
    """Fetch a URL through aiohttp's connector, every lookup failing as `make` says."""
    resolver = FailingResolver(make)
    settings = FAST.but(retries=2)
    async with open_session(settings, resolver=resolver) as session:
        result = await fetch("http://missing.example/", session, settings)
    return result, resolver.lookups


@pytest.mark.parametrize("make", NO_SUCH_NAME)
async def test_a_name_that_does_not_exist_is_not_looked_up_again(
    make: Callable[[], OSError],
) -> None:
    result, lookups = await lookup_and_fetch(make)
    assert result.error is not None
    assert (result.error.kind, result.attempts, lookups) == (ErrorKind.DNS, 1, 1)
    assert result.error.message.startswith("could not resolve missing.example (")


@pytest.mark.parametrize("make", TEMPORARY)
async def test_a_temporary_dns_failure_is_retried(make: Callable[[], OSError]) -> None:
    result, lookups = await lookup_and_fetch(make)
    assert result.error is not None
    assert (result.error.kind, result.attempts, lookups) == (ErrorKind.DNS, 3, 3)
    assert result.error.message.startswith("could not resolve missing.example (")


@pytest.mark.parametrize(
    ("make", "temporary"), [(m, False) for m in NO_SUCH_NAME] + [(m, True) for m in TEMPORARY]
)
def test_dns_verdict_on_the_resolvers_exceptions(
    make: Callable[[], OSError], temporary: bool
) -> None:
    key = ConnectionKey("missing.example", 80, False, True, None, None, None)
    wrapped = aiohttp.ClientConnectorDNSError(key, make())
    assert dns_failure_is_temporary(wrapped) is temporary
    info, retry = classify(wrapped, "http://missing.example/", None, FAST)
    assert (info.kind, retry) == (ErrorKind.DNS, temporary)
