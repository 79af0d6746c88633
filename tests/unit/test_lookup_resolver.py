"""The resolver a session looks names up with: c-ares, else a thread pool sized to it."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from og_preview.config import Settings
from og_preview.net import fetch as fetch_module
from og_preview.net import resolver as resolver_module
from og_preview.net.fetch import open_session
from og_preview.net.resolver import CaresResolver, PooledResolver, lookup_resolver

AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]


def slow_getaddrinfo(
    host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[AddrInfo]:
    """getaddrinfo() as a DNS server 100 ms away answers it."""
    time.sleep(0.1)
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]


async def timed_lookups(resolver: PooledResolver, count: int) -> float:
    started = time.perf_counter()
    try:
        await asyncio.gather(*(resolver.resolve(f"h{i}.test", 80) for i in range(count)))
    finally:
        await resolver.close()
    return time.perf_counter() - started


async def test_the_pool_keeps_as_many_lookups_in_flight_as_it_has_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    assert await timed_lookups(PooledResolver(32), 32) < 1.0  # one round of 100 ms
    assert await timed_lookups(PooledResolver(4), 32) >= 0.75  # eight rounds


async def test_the_pool_answers_like_aiohttps_threaded_resolver() -> None:
    resolver = PooledResolver(2)
    try:
        answer = await resolver.resolve("localhost", 443, socket.AF_INET)
        with pytest.raises(socket.gaierror):
            await resolver.resolve("nonexistent.invalid", 80)
    finally:
        await resolver.close()
    assert answer[0]["host"] == "127.0.0.1" and answer[0]["hostname"] == "localhost"
    assert answer[0]["port"] == 443 and answer[0]["family"] == socket.AF_INET
    assert answer[0]["flags"] == socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


async def test_c_ares_when_aiodns_is_there_else_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = lookup_resolver(8)
    await resolver.close()
    assert isinstance(resolver, CaresResolver)
    monkeypatch.setattr(resolver_module, "aiodns", None)
    resolver = lookup_resolver(8)
    await resolver.close()
    assert isinstance(resolver, PooledResolver)
    assert resolver._pool._max_workers == 8


class Recorded(PooledResolver):
    made: list[Recorded] = []  # noqa: RUF012 - a test's log

    def __init__(self, lookups: int) -> None:
        super().__init__(lookups)
        self.lookups = lookups
        self.closed = False
        Recorded.made.append(self)

    async def close(self) -> None:
        self.closed = True
        await super().close()


@pytest.mark.parametrize("allow_private", [False, True])
async def test_a_session_sizes_its_lookups_to_its_concurrency_and_closes_them(
    monkeypatch: pytest.MonkeyPatch, allow_private: bool
) -> None:
    Recorded.made.clear()
    monkeypatch.setattr(fetch_module, "lookup_resolver", Recorded)
    settings = Settings(concurrency=24, allow_private=allow_private)
    async with open_session(settings):
        (made,) = Recorded.made
        assert made.lookups == 24 and not made.closed
    assert made.closed


async def test_a_callers_resolver_is_left_open() -> None:
    resolver = Recorded(2)
    async with open_session(Settings(), resolver=resolver):
        pass
    assert not resolver.closed
    await resolver.close()
