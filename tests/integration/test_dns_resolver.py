"""Name lookups through c-ares (aiohttp's AsyncResolver) against a real DNS server.

A tiny DNS server (an asyncio datagram endpoint packing dnslib records) listens on
127.0.0.1 on a random UDP port; `CaresResolver(nameservers=["127.0.0.1:PORT"])`
asks it. It answers from a table after a delay, fails with SERVFAIL or stays silent
for some names, and says NXDOMAIN for the rest. Nothing is ever sent beyond
127.0.0.1: a name answered with 10.0.0.1 is refused before any socket exists, and
with private addresses allowed it is only resolved, never fetched.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from aiohttp.abc import AbstractResolver

from og_preview.config import Settings
from og_preview.net.fetch import FetchResult, fetch, open_session
from og_preview.net.guard import AddressBlocked, AddressPolicy, GuardedResolver
from og_preview.net.resolver import CaresResolver, PooledResolver, lookup_resolver
from og_preview.record import ErrorKind
from tests.site import Site

dnslib = pytest.importorskip("dnslib")

pytestmark = pytest.mark.integration

SERVFAIL = "servfail.test"
SILENT = "silent.test"
ONLY_LOOPBACK = AddressPolicy.with_networks(["127.0.0.0/8"])  # "public" here: the test site
GUARDED = Settings(backoff_initial=0.01, backoff_max=0.02, timeout=5, retries=2)


class DelayedDns(asyncio.DatagramProtocol):
    """A DNS server answering A queries from `table` after `delay` seconds.

    AAAA (and other types) of a known name: an empty answer. `SERVFAIL`: SERVFAIL;
    `SILENT`: no answer; any other name: NXDOMAIN. Counts queries per name and the
    most ever waiting for their answer at once.
    """

    def __init__(self, table: dict[str, str], delay: float) -> None:
        self.table = table
        self.delay = delay
        self.queries: Counter[str] = Counter()
        self.waiting = 0
        self.most_waiting = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def reply(self, data: bytes) -> bytes | None:
        query = dnslib.DNSRecord.parse(data)
        question = query.q
        name = str(question.qname).rstrip(".").lower()
        self.queries[name] += 1
        if name == SILENT:
            return None
        answer = query.reply()
        if name == SERVFAIL:
            answer.header.rcode = dnslib.RCODE.SERVFAIL
        elif name not in self.table:
            answer.header.rcode = dnslib.RCODE.NXDOMAIN
        elif question.qtype == dnslib.QTYPE.A:
            record = dnslib.A(self.table[name])
            answer.add_answer(dnslib.RR(question.qname, dnslib.QTYPE.A, rdata=record, ttl=60))
        return bytes(answer.pack())

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        packet = self.reply(data)
        if packet is None:
            return
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        asyncio.get_running_loop().call_later(self.delay, self.send, packet, addr)

    def send(self, packet: bytes, addr: tuple[str | int, ...]) -> None:
        self.waiting -= 1
        if self.transport is not None:
            self.transport.sendto(packet, addr)


class DnsServer:
    def __init__(self, protocol: DelayedDns, port: int) -> None:
        self.protocol = protocol
        self.port = port

    def resolver(self, **options: object) -> CaresResolver:
        """c-ares asking only this server (and, like getaddrinfo, /etc/hosts first)."""
        return CaresResolver(nameservers=[f"127.0.0.1:{self.port}"], **options)


@pytest.fixture
async def dns() -> AsyncIterator[DnsServer]:
    names = {f"h{i}.test": "127.0.0.1" for i in range(32)}
    names |= {"site.test": "127.0.0.1", "xn--bcher-kva.test": "127.0.0.1"}
    names |= {"private.test": "10.0.0.1"}
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: DelayedDns(names, delay=0.01), local_addr=("127.0.0.1", 0)
    )
    try:
        yield DnsServer(protocol, transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything connects a socket (nothing must reach 10.0.0.1)."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"a connection was attempted to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


async def get(url: str, resolver: AbstractResolver, settings: Settings = GUARDED) -> FetchResult:
    """Fetch `url` looking names up with `resolver` (closed after: a session leaves a
    resolver it was given open)."""
    try:
        async with open_session(settings, policy=ONLY_LOOPBACK, resolver=resolver) as session:
            return await fetch(url, session, settings)
    finally:
        await resolver.close()


# -- lookups in flight ---------------------------------------------------------------


async def test_lookups_of_distinct_names_run_concurrently(dns: DnsServer) -> None:
    dns.protocol.delay = 0.1
    resolver = dns.resolver()
    try:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(resolver.resolve(f"h{i}.test", 80, socket.AF_INET) for i in range(32))
        )
        elapsed = time.perf_counter() - started
    finally:
        await resolver.close()
    assert [[a["host"] for a in answer] for answer in answers] == [["127.0.0.1"]] * 32
    assert elapsed < 1.0, f"32 lookups of 100 ms took {elapsed:.2f}s: not concurrent"
    assert dns.protocol.most_waiting >= 32


async def test_a_session_keeps_as_many_lookups_in_flight_as_requests(
    dns: DnsServer, site: Site
) -> None:
    dns.protocol.delay = 0.1
    urls = [
        site.page(f"/p{i}", "<title>x</title>").replace("127.0.0.1", f"h{i}.test")
        for i in range(32)
    ]
    settings = GUARDED.but(concurrency=32, per_host=1)
    resolver = dns.resolver()
    started = time.perf_counter()
    try:
        async with open_session(settings, policy=ONLY_LOOPBACK, resolver=resolver) as session:
            results = await asyncio.gather(*(fetch(url, session, settings) for url in urls))
    finally:
        await resolver.close()
    elapsed = time.perf_counter() - started
    assert [r.http_status for r in results] == [200] * 32, [r.error for r in results]
    assert elapsed < 1.5, f"32 fetches behind 100 ms lookups took {elapsed:.2f}s"
    assert dns.protocol.most_waiting >= 32


# -- the guard judges what c-ares returns ------------------------------------------------


@pytest.mark.usefixtures("no_connections")
async def test_a_name_resolving_to_a_private_address_is_blocked(dns: DnsServer) -> None:
    result = await get("http://private.test/", dns.resolver())
    assert result.error is not None
    assert result.error.kind is ErrorKind.BLOCKED
    assert result.error.message == "private.test resolves to 10.0.0.1, a private address"
    assert result.attempts == 1 and result.http_status is None


async def test_a_private_address_is_resolved_when_allowed(dns: DnsServer) -> None:
    resolver = dns.resolver()
    try:
        allowed = GuardedResolver(AddressPolicy(allow_private=True), resolver)
        answer = await allowed.resolve("private.test", 80, socket.AF_INET)
        with pytest.raises(AddressBlocked, match="private address"):
            await GuardedResolver(AddressPolicy(), resolver).resolve("private.test")
    finally:
        await resolver.close()
    assert [a["host"] for a in answer] == ["10.0.0.1"]


async def test_a_name_resolving_to_an_allowed_address_is_fetched(
    dns: DnsServer, site: Site
) -> None:
    url = site.page("/hello", "<title>hello</title>").replace("127.0.0.1", "site.test")
    result = await get(url, dns.resolver())
    assert result.error is None and result.http_status == 200
    assert site.requests[0].headers["Host"] == f"site.test:{site.port}"
    assert dns.protocol.queries["site.test"] >= 1


async def test_an_idn_host_is_looked_up_in_punycode(dns: DnsServer, site: Site) -> None:
    url = site.page("/idn", "<title>idn</title>").replace("127.0.0.1", "bücher.test")
    result = await get(url, dns.resolver())
    assert result.error is None and result.http_status == 200
    assert dns.protocol.queries["xn--bcher-kva.test"] >= 1


# -- failures: what kind, and whether another attempt is made -----------------------------


async def test_nxdomain_is_kind_dns_and_not_retried(dns: DnsServer) -> None:
    result = await get("http://missing.test/", dns.resolver())
    assert result.error is not None
    assert result.error.kind is ErrorKind.DNS
    assert result.error.message.startswith("could not resolve missing.test (")
    assert result.attempts == 1


async def test_servfail_is_kind_dns_and_retried(dns: DnsServer) -> None:
    result = await get(f"http://{SERVFAIL}/", dns.resolver(tries=1))
    assert result.error is not None
    assert result.error.kind is ErrorKind.DNS
    assert result.error.message.startswith(f"could not resolve {SERVFAIL} (")
    assert result.attempts == 1 + GUARDED.retries


async def test_a_dns_server_that_never_answers_is_retried(dns: DnsServer) -> None:
    result = await get(f"http://{SILENT}/", dns.resolver(timeout=0.1, tries=1))
    assert result.error is not None
    assert result.error.kind is ErrorKind.DNS
    assert result.attempts == 1 + GUARDED.retries


async def test_failures_are_gaierrors_as_getaddrinfo_gives_them(dns: DnsServer) -> None:
    resolver = dns.resolver(timeout=0.1, tries=1)
    try:
        with pytest.raises(socket.gaierror) as missing:
            await resolver.resolve("missing.test")
        with pytest.raises(socket.gaierror) as failing:
            await resolver.resolve(SERVFAIL)
        with pytest.raises(socket.gaierror) as silent:
            await resolver.resolve(SILENT)
    finally:
        await resolver.close()
    assert missing.value.errno == socket.EAI_NONAME
    assert failing.value.errno == socket.EAI_AGAIN
    assert silent.value.errno == socket.EAI_AGAIN


# -- the system's resolver configuration --------------------------------------------------


async def test_localhost_resolves_to_loopback_and_the_guard_refuses_it() -> None:
    resolver = lookup_resolver()
    try:
        answer = await resolver.resolve("localhost", 80, socket.AF_UNSPEC)
        with pytest.raises(AddressBlocked, match="loopback"):
            await GuardedResolver(AddressPolicy(), resolver).resolve("localhost")
    finally:
        await resolver.close()
    assert "127.0.0.1" in [a["host"] for a in answer]
    assert {a["port"] for a in answer} == {80}


def hosts_file_names() -> list[str]:
    """Names /etc/hosts gives an IPv4 address (and that no other line also names)."""
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return []
    names: Counter[str] = Counter()
    for line in lines:
        address, *aliases = line.split("#", 1)[0].split() or [""]
        if "." in address and ":" not in address:
            names.update(alias.lower() for alias in aliases)
    return sorted(name for name, count in names.items() if count == 1)[:5]


async def test_numeric_hosts_and_etc_hosts_names_resolve_as_getaddrinfo_does() -> None:
    names = hosts_file_names()
    cares, system = lookup_resolver(), PooledResolver(4)
    try:
        for host in ["127.0.0.1", *names]:
            want = {a["host"] for a in await system.resolve(host, 80, socket.AF_INET)}
            got = {a["host"] for a in await cares.resolve(host, 80, socket.AF_INET)}
            assert got == want, host
    finally:
        await cares.close()
        await system.close()
