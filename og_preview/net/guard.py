"""Which addresses og-preview may connect to, enforced where sockets are made.

Three layers, all driven by one `AddressPolicy`:

1. `AddressPolicy.check_host` judges a URL's host before anything is sent:
   IP literals in every spelling the OS accepts (`2130706433`, `0x7f.1`,
   `127.1`, `[::ffff:127.0.0.1]`) and `localhost` names.
2. `GuardedResolver` resolves names, then drops blocked addresses; the
   survivors are the only addresses aiohttp connects to (and caches), so
   there is no window for DNS rebinding. The names themselves are looked up
   by `resolver.lookup_resolver()`: c-ares (aiohttp's `AsyncResolver`) when
   aiodns is installed, so every request in flight can wait for its own lookup.
3. `AddressPolicy.socket_factory` re-checks the very address each socket is
   about to connect to: the last word, whatever path the address came by.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from aiohttp.abc import AbstractResolver, ResolveResult

# (`StaticResolver` and `lookup_resolver` live in `resolver`; imported from here too)
from .resolver import StaticResolver as StaticResolver
from .resolver import lookup_resolver as lookup_resolver

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
