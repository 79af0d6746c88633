"""fetch() against a real aiohttp server on 127.0.0.1 (and a few raw sockets)."""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from og_preview.config import Settings
from og_preview.extract.challenge import looks_like_challenge
from og_preview.net.fetch import (
    VALIDATOR_MAX,
    FetchResult,
    clean_validator,
    conditional_headers,
    fetch,
    open_session,
)
from og_preview.record import ErrorKind
from tests.site import Site

pytestmark = pytest.mark.integration

FAST = Settings(allow_private=True, backoff_initial=0.01, backoff_max=0.05, timeout=5)
HTML = "<html><head><title>hi</title></head><body>hello</body></html>"


async def get(url: str, settings: Settings = FAST) -> FetchResult:
    async with open_session(settings) as session:
        return await fetch(url, session, settings)


def _gzip_member(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """~1 GiB of zeros in ~1 MB: one 64 MiB gzip member repeated 16 times."""
    return _gzip_member(64 << 20) * 16


@asynccontextmanager
async def raw_server(
    respond: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A TCP server speaking whatever bytes `respond` writes, for malformed HTTP."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        try:
            await respond(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        await server.wait_closed()


def sends(
    payload: bytes,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def respond(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()

    return respond


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- pages and headers ------------------------------------------------------------


async def test_page_with_charset_and_language(site: Site) -> None:
    url = site.page(
        "/p", HTML, content_type='Text/HTML; Charset="ISO-8859-1"', Content_Language="de-AT"
    )
    result = await get(url)
    assert result.url == result.final_url == url
    assert (result.http_status, result.content_type, result.charset) == (
        200,
        "text/html",
        "ISO-8859-1",
    )
    assert result.content_language == "de-AT"
    assert result.body == HTML.encode()
    assert (result.truncated, result.attempts, result.error, result.retry_after) == (
        False,
        1,
        None,
        None,
    )


async def test_request_headers(site: Site) -> None:
    settings = FAST.but(user_agent="test-agent/1", extra_headers={"X-Extra": "1"})
    await get(site.page("/h", HTML), settings)
    headers = site.requests[-1].headers
    assert headers["User-Agent"] == "test-agent/1"
    assert headers["Accept"].startswith("text/html,application/xhtml+xml")
    assert "gzip" in headers["Accept-Encoding"]
    assert headers["X-Extra"] == "1"


@pytest.mark.parametrize(
    "content_type", ["image/png", "video/mp4", "audio/mpeg", "application/pdf"]
)
async def test_non_html_body_not_read(site: Site, content_type: str) -> None:
    result = await get(site.page("/file", b"\x00" * 50_000, content_type=content_type))
    assert (result.http_status, result.content_type, result.body) == (200, content_type, b"")
    assert result.error is None


async def test_untyped_body_is_read() -> None:
    async with raw_server(sends(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<p>hi</p>")) as url:
        result = await get(url)
    assert (result.content_type, result.body) == (None, b"<p>hi</p>")


async def test_404_read_and_not_retried(site: Site) -> None:
    result = await get(site.page("/gone", "<title>Not here</title>", status=404))
    assert (result.http_status, result.attempts, result.error) == (404, 1, None)
    assert result.body == b"<title>Not here</title>"
    assert site.hits["/gone"] == 1


# -- retries ------------------------------------------------------------------------


async def test_503_then_200_is_retried(site: Site) -> None:
    url = site.sequence("/flaky", (503, "busy", {}), (200, HTML, {}))
    result = await get(url)
    assert (result.http_status, result.attempts, result.body) == (200, 2, HTML.encode())
    assert site.hits["/flaky"] == 2


async def test_5xx_exhausted_returns_last_response(site: Site) -> None:
    url = site.sequence("/down", (502, "one", {}), (500, "two", {}), (503, "last", {}))
    result = await get(url, FAST.but(retries=2))
    assert (result.http_status, result.attempts, result.body) == (503, 3, b"last")
    assert result.error is None


async def test_429_retry_after_is_honoured(site: Site) -> None:
    url = site.sequence("/slow-down", (429, "", {"Retry-After": "1"}), (200, HTML, {}))
    started = time.monotonic()
    result = await get(url)
    assert (result.http_status, result.attempts) == (200, 2)
    assert time.monotonic() - started >= 0.95


async def test_long_retry_after_returns_at_once(site: Site) -> None:
    url = site.page("/later", "come back later", status=429, Retry_After="3600")
    started = time.monotonic()
    result = await get(url)
    assert (result.http_status, result.attempts, result.retry_after) == (429, 1, 3600.0)
    assert time.monotonic() - started < 1
    assert site.hits["/later"] == 1


# -- redirects ----------------------------------------------------------------------


def chain(site: Site, hops: int) -> str:
    site.page("/end", HTML)
    for i in range(hops):
        site.redirect(f"/hop{i}", f"/hop{i + 1}" if i + 1 < hops else "/end")
    return site.url("/hop0")


async def test_ten_redirects_are_followed(site: Site) -> None:
    result = await get(chain(site, 10))
    assert (result.http_status, result.final_url, result.error) == (200, site.url("/end"), None)


async def test_eleven_redirects_are_too_many(site: Site) -> None:
    result = await get(chain(site, 11))
    assert result.error is not None
    assert result.error.kind is ErrorKind.TOO_MANY_REDIRECTS
    assert site.hits["/end"] == 0 and result.attempts == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_statuses_and_relative_location(site: Site, status: int) -> None:
    site.page("/dir/target", HTML)
    url = site.redirect("/dir/start", "target?x=1#frag", status=status)
    site.routes["/dir/target?x=1"] = site.routes["/dir/target"]
    result = await get(url)
    assert result.final_url == site.url("/dir/target?x=1")
    assert (result.http_status, result.body) == (200, HTML.encode())


async def test_redirect_loop_is_detected(site: Site) -> None:
    site.redirect("/a", "/b")
    url = site.redirect("/b", "/a")
    result = await get(url)
    assert result.error is not None
    assert result.error.kind is ErrorKind.TOO_MANY_REDIRECTS
    assert "redirect loop" in result.error.message
    assert site.hits["/a"] == 1 and site.hits["/b"] == 1


async def test_cookie_redirect_dance_is_not_a_loop(site: Site) -> None:
    async def consent(request: web.Request) -> web.StreamResponse:
        if request.cookies.get("consent") == "yes":
            return web.Response(text=HTML, content_type="text/html")
        response = web.Response(status=302, headers={"Location": "/consent"})
        response.set_cookie("consent", "yes")
        return response

    result = await get(site.handler("/consent", consent))
    assert (result.http_status, result.error) == (200, None)
    assert site.hits["/consent"] == 2


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)"]
)
async def test_redirect_to_other_scheme_is_blocked(site: Site, location: str) -> None:
    result = await get(site.redirect("/evil", location))
    assert result.error is not None
    assert result.error.kind is ErrorKind.BLOCKED
    assert result.http_status == 302


async def test_numeric_host_spelling_is_fetched_when_allowed(site: Site) -> None:
    site.page("/n", HTML)
    url = f"http://2130706433:{site.port}/n"
    result = await get(url)
    assert (result.http_status, result.final_url) == (200, url)


# -- limits: time and size -----------------------------------------------------------


async def test_trickling_server_is_cut_at_the_timeout(site: Site) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        while True:
            await response.write(b"x")
            await asyncio.sleep(0.5)

    started = time.monotonic()
    result = await get(site.handler("/trickle", trickle), FAST.but(timeout=1, retries=0))
    assert 0.9 < time.monotonic() - started < 2.5
    assert result.error is not None
    assert result.error.kind is ErrorKind.TIMEOUT
    assert result.http_status == 200
    assert "within 1s" in result.error.message


async def test_silent_server_times_out_and_is_retried(site: Site) -> None:
    async def silent(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)  # short: the shared server waits for handlers when it stops
        return web.Response()

    result = await get(site.handler("/silent", silent), FAST.but(timeout=0.3, retries=1))
    assert result.error is not None
    assert result.error.kind is ErrorKind.TIMEOUT
    assert result.error.message.startswith("no response from 127.0.0.1:")
    assert (result.attempts, result.http_status) == (2, None)


async def test_waiting_for_a_pooled_connection_does_not_count(site: Site) -> None:
    """Two 0.6 s pages, one connection per host, 1 s timeout: the second waits, then succeeds."""
    in_flight: list[int] = []

    async def slow(_: web.Request) -> web.StreamResponse:
        in_flight.append(1)
        assert len(in_flight) == 1, "per_host=1 was not respected"
        await asyncio.sleep(0.6)
        in_flight.pop()
        return web.Response(text=HTML, content_type="text/html")

    url = site.handler("/slow", slow)
    settings = FAST.but(timeout=1, per_host=1, retries=0)
    async with open_session(settings) as session:
        results = await asyncio.gather(*(fetch(url, session, settings) for _ in range(2)))
    assert [(r.http_status, r.error) for r in results] == [(200, None), (200, None)]


async def test_body_is_capped(site: Site) -> None:
    url = site.page("/big", "<p>" + "x" * 100_000)
    result = await get(url, FAST.but(max_bytes=10_000))
    assert (result.truncated, len(result.body), result.error) == (True, 10_000, None)


async def test_body_of_exactly_the_cap_is_not_truncated(site: Site) -> None:
    result = await get(site.page("/exact", b"y" * 4096), FAST.but(max_bytes=4096))
    assert (result.truncated, len(result.body)) == (False, 4096)


@pytest.mark.parametrize("chunked", [False, True])
async def test_gzip_bomb_is_bounded(site: Site, bomb: bytes, chunked: bool) -> None:
    async def serve(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
        if not chunked:
            return web.Response(body=bomb, headers=headers)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        for start in range(0, len(bomb), 65536):
            await response.write(bomb[start : start + 65536])
        return response

    url = site.handler("/bomb", serve)
    tracemalloc.start()
    try:
        result = await get(url, FAST.but(max_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.truncated, len(result.body), result.error) == (True, 1 << 20, None)
    assert result.body == bytes(1 << 20)
    assert peak < 24 << 20, f"peak {peak >> 20} MiB while reading a 1 GiB gzip bomb"


# -- network-level failures -------------------------------------------------------------


async def test_connection_refused() -> None:
    port = free_port()
    result = await get(f"http://127.0.0.1:{port}/", FAST.but(retries=1))
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONNECT
    assert result.error.message == f"connection refused by 127.0.0.1:{port}"
    assert (result.attempts, result.http_status) == (2, None)


async def test_unresolvable_name() -> None:
    result = await get("http://nonexistent.invalid/")
    assert result.error is not None
    assert result.error.kind is ErrorKind.DNS
    assert "nonexistent.invalid" in result.error.message
    assert result.attempts == 1


async def test_tls_error(site: Site) -> None:
    result = await get(f"https://127.0.0.1:{site.port}/")
    assert result.error is not None
    assert result.error.kind is ErrorKind.TLS
    assert result.attempts == 1


async def test_invalid_gzip_is_a_decode_error() -> None:
    payload = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\n"
    payload += b"Content-Length: 10\r\n\r\nnot gzip!!"
    async with raw_server(sends(payload)) as url:
        result = await get(url)
    assert result.error is not None
    assert result.error.kind is ErrorKind.DECODE
    assert result.error.message.startswith("could not decode the gzip body")
    assert (result.http_status, result.attempts) == (200, 1)


async def test_oversized_header_is_an_error_not_a_crash() -> None:
    payload = b"HTTP/1.1 200 OK\r\nX-Huge: " + b"a" * 20_000 + b"\r\nContent-Length: 2\r\n\r\nhi"
    async with raw_server(sends(payload)) as url:
        result = await get(url)
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONNECT
    assert "header" in result.error.message and "\n" not in result.error.message


async def test_too_many_headers_is_an_error_not_a_crash() -> None:
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    async with raw_server(sends(b"HTTP/1.1 200 OK\r\n" + lines + b"\r\n")) as url:
        result = await get(url)
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONNECT
    assert "invalid HTTP response" in result.error.message


async def test_reset_mid_body_is_retried() -> None:
    calls = 0

    async def respond(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\nhalf"
        )
        await writer.drain()

    async with raw_server(respond) as url:
        result = await get(url, FAST.but(retries=2))
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONNECT
    assert (result.attempts, calls, result.http_status) == (3, 3, 200)


async def test_close_without_response_is_retried() -> None:
    async with raw_server(sends(b"")) as url:
        result = await get(url, FAST.but(retries=1))
    assert result.error is not None
    assert result.error.kind is ErrorKind.CONNECT
    assert "closed the connection" in result.error.message
    assert result.attempts == 2


async def test_cancellation_propagates(site: Site) -> None:
    async def slow(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response()

    url = site.handler("/hang", slow)
    async with open_session(FAST) as session:
        task = asyncio.create_task(fetch(url, session, FAST))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_challenge_page_is_not_retried(site: Site) -> None:
    """A 503 bot-challenge interstitial will not pass on a retry: one request only, when
    the caller says what a challenge looks like (`final`); retried when it does not."""
    body = (
        "<html><head><title>Just a moment...</title></head>"
        "<body><script>window._cf_chl_opt={};</script></body></html>"
    )
    url = site.page("/challenge", body, status=503)
    async with open_session(FAST) as session:
        result = await fetch(url, session, FAST, final=looks_like_challenge)
        assert (result.http_status, result.attempts, site.hits["/challenge"]) == (503, 1, 1)
        again = await fetch(url, session, FAST)
    assert (again.attempts, site.hits["/challenge"]) == (FAST.attempts, 1 + FAST.attempts)


# -- conditional revalidation -----------------------------------------------------------------

ETAG = '"v1-abc"'
MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


def revalidating(site: Site, path: str) -> str:
    """A page that answers 304 when a request's validators match its own."""

    async def page(request: web.Request) -> web.StreamResponse:
        headers = {"ETag": ETAG, "Last-Modified": MODIFIED}
        if request.headers.get("If-None-Match") == ETAG or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == MODIFIED
        ):
            return web.Response(status=304, headers=headers)
        return web.Response(text=HTML, content_type="text/html", headers=headers)

    return site.handler(path, page)


async def fetch_with(url: str, validators: tuple[str | None, str | None] | None) -> FetchResult:
    async with open_session(FAST) as session:
        return await fetch(url, session, FAST, validators=validators)


async def test_matching_etag_is_a_304_without_body(site: Site) -> None:
    result = await fetch_with(revalidating(site, "/cached"), (ETAG, None))
    assert (result.http_status, result.body, result.error, result.attempts) == (304, b"", None, 1)
    assert (result.etag, result.last_modified) == (ETAG, MODIFIED)
    headers = site.requests[-1].headers
    assert headers["If-None-Match"] == ETAG and "If-Modified-Since" not in headers


async def test_matching_last_modified_is_a_304(site: Site) -> None:
    result = await fetch_with(revalidating(site, "/dated"), (None, MODIFIED))
    assert (result.http_status, result.body, result.error) == (304, b"", None)
    headers = site.requests[-1].headers
    assert headers["If-Modified-Since"] == MODIFIED and "If-None-Match" not in headers


async def test_changed_page_is_a_200_with_new_validators(site: Site) -> None:
    result = await fetch_with(
        revalidating(site, "/changed"), ('"old"', "Mon, 01 Jan 2024 00:00:00 GMT")
    )
    assert (result.http_status, result.body) == (200, HTML.encode())
    assert (result.etag, result.last_modified) == (ETAG, MODIFIED)
    headers = site.requests[-1].headers
    assert headers["If-None-Match"] == '"old"'
    assert headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


async def test_a_server_ignoring_validators_is_a_normal_fetch(site: Site) -> None:
    result = await fetch_with(site.page("/plain", HTML), (ETAG, MODIFIED))
    assert (result.http_status, result.body, result.error) == (200, HTML.encode(), None)
    assert (result.etag, result.last_modified) == (None, None)


async def test_validators_are_captured_without_revalidating(site: Site) -> None:
    url = site.page("/tagged", HTML, ETag='W/"weak-1"', Last_Modified=MODIFIED)
    result = await get(url)
    assert (result.etag, result.last_modified) == ('W/"weak-1"', MODIFIED)
    headers = site.requests[-1].headers
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


async def test_a_304_is_not_retried(site: Site) -> None:
    url = site.page("/same", b"", status=304, content_type="", ETag=ETAG)
    settings = FAST.but(retries=3)
    async with open_session(settings) as session:
        result = await fetch(url, session, settings, validators=(ETAG, None))
    assert (result.http_status, result.attempts, result.error, result.body) == (304, 1, None, b"")
    assert site.hits["/same"] == 1


async def test_validators_are_sent_on_every_redirect_hop(site: Site) -> None:
    target = revalidating(site, "/moved-here")
    site.redirect("/old", target, status=301)
    result = await fetch_with(site.url("/old"), (ETAG, MODIFIED))
    assert (result.http_status, result.final_url, result.error) == (304, target, None)
    assert [r.headers.get("If-None-Match") for r in site.requests] == [ETAG, ETAG]
    assert [r.headers.get("If-Modified-Since") for r in site.requests] == [MODIFIED, MODIFIED]


async def test_unusable_validators_are_neither_sent_nor_kept(site: Site) -> None:
    url = site.page("/odd", HTML, ETag='"' + "x" * 2000 + '"')
    result = await fetch_with(url, ('"a"\r\nX-Injected: 1', "  "))
    assert (result.http_status, result.error) == (200, None)
    assert result.etag is None  # too long to send back whole
    headers = site.requests[-1].headers
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers
    assert "X-Injected" not in headers


def test_clean_validator() -> None:
    assert clean_validator('  "abc"  ') == '"abc"'
    assert clean_validator("") is None and clean_validator(None) is None
    assert clean_validator("a\nb") is None and clean_validator("a\x00") is None
    assert clean_validator("x" * VALIDATOR_MAX) == "x" * VALIDATOR_MAX
    assert clean_validator("x" * (VALIDATOR_MAX + 1)) is None
    assert conditional_headers((None, None)) == {} == conditional_headers(None)
    assert conditional_headers(('"e"', MODIFIED)) == {
        "If-None-Match": '"e"',
        "If-Modified-Since": MODIFIED,
    }
