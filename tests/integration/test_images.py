"""check_image() and ImageChecks against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiohttp import web

from og_preview.config import Settings
from og_preview.net.fetch import open_session
from og_preview.net.guard import AddressPolicy
from og_preview.net.images import IMAGE_READ, ImageCheck, ImageChecks, ImageStatus, check_image
from og_preview.net.resolver import StaticResolver
from tests.integration.test_fetch import free_port, raw_server, sends
from tests.site import Site
from tests.unit.test_images import gif, jpeg, png, webp

pytestmark = pytest.mark.integration

FAST = Settings(allow_private=True, backoff_initial=0.01, backoff_max=0.05, timeout=5)
GUARDED = Settings(backoff_initial=0.01, timeout=3)  # allow_private=False, the default
HTML = "<html><head><title>Not an image</title></head><body>hello</body></html>"
NAMES = {"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]}
ONLY_SITE = AddressPolicy.with_networks(["127.0.0.1/32"])


async def check(url: str, settings: Settings = FAST) -> ImageCheck:
    async with open_session(settings) as session:
        return await check_image(url, session, settings)


# -- images and their sizes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime", "size"),
    [
        (png(3, 2), "image/png", (3, 2)),
        (jpeg(1200, 630), "image/jpeg", (1200, 630)),
        (gif(16, 9), "image/gif", (16, 9)),
        (webp(1024, 512), "image/webp", (1024, 512)),
    ],
)
async def test_images_with_known_sizes(
    site: Site, data: bytes, mime: str, size: tuple[int, int]
) -> None:
    result = await check(site.page("/img", data, content_type=mime))
    assert result.to_dict() == {
        "status": "ok",
        "http_status": 200,
        "content_type": mime,
        "bytes": len(data),
        "width": size[0],
        "height": size[1],
    }
    assert (result.attempts, result.read, result.message) == (1, len(data), None)
    request = site.requests[-1]
    assert (request.method, request.headers["Range"]) == ("GET", "bytes=0-65535")
    assert request.headers["Accept"].startswith("image/")


async def test_a_range_answer_gives_the_total_size(site: Site) -> None:
    total = 3_000_000
    data = png(640, 480) + bytes(IMAGE_READ)

    async def ranged(request: web.Request) -> web.StreamResponse:
        assert request.headers["Range"] == "bytes=0-65535"
        return web.Response(
            status=206,
            body=data[:IMAGE_READ],
            headers={"Content-Type": "image/png", "Content-Range": f"bytes 0-65535/{total}"},
        )

    result = await check(site.handler("/ranged.png", ranged))
    assert (result.status, result.http_status, result.size) == (ImageStatus.OK, 206, total)
    assert (result.width, result.height, result.read) == (640, 480, IMAGE_READ)


async def test_a_server_ignoring_range_is_read_only_64_kib(site: Site) -> None:
    """A 64 MiB image sent whole: 64 KiB are read, the connection is dropped."""
    total, block = 64 << 20, 1 << 16
    written: list[int] = []
    done = threading.Event()

    async def whole(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "image/jpeg", "Content-Length": str(total)}
        )
        await response.prepare(request)
        sent = 0
        try:
            first = jpeg(4000, 3000)
            await response.write(first + bytes(block - len(first)))
            sent = block
            while sent < total:
                await response.write(bytes(block))
                sent += block
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            written.append(sent)
            done.set()
        return response

    started = time.monotonic()
    result = await check(site.handler("/big.jpg", whole))
    assert time.monotonic() - started < 5
    assert (result.status, result.http_status, result.size) == (ImageStatus.OK, 200, total)
    assert (result.width, result.height, result.read) == (4000, 3000, IMAGE_READ)
    assert await asyncio.to_thread(done.wait, 10)
    assert written[0] < total, "the whole image was sent: the client read it all"


# -- not images, broken images ------------------------------------------------------------


async def test_html_served_as_an_image_is_not_an_image(site: Site) -> None:
    result = await check(site.page("/fake.png", HTML, content_type="image/png"))
    assert (result.status, result.http_status, result.content_type) == (
        ImageStatus.NOT_IMAGE,
        200,
        "image/png",
    )
    assert (result.width, result.height) == (None, None)


async def test_an_html_page_is_not_an_image(site: Site) -> None:
    result = await check(site.page("/page", HTML))
    assert (result.status, result.content_type) == (ImageStatus.NOT_IMAGE, "text/html")


async def test_an_image_served_as_octet_stream_is_ok(site: Site) -> None:
    data = png(7, 5)
    result = await check(site.page("/blob", data, content_type="application/octet-stream"))
    assert (result.status, result.content_type) == (ImageStatus.OK, "application/octet-stream")
    assert (result.width, result.height, result.size) == (7, 5, len(data))


async def test_a_truncated_image_is_broken(site: Site) -> None:
    result = await check(site.page("/cut.png", png(300, 200)[:20], content_type="image/png"))
    assert (result.status, result.http_status) == (ImageStatus.BROKEN, 200)
    assert result.message is not None and "truncated" in result.message


async def test_an_image_cut_short_in_transfer_is_broken() -> None:
    data = jpeg(100, 100)
    payload = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 50000\r\n\r\n"
    async with raw_server(sends(payload + data)) as url:
        result = await check(url, FAST.but(retries=1))
    assert (result.status, result.http_status, result.attempts) == (ImageStatus.BROKEN, 200, 2)


async def test_a_404_is_broken_and_not_retried(site: Site) -> None:
    result = await check(site.url("/missing.png"))
    assert (result.status, result.http_status, result.attempts) == (ImageStatus.BROKEN, 404, 1)
    assert site.hits["/missing.png"] == 1
    assert result.to_dict()["bytes"] is None


async def test_a_503_is_retried(site: Site) -> None:
    url = site.sequence(
        "/busy.gif", (503, "busy", {}), (200, gif(2, 3), {"Content-Type": "image/gif"})
    )
    result = await check(url)
    assert (result.status, result.width, result.height, result.attempts) == (
        ImageStatus.OK,
        2,
        3,
        2,
    )


async def test_a_timeout(site: Site) -> None:
    async def silent(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)  # short: the shared server waits for handlers when it stops
        return web.Response(body=png(1, 1), content_type="image/png")

    result = await check(site.handler("/slow.png", silent), FAST.but(timeout=0.3, retries=1))
    assert (result.status, result.http_status, result.attempts) == (ImageStatus.TIMEOUT, None, 2)


async def test_connection_refused_is_broken() -> None:
    result = await check(f"http://127.0.0.1:{free_port()}/a.png", FAST.but(retries=0))
    assert (result.status, result.http_status) == (ImageStatus.BROKEN, None)


# -- HEAD fallback ---------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", [405, 501])
async def test_head_fallback_when_get_is_refused(site: Site, refusal: int) -> None:
    async def head_only(request: web.Request) -> web.StreamResponse:
        if request.method != "HEAD":
            return web.Response(status=refusal, text="no GET here")
        return web.Response(body=png(9, 9), content_type="image/png")

    result = await check(site.handler("/head.png", head_only))
    assert result.to_dict() == {
        "status": "ok",
        "http_status": 200,
        "content_type": "image/png",
        "bytes": len(png(9, 9)),
        "width": None,
        "height": None,
    }
    assert [r.method for r in site.requests] == ["GET", "HEAD"]
    assert "Range" not in site.requests[-1].headers


async def test_head_fallback_of_a_non_image(site: Site) -> None:
    async def head_only(request: web.Request) -> web.StreamResponse:
        if request.method != "HEAD":
            return web.Response(status=405)
        return web.Response(text=HTML, content_type="text/html")

    result = await check(site.handler("/head", head_only))
    assert (result.status, result.http_status) == (ImageStatus.NOT_IMAGE, 200)


# -- redirects and the address guard -------------------------------------------------------


async def test_redirects_are_followed(site: Site) -> None:
    site.page("/real.gif", gif(5, 6), content_type="image/gif")
    site.redirect("/hop", "/real.gif", status=301)
    result = await check(site.redirect("/img", "/hop"))
    assert (result.status, result.http_status, result.width, result.height) == (
        ImageStatus.OK,
        200,
        5,
        6,
    )
    assert all(r.headers.get("Range") == "bytes=0-65535" for r in site.requests)


async def test_a_redirect_loop_is_broken(site: Site) -> None:
    site.redirect("/a.png", "/b.png")
    result = await check(site.redirect("/b.png", "/a.png"))
    assert (result.status, result.http_status) == (ImageStatus.BROKEN, 302)
    assert result.message is not None and "redirect loop" in result.message


@pytest.mark.parametrize(
    "location", ["http://internal.test:{port}/secret.png", "http://127.0.0.2:{port}/secret.png"]
)
async def test_a_redirect_to_a_blocked_address_is_blocked(site: Site, location: str) -> None:
    site.page("/secret.png", png(1, 1), content_type="image/png")
    site.redirect("/start.png", location.format(port=site.port))
    url = f"http://public.test:{site.port}/start.png"
    resolver = StaticResolver(NAMES)
    async with open_session(GUARDED, policy=ONLY_SITE, resolver=resolver) as session:
        result = await check_image(url, session, GUARDED)
    assert (result.status, result.http_status, result.attempts) == (ImageStatus.BLOCKED, 302, 1)
    assert result.message is not None and "refused" in result.message
    assert site.hits["/start.png"] == 1 and site.hits["/secret.png"] == 0


async def test_a_private_address_is_blocked_and_never_contacted(site: Site) -> None:
    url = site.page("/secret.png", png(1, 1), content_type="image/png")
    async with open_session(GUARDED) as session:  # the session's own policy applies
        result = await check_image(url, session, GUARDED)
    assert (result.status, result.http_status) == (ImageStatus.BLOCKED, None)
    assert not site.requests


@pytest.mark.parametrize(
    "url", ["data:image/png;base64,iVBORw0KGgo=", "ftp://example.com/a.png", "/relative.png"]
)
async def test_a_non_http_url_is_blocked(url: str) -> None:
    result = await check(url)
    assert (result.status, result.attempts) == (ImageStatus.BLOCKED, 1)


async def test_an_unparsable_url_is_broken() -> None:
    result = await check("http://[::1/x.png")
    assert result.status is ImageStatus.BROKEN


# -- ImageChecks: once per run ---------------------------------------------------------------


async def test_twenty_concurrent_checks_of_one_url_make_one_request(site: Site) -> None:
    async def logo(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(body=png(48, 48), content_type="image/png")

    url = site.handler("/logo.png", logo)
    async with open_session(FAST) as session, ImageChecks(session, FAST) as checks:
        results = await asyncio.gather(*(checks.check(url) for _ in range(20)))
        later = await checks.check(url + "#fragment")
        assert len(checks) == 1
    assert site.hits["/logo.png"] == 1
    assert {r.to_dict()["width"] for r in [*results, later]} == {48}
    assert all(r is results[0] for r in [*results, later])


async def test_a_cancelled_caller_leaves_the_check_to_the_others(site: Site) -> None:
    async def logo(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.Response(body=gif(8, 8), content_type="image/gif")

    url = site.handler("/shared.gif", logo)
    async with open_session(FAST) as session, ImageChecks(session, FAST) as checks:
        first = asyncio.create_task(checks.check(url))
        second = asyncio.create_task(checks.check(url))
        await asyncio.sleep(0.1)
        first.cancel()
        result = await second
        assert first.cancelled()
    assert (result.status, result.width, site.hits["/shared.gif"]) == (ImageStatus.OK, 8, 1)


async def test_kept_results_are_bounded(site: Site) -> None:
    urls = [site.page(f"/{i}.gif", gif(i + 1, 1), content_type="image/gif") for i in range(3)]
    async with open_session(FAST) as session, ImageChecks(session, FAST, keep=2) as checks:
        for url in urls:
            await checks.check(url)
        assert len(checks) == 2
        await checks.check(urls[2])  # kept
        await checks.check(urls[0])  # forgotten: asked again
    assert [site.hits[f"/{i}.gif"] for i in range(3)] == [2, 1, 1]


async def test_closing_cancels_running_checks(site: Site) -> None:
    async def slow(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response(body=png(1, 1), content_type="image/png")

    url = site.handler("/never.png", slow)
    async with open_session(FAST) as session:
        checks = ImageChecks(session, FAST)
        waiting = asyncio.create_task(checks.check(url))
        await asyncio.sleep(0.1)
        await checks.aclose()
        with pytest.raises(asyncio.CancelledError):
            await waiting
