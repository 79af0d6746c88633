"""Hostile networks and pages, through the library: bounded, safe, one record each.

Against `tests.hostile` (the `hostile` fixture): `preview()` over routes that
trickle, never end, explode when inflated, loop, aim at internal addresses,
fail and recover, or break parsers. Every call must come back with a record,
within its time budget, and nothing may reach an address the guard refuses.
"""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD

from og_preview.config import MIB, Settings
from og_preview.net.fetch import open_session
from og_preview.net.guard import StaticResolver
from og_preview.record import ErrorKind, Preview, Status
from og_preview.run.pipeline import preview
from tests.hostile import Hostile, PublicPort
from tests.hostile_payloads import CHARSET_TEXT, JAPANESE
from tests.hostile_routes import PRIVATE_SPELLINGS, ROUTES

pytestmark = pytest.mark.integration

FAST = Settings(
    allow_private=True,
    timeout=1,
    retries=1,
    backoff_initial=0.01,
    backoff_max=0.05,
    retry_after_max=2,
    parse_workers=0,
)
GUARDED = FAST.but(allow_private=False)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


async def get(url: str, settings: Settings = FAST) -> Preview:
    return await preview(url, settings=settings)


def kind(record: Preview) -> str:
    return str(record.error.kind) if record.error else str(record.status)


@asynccontextmanager
async def public(hostile: Hostile, settings: Settings = GUARDED) -> AsyncIterator[PublicSession]:
    """A guarded session in which the hostile servers are the public host `public.test`."""
    policy = PublicPort(ports=(hostile.ports["main"], hostile.ports["raw"]))
    resolver = StaticResolver({"public.test": ["127.0.0.1"]})
    async with open_session(settings, policy=policy, resolver=resolver) as session:
        yield PublicSession(hostile, session, settings)


class PublicSession:
    def __init__(self, hostile: Hostile, session: aiohttp.ClientSession, settings: Settings):
        self.hostile, self.session, self.settings = hostile, session, settings

    def url(self, path: str) -> str:
        return f"http://public.test:{self.hostile.ports['main']}{path}"

    async def get(self, url: str) -> Preview:
        return await preview(url, settings=self.settings, session=self.session)


# -- time: one total deadline per attempt --------------------------------------------------


async def test_trickle_is_cut_at_timeout_per_attempt(hostile: Hostile) -> None:
    started = time.monotonic()
    record = await get(hostile.url("/trickle"))
    elapsed = time.monotonic() - started
    assert kind(record) == "timeout", record.error
    assert (record.http_status, record.attempts) == (200, 2)
    assert 1.9 < elapsed < 2 * 1 + 0.8, elapsed  # timeout x attempts, + backoff and margin
    starts = [hit.at for hit in hostile.hits("main", "/trickle")]
    assert len(starts) == 2 and 0.95 < starts[1] - starts[0] < 1.5


# -- size: streamed and capped, bombs included ------------------------------------------------


async def test_50mb_page_is_read_up_to_the_cap_and_previewed(hostile: Hostile) -> None:
    started = time.monotonic()
    record = await get(hostile.url("/big"))
    assert (kind(record), record.title) == ("processed", "Fifty megabytes")
    assert time.monotonic() - started < 1.5


async def test_endless_body_without_metadata_is_too_large(hostile: Hostile) -> None:
    record = await get(hostile.url("/endless"), FAST.but(max_bytes=256 * 1024))
    assert kind(record) == "too_large"
    assert record.error is not None and "262144 bytes" in record.error.message
    assert record.attempts == 1  # not retried: more of the same would not help


