"""How og-preview looks names up: the resolvers `guard.GuardedResolver` wraps.

`lookup_resolver()` is what a session uses: c-ares (aiohttp's `AsyncResolver`, as
`CaresResolver`) when aiodns is installed, so every request in flight can wait for its
own lookup; else getaddrinfo() on a pool of threads of its own (`PooledResolver`).
`StaticResolver` answers some names from a table, like curl's `--resolve`. None of them
judges an address: the guard does, whatever they return.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import AsyncResolver

try:
    import aiodns
except ImportError:  # pragma: no cover - aiodns is a dependency; a broken install falls back
    aiodns = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LOOKUPS",
    "CaresResolver",
    "PooledResolver",
    "StaticResolver",
    "lookup_resolver",
]

DEFAULT_LOOKUPS: Final = 32  # lookups in flight when the caller does not say (== concurrency)
_AI_ADDRCONFIG: Final = socket.AI_ADDRCONFIG & getattr(socket, "AI_MASK", -1)
_NUMERIC_FLAGS: Final = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
_NAME_FLAGS: Final = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV


def _cares_to_gai() -> dict[int, int]:
    """c-ares status → the getaddrinfo() error glibc gives for the same DNS answer, so a
    failed lookup reads (and is retried) alike whichever resolver made it."""
    if aiodns is None:  # pragma: no cover
        return {}
    from pycares import errno as ares

    nodata = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)
    return {
        ares.ARES_ENOTFOUND: socket.EAI_NONAME,  # NXDOMAIN: the name does not exist
        ares.ARES_ENONAME: socket.EAI_NONAME,
        ares.ARES_EBADNAME: socket.EAI_NONAME,
        ares.ARES_ENODATA: nodata,  # the name exists, without an address
        # the DNS server failed or did not answer: another try may succeed
        ares.ARES_ESERVFAIL: socket.EAI_AGAIN,
        ares.ARES_ETIMEOUT: socket.EAI_AGAIN,
        ares.ARES_ECONNREFUSED: socket.EAI_AGAIN,
        ares.ARES_EREFUSED: socket.EAI_AGAIN,
        ares.ARES_EOF: socket.EAI_AGAIN,
        ares.ARES_EBADRESP: socket.EAI_AGAIN,
        ares.ARES_EFORMERR: socket.EAI_AGAIN,
    }


_GAI_ERRNO: Final = _cares_to_gai()


class CaresResolver(AbstractResolver):
    """aiohttp's `AsyncResolver` (aiodns, c-ares): lookups on the event loop, any number
    in flight, `/etc/hosts` and `localhost` answered as getaddrinfo() does.

    Its failures are raised as `socket.gaierror` with the errno getaddrinfo() would give
    (`EAI_NONAME` for a name that does not exist, `EAI_AGAIN` for a DNS server that
    failed or timed out), the c-ares message kept: callers classify one kind of error.
    `options` (e.g. `nameservers=["127.0.0.1:5353"]`) go to `aiodns.DNSResolver`.
    """

    def __init__(self, **options: Any) -> None:
        if aiodns is None:  # pragma: no cover
            raise RuntimeError("CaresResolver needs the aiodns package")
        # no options: the event loop's shared c-ares channel (aiohttp's manager)
        self._inner = AsyncResolver(None, **options)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            return await self._inner.resolve(host, port, family)
        except OSError as exc:
            cause = exc.__cause__
            if exc.errno is not None or not isinstance(cause, aiodns.error.DNSError):
                raise
            code = _GAI_ERRNO.get(cause.args[0] if cause.args else -1, socket.EAI_FAIL)
            raise socket.gaierror(code, exc.strerror or str(cause)) from cause

    async def close(self) -> None:
        await self._inner.close()


class PooledResolver(AbstractResolver):
    """getaddrinfo() on a pool of `lookups` threads of its own.

    aiohttp's `ThreadedResolver` uses the loop's default executor (a few threads), so
    only that many lookups are in flight however many requests wait for one.
    """

    def __init__(self, lookups: int = DEFAULT_LOOKUPS) -> None:
        self._pool = ThreadPoolExecutor(max(1, lookups), thread_name_prefix="og-preview-dns")

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(
            self._pool,
            socket.getaddrinfo,
            host,
            port,
            family,
            socket.SOCK_STREAM,
            0,
            _AI_ADDRCONFIG,
        )
        results: list[ResolveResult] = []
        for info_family, _, proto, _, address in infos:
            if info_family == socket.AF_INET6:
                if len(address) < 3:  # no IPv6 in this Python build
                    continue
                if address[3]:  # a scope id (link-local): the name keeps it ("fe80::1%eth0")
                    name, service = await loop.run_in_executor(
                        self._pool, socket.getnameinfo, address, _NAME_FLAGS
                    )
                    address = (name, int(service))
            elif info_family != socket.AF_INET:
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=str(address[0]),
                    port=int(address[1]),
                    family=info_family,
                    proto=proto,
                    flags=_NUMERIC_FLAGS,
                )
            )
        return results

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def lookup_resolver(lookups: int = DEFAULT_LOOKUPS) -> AbstractResolver:
    """The resolver a session looks names up with, `lookups` of them in flight at once.

    c-ares through aiodns (aiohttp's recommended `AsyncResolver`) when installed: a
    lookup costs a socket read on the event loop, not a thread, so every request
    can wait for its own. Otherwise getaddrinfo() on `lookups` threads. Either way
    `GuardedResolver` judges what it returns. Call from a running event loop.
    """
    return CaresResolver() if aiodns is not None else PooledResolver(lookups)


class StaticResolver(AbstractResolver):
    """Answer some names from a table (like curl's `--resolve`), others via `fallback`.

    `StaticResolver({"example.test": ["127.0.0.1"]})` pins a name to
    addresses; the guard still judges whatever it returns.
    """

    def __init__(
        self, table: dict[str, list[str]], fallback: AbstractResolver | None = None
    ) -> None:
        self.table = {name.lower().rstrip("."): addrs for name, addrs in table.items()}
        self._fallback = fallback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self.table.get(host.lower().rstrip("."))
        if addresses is None:
            if self._fallback is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return await self._fallback.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()
