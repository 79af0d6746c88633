"""Which addresses og-preview may connect to, enforced where sockets are made.

Three layers, all driven by one `AddressPolicy`:

1. `AddressPolicy.check_host` judges a URL's host before anything is sent:
   IP literals in every spelling the OS accepts (`2130706433`, `0x7f.1`,
   `127.1`, `[::ffff:127.0.0.1]`) and `localhost` names.
2. `GuardedResolver` resolves names, then drops blocked addresses; the
   survivors are the only addresses aiohttp connects to (and caches), so
   there is no window for DNS rebinding. The names themselves are looked up
   by `lookup_resolver()`: c-ares (aiohttp's `AsyncResolver`) when aiodns is
   installed, so every request in flight can wait for its own lookup.
3. `AddressPolicy.socket_factory` re-checks the very address each socket is
   about to connect to: the last word, whatever path the address came by.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import AsyncResolver

try:
    import aiodns
except ImportError:  # pragma: no cover - aiodns is a dependency; a broken install falls back
    aiodns = None  # type: ignore[assignment]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES: Final = frozenset({"http", "https"})

_NET = ipaddress.ip_network
_CGNAT: Final = _NET("100.64.0.0/10")
_THIS_NETWORK: Final = _NET("0.0.0.0/8")
_PRIVATE_V4: Final = (_NET("10.0.0.0/8"), _NET("172.16.0.0/12"), _NET("192.168.0.0/16"))
_METADATA: Final = ipaddress.IPv4Address("169.254.169.254")
_V4_COMPATIBLE: Final = _NET("::/96")
_NAT64: Final = _NET("64:ff9b::/96")
_UNIQUE_LOCAL: Final = _NET("fc00::/7")
# One part of an inet_aton() address: hex (0x..), octal (0..) or decimal.
_PART: Final = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


class AddressBlocked(OSError):
    """A connection to a refused address was about to be made."""

    MARKER: Final = "blocked address"

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.MARKER}: {reason}")
        self.reason = reason


def _part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:], 16)
    return int(part, 8 if part.startswith("0") else 10)


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any spelling inet_aton() accepts, else None.

    `127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433` and `0` are all addresses
    to the C library, even though `ipaddress` only reads dotted quads.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    values = [_part_value(p) for p in parts]
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (5 - len(values))):
        return None
    number = last
    for i, value in enumerate(head):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host denotes when it is an IP literal, else None.

    Accepts brackets, trailing dots, `%25` zone ids and the loose IPv4 forms.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = unquote(text).rstrip(".")
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return parse_ipv4_loose(text)


def _v4_reason(ip: ipaddress.IPv4Address) -> str | None:
    if ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip == _METADATA:
        return "link-local (cloud metadata service)"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _CGNAT:
        return "shared (carrier-grade NAT)"
    if any(ip in net for net in _PRIVATE_V4):
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "special-purpose"
    return None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 (64:ff9b::/96) address reaches."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour


def _v6_reason(ip: ipaddress.IPv6Address) -> str | None:
    if (embedded := embedded_ipv4(ip)) is not None:
        return _v4_reason(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip in _V4_COMPATIBLE:
        return "IPv4-compatible (deprecated)"
    if ip.is_link_local:
        return "link-local"
    if ip.is_site_local:
        return "site-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _UNIQUE_LOCAL:
        return "private (unique local)"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "special-purpose"
    return None


def ip_reason(ip: IPAddress) -> str | None:
    """Why `ip` is refused (e.g. "loopback"), or None when it is a public address."""
    return _v4_reason(ip) if isinstance(ip, ipaddress.IPv4Address) else _v6_reason(ip)


def _is_localhost_name(name: str) -> bool:
    name = name.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Refuse non-public addresses unless `allow_private`; `allowed` networks are exempt.

    `allowed` lets a deployment (or a test) open specific networks, e.g. an
    intranet range, without opening everything.
    """

    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def with_networks(
        cls, networks: Iterable[str], *, allow_private: bool = False
    ) -> AddressPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n) for n in networks))

    def refusal(self, ip: IPAddress) -> str | None:
        """None when `ip` may be connected, else what it is ("a loopback address")."""
        if self.allow_private or any(ip in net for net in self.allowed):
            return None
        reason = ip_reason(ip)
        if reason is None:
            return None
        article = "an" if reason[0] in "aeiouIU" else "a"
        embedded = embedded_ipv4(ip)
        return f"{article} {reason} address" + (f" (reaching {embedded})" if embedded else "")

    def check_ip(self, ip: IPAddress) -> str | None:
        """None when `ip` may be connected, else a one-line reason."""
        refusal = self.refusal(ip)
        return f"{ip} is {refusal}" if refusal else None

    def check_host(self, host: str) -> str | None:
        """A reason when the URL host itself is refused; None for names left to DNS."""
        if self.allow_private:
            return None
        if not host.strip("[]. "):
            return "the URL has no host"
        ip = parse_ip(host)
        if ip is not None:
            refusal = self.refusal(ip)
            if refusal is None:
                return None
            spelled = host.strip("[]").lower()
            return f"{ip} is {refusal}" if spelled == str(ip) else f"{host} is {ip}, {refusal}"
        if _is_localhost_name(host):
            return f"{host} is a loopback name"
        return None

    def check_address(self, address: str, name: str | None = None) -> None:
        """Raise `AddressBlocked` unless `address` (numeric, as resolved) may be connected."""
        ip = parse_ip(address)
        refusal = "not an IP address" if ip is None else self.refusal(ip)
        if refusal:
            shown = ip or address
            raise AddressBlocked(
                f"{name} resolves to {shown}, {refusal}" if name else f"{shown} is {refusal}"
            )

    def socket_factory(
        self, addr_info: tuple[int, int, int, str, tuple[object, ...]]
    ) -> socket.socket:
        """aiohttp's `socket_factory`: refuse before the socket exists, else a plain socket."""
        family, type_, proto, _, sockaddr = addr_info
        self.check_address(str(sockaddr[0]))
        return socket.socket(family=family, type=type_, proto=proto)


DEFAULT_POLICY: Final = AddressPolicy()


def check_host(host: str) -> str | None:
    """A reason when the literal `host` is refused by the default policy, else None."""
    return DEFAULT_POLICY.check_host(host)


class GuardedResolver(AbstractResolver):
    """Resolve with `inner`, keep only the addresses `policy` allows.

    When every address is refused, `AddressBlocked` is raised (aiohttp wraps
    it in `ClientConnectorDNSError`; fetch maps it to kind `blocked`).
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner if inner is not None else lookup_resolver()
        self._owns_inner = inner is None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        first: AddressBlocked | None = None
        for result in results:
            try:
                self.policy.check_address(result["host"], name=host)
            except AddressBlocked as exc:
                first = first or exc
            else:
                kept.append(result)
        if not kept:
            raise first or AddressBlocked(f"{host} resolves to no address")
        return kept

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()


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


# -- name lookups -------------------------------------------------------------------------

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