async def test_og_tags_after_3mb_need_a_bigger_cap(hostile: Hostile) -> None:
    record = await get(hostile.url("/og-after-3mb"))
    assert kind(record) == "too_large"
    record = await get(hostile.url("/og-after-3mb"), FAST.but(max_bytes=4 * MIB))
    assert (kind(record), record.title) == ("processed", "Late OG")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compression_bomb_is_inflated_only_up_to_the_cap(
    hostile: Hostile, encoding: str
) -> None:
    """4 GiB of zeros in 4 MB on the wire: 1 MiB is read and the head is previewed."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        record = await get(hostile.url(f"/bomb/{encoding}"), FAST.but(max_bytes=MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (kind(record), record.title) == ("processed", "Bomb")
    assert time.monotonic() - started < 2
    assert peak < 32 * MIB, f"{peak / MIB:.0f} MiB allocated while reading a 4 GiB bomb"


@pytest.mark.parametrize(
    ("encoding", "supported"), [("br", HAS_BROTLI), ("zstd", HAS_ZSTD)], ids=["br", "zstd"]
)
async def test_other_encodings_are_bounded_or_a_decode_error(
    hostile: Hostile, encoding: str, supported: bool
) -> None:
    record = await get(hostile.url(f"/bomb/{encoding}"), FAST.but(max_bytes=MIB))
    assert kind(record) == ("processed" if supported else "decode")
    assert record.attempts == 1


# -- redirects --------------------------------------------------------------------------------


async def test_redirect_loop_is_stopped_at_once(hostile: Hostile) -> None:
    record = await get(hostile.url("/redirect/loop/a"))
    assert (kind(record), record.http_status, record.attempts) == ("too_many_redirects", 302, 1)
    assert [hit.path for hit in hostile.hits("main")] == ["/redirect/loop/a", "/redirect/loop/b"]


async def test_25_hops_stop_after_10_redirects(hostile: Hostile) -> None:
    record = await get(hostile.url("/redirect/hops/25"))
    assert (kind(record), record.attempts) == ("too_many_redirects", 1)
    assert len(hostile.hits("main")) == 11  # the first request and 10 redirects, no more


async def test_redirect_to_file_is_blocked_even_when_private_is_allowed(hostile: Hostile) -> None:
    record = await get(hostile.url("/redirect/file"))
    assert kind(record) == "blocked"
    assert record.error is not None and "file:" in record.error.message


# -- the guard: nothing is ever sent to a blocked address ------------------------------------


@pytest.mark.parametrize("spelling", PRIVATE_SPELLINGS)
async def test_private_spelling_as_input_is_blocked_and_never_contacted(
    hostile: Hostile, spelling: str
) -> None:
    record = await get(f"http://{spelling}:{hostile.ports['victim']}/", GUARDED)
    assert (kind(record), record.attempts, record.http_status) == ("blocked", 1, None)
    assert hostile.hits() == []


VICTIM_REDIRECTS = [f"spelled/{s}" for s in PRIVATE_SPELLINGS] + ["other-port", "metadata"]


@pytest.mark.parametrize("route", VICTIM_REDIRECTS)
async def test_redirect_from_public_host_to_private_address_is_never_followed(
    hostile: Hostile, route: str
) -> None:
    async with public(hostile) as site:
        record = await site.get(site.url(f"/redirect/{route}"))
    assert (kind(record), record.http_status, record.attempts) == ("blocked", 302, 1)
    assert [(h.server, h.path) for h in hostile.hits()] == [("main", f"/redirect/{route}")]


async def test_public_name_on_the_victim_port_is_refused_at_the_socket(
    hostile: Hostile,
) -> None:
    """public.test passes the host and DNS checks; only the socket check knows the port."""
    async with public(hostile) as site:
        record = await site.get(f"http://public.test:{hostile.ports['victim']}/")
    assert kind(record) == "blocked"
    assert hostile.hits() == []


@pytest.mark.parametrize("spelling", [s for s in PRIVATE_SPELLINGS if s != "localhost."])
async def test_the_same_spellings_do_reach_the_victim_when_allowed(
    hostile: Hostile, spelling: str
) -> None:
    """The control for the two tests above: each spelling really means the victim."""
    record = await get(hostile.url(f"/redirect/spelled/{spelling}"))
    assert (kind(record), record.title) == ("processed", "internal secret")
    assert [hit.server for hit in hostile.hits()] == ["main", "victim"]


async def test_public_host_serves_every_hostile_route_like_loopback(hostile: Hostile) -> None:
    """Guarded, the hostile servers as a public host: each route ends as expected."""
    async with public(hostile, GUARDED.but(timeout=0.5)) as site:
        routes = [
            (route, url.replace("http://127.0.0.1:", "http://public.test:", 1))
            for route, url in hostile.route_urls(offloop=True)
            if route.name not in ("503-retry-after-1", "429-retry-after-1", "trickle")
        ]
        records = await asyncio.gather(*(site.get(url) for _, url in routes))
    got = {route.name: kind(record) for (route, _), record in zip(routes, records, strict=True)}
    assert got == {route.name: route.guarded_expect for route, _ in routes}
    assert hostile.hits("victim") == []


# -- retries ----------------------------------------------------------------------------------


async def test_500_then_200_is_retried(hostile: Hostile) -> None:
    record = await get(hostile.url("/status/500-then-200"))
    assert (kind(record), record.attempts, record.http_status) == ("processed", 2, 200)
    assert len(hostile.hits("main")) == 2


@pytest.mark.parametrize("status", [503, 429])
async def test_retry_after_1_is_honoured(hostile: Hostile, status: int) -> None:
    path = f"/status/{status}-retry-after-1"
    record = await get(hostile.url(path))
    assert (kind(record), record.attempts, record.title) == (
        "processed",
        2,
        f"Recovered {status}-retry-after-1",
    )
    first, second = (hit.at for hit in hostile.hits("main", path))
    assert 0.95 < second - first < 1.6


async def test_429_with_retry_after_3600_gives_up_at_once(hostile: Hostile) -> None:
    started = time.monotonic()
    record = await get(hostile.url("/status/429-retry-after-3600"))
    assert time.monotonic() - started < 0.5
    assert (kind(record), record.http_status, record.attempts) == ("http", 429, 1)
    assert record.error is not None and record.error.http_status == 429
    assert "3600" in record.error.message
    assert len(hostile.hits("main")) == 1


@pytest.mark.parametrize("status", [404, 410])
async def test_404_and_410_are_never_retried(hostile: Hostile, status: int) -> None:
    record = await get(hostile.url(f"/status/{status}"), FAST.but(retries=3))
    assert (kind(record), record.http_status, record.attempts) == ("http", status, 1)
    assert len(hostile.hits("main")) == 1


@pytest.mark.parametrize("path", ["/truncated", "/reset"])
async def test_broken_bodies_are_retried_then_an_error(hostile: Hostile, path: str) -> None:
    record = await get(hostile.raw_base + path)
    assert (kind(record), record.attempts, record.http_status) == ("connect", 2, 200)
    assert len(hostile.hits("raw", path)) == 2


async def test_http10_close_delimited_body_is_read(hostile: Hostile) -> None:
    record = await get(hostile.raw_base + "/http10")
    assert (kind(record), record.title) == ("processed", "Raw")


@pytest.mark.parametrize("path", ["/huge-header", "/garbage"])
async def test_broken_http_is_an_error_not_a_crash(hostile: Hostile, path: str) -> None:
    record = await get(hostile.raw_base + path)
    assert (kind(record), record.attempts) == ("connect", 1)
    assert record.error is not None and "\n" not in record.error.message


# -- parser safety: a record, never an exception -------------------------------------------


PARSER_ROUTES = [
    "/empty",
    "/binary",
    "/deep-html",
    "/deep-jsonld",
    "/control-title",
    "/huge-title",
    "/jsonld-only",
    "/charset/header-lies",
    "/charset/meta-lies",
]


@pytest.mark.parametrize("path", PARSER_ROUTES)
async def test_hostile_page_gives_a_clean_record(hostile: Hostile, path: str) -> None:
    record = await get(hostile.url(path))
    assert kind(record) == "processed"
    for key in ("title", "description", "site_name", "author"):
        value = getattr(record, key)
        assert value is None or (not CONTROL.search(value) and len(value) <= 2000), key


async def test_control_characters_are_removed(hostile: Hostile) -> None:
    record = await get(hostile.url("/control-title"))
    assert record.title is not None and record.description is not None
    assert record.title.startswith("Hello") and record.title.endswith("end")
    assert "World" in record.title and "\x1b" not in record.title
    # (a NUL in an attribute value is U+FFFD to an HTML5 parser, as in a browser)
    assert record.description == "tab here\ufffdnulvt"


async def test_1mb_title_is_capped(hostile: Hostile) -> None:
    record = await get(hostile.url("/huge-title"))
    assert record.title is not None and 100 < len(record.title) <= 2000
    assert set(record.title) <= {"A", "\u2026"}
    assert all(len(str(value)) <= 2000 for value in record.og.values())


async def test_deep_nesting_keeps_the_head(hostile: Hostile) -> None:
    html = await get(hostile.url("/deep-html"))
    assert (html.title, html.description) == ("Deep HTML", "What Deep HTML does.")
    jsonld = await get(hostile.url("/deep-jsonld"))
    assert jsonld.title == "Deep JSON-LD"


async def test_jsonld_only_page_is_previewed(hostile: Hostile) -> None:
    record = await get(hostile.url("/jsonld-only"))
    assert record.description == "A page whose metadata lives only in JSON-LD."
    assert record.image == hostile.url("/img/ld.png")
    assert (record.author, record.published) == ("Ada Lovelace", "2024-05-06T07:08:09+00:00")


async def test_meta_charset_that_lies_is_overruled_by_valid_utf8(hostile: Hostile) -> None:
    record = await get(hostile.url("/charset/meta-lies"))
    assert record.title == JAPANESE


async def test_header_charset_that_lies_is_never_fatal(hostile: Hostile) -> None:
    record = await get(hostile.url("/charset/header-lies"))
    assert record.title is not None and record.title.startswith("Caf")


async def test_header_charset_that_lies_falls_back_to_windows_1252(hostile: Hostile) -> None:
    record = await get(hostile.url("/charset/header-lies"))
    assert record.title == CHARSET_TEXT


def test_every_route_has_a_distinct_name() -> None:
    assert len({route.name for route in ROUTES}) == len(ROUTES)
    assert all(route.guarded_expect in {*ErrorKind, *Status} for route in ROUTES)
