"""The private-address guard end to end: nothing reaches a refused address.

Everything local is 127.0.0.1, so "a public host" is simulated with a
`StaticResolver` (public.test → 127.0.0.1) and a policy allowing exactly
127.0.0.1/32; everything else private stays refused.
"""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from og_preview.config import Settings
from og_preview.net.fetch import FetchResult, fetch, open_session
from og_preview.net.guard import AddressBlocked, AddressPolicy
from og_preview.net.resolver import StaticResolver
from og_preview.record import ErrorKind
from tests.site import Site

pytestmark = pytest.mark.integration

GUARDED = Settings(backoff_initial=0.01, timeout=3)  # allow_private=False, the default
HTML = "<title>secret</title>"
# "public.test" stands for a public host; the rest resolve to refused addresses.
NAMES = {
    "public.test": ["127.0.0.1"],
    "internal.test": ["127.0.0.2"],
    "rebind.test": ["10.0.0.7", "::1", "169.254.169.254"],
}
ONLY_SITE = AddressPolicy.with_networks(["127.0.0.1/32"])


async def get(
    url: str, settings: Settings = GUARDED, policy: AddressPolicy | None = None
) -> FetchResult:
    async with open_session(settings, policy=policy, resolver=StaticResolver(NAMES)) as session:
        return await fetch(url, session, settings)


def assert_blocked(result: FetchResult, *words: str) -> None:
    assert result.error is not None, result
    assert result.error.kind is ErrorKind.BLOCKED, result.error
    for word in words:
        assert word in result.error.message
    assert result.attempts == 1


async def test_loopback_is_blocked_and_never_contacted(site: Site) -> None:
    result = await get(site.page("/secret", HTML))
    assert_blocked(result, "127.0.0.1", "loopback")
    assert result.http_status is None
    assert site.hits["/secret"] == 0 and not site.requests


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f.1",
        "0x7f000001",
        "127.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "localhost",
        "LOCALHOST.",
        "127.0.0.1.",
        "0",
        "[::1]",
    ],
)
async def test_ip_spellings_are_blocked(site: Site, host: str) -> None:
    site.page("/secret", HTML)
    result = await get(f"http://{host}:{site.port}/secret")
    assert_blocked(result)
    assert not site.requests


async def test_name_resolving_to_private_addresses_is_blocked(site: Site) -> None:
    site.page("/secret", HTML)
    result = await get(f"http://rebind.test:{site.port}/secret")
    assert_blocked(result, "rebind.test resolves to")
    assert not site.requests


async def test_allowed_network_is_reachable_by_name(site: Site) -> None:
    site.page("/ok", HTML)
    result = await get(f"http://public.test:{site.port}/ok", policy=ONLY_SITE)
    assert (result.http_status, result.body, result.error) == (200, HTML.encode(), None)


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("http://internal.test:{port}/secret", ("internal.test resolves to 127.0.0.2",)),
        ("http://127.0.0.2:{port}/secret", ("127.0.0.2", "loopback")),
        ("http://169.254.169.254/latest/meta-data/", ("metadata",)),
        ("http://[::ffff:10.0.0.1]/", ("private",)),
        ("http://localhost:{port}/secret", ("loopback",)),
    ],
)
async def test_redirect_from_public_host_to_private_address_is_blocked(
    site: Site, location: str, words: tuple[str, ...]
) -> None:
    site.page("/secret", HTML)
    site.redirect("/start", location.format(port=site.port))
    start = f"http://public.test:{site.port}/start"
    result = await get(start, policy=ONLY_SITE)
    assert_blocked(result, *words)
    assert result.http_status == 302
    assert site.hits["/start"] == 1 and site.hits["/secret"] == 0
    # the last URL fetched is the one that answered; the message names where it led
    target = URL(location.format(port=site.port))  # (as yarl writes it: IPv6 compressed)
    assert result.final_url == start
    assert result.error is not None and f"redirect to {target} refused" in result.error.message


async def test_redirect_to_a_file_url_keeps_the_url_that_answered(site: Site) -> None:
    site.redirect("/start", "file:///etc/passwd")
    result = await get(site.url("/start"), GUARDED.but(allow_private=True))
    assert result.error is not None and result.error.kind == "blocked"
    assert result.final_url == site.url("/start")
    assert "redirect to file:///etc/passwd refused" in result.error.message


async def test_socket_guard_holds_even_without_fetch_checks(site: Site) -> None:
    """A request that skips fetch()'s host check still cannot connect to 127.0.0.1."""
    site.page("/secret", HTML)
    async with open_session(GUARDED) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(site.url("/secret"))
    assert isinstance(caught.value.os_error, AddressBlocked)
    assert not site.requests


async def test_allow_private_allows_everything(site: Site) -> None:
    site.page("/ok", HTML)
    settings = GUARDED.but(allow_private=True)
    for url in (
        site.url("/ok"),
        f"http://127.1:{site.port}/ok",
        f"http://public.test:{site.port}/ok",
    ):
        result = await get(url, settings)
        assert (result.http_status, result.error) == (200, None), url
