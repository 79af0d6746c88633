"""The address policy, host spellings, and the guarding resolver (no network)."""

from __future__ import annotations

import ipaddress
import socket
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from og_preview.net.guard import (
    AddressBlocked,
    AddressPolicy,
    GuardedResolver,
    check_host,
    ip_reason,
    parse_ip,
    parse_ipv4_loose,
)
from og_preview.net.resolver import StaticResolver


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("10.0x10.1", "10.16.0.1"),
        ("255.255.255.255", "255.255.255.255"),
    ],
)
def test_loose_ipv4_spellings(text: str, address: str) -> None:
    assert parse_ipv4_loose(text) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize(
    "text",
    [
        "example.com",
        "1.2.3.4.5",
        "256.1.1.1",
        "4294967296",
        "08.0.0.1",
        "0x",
        "1..2",
        "",
        "1.2.3.x",
    ],
)
def test_not_ipv4(text: str) -> None:
    assert parse_ipv4_loose(text) is None


@pytest.mark.skipif(sys.platform != "linux", reason="compares with glibc's inet_aton")
@given(st.text(alphabet="0123456789xXabcdefABCDEF.", min_size=1, max_size=16))
def test_every_address_the_c_library_accepts_is_recognised(text: str) -> None:
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return
    assert parse_ipv4_loose(text) == expected


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_decimal_and_hex_forms_round_trip(number: int) -> None:
    address = ipaddress.IPv4Address(number)
    assert parse_ipv4_loose(str(number)) == address
    assert parse_ipv4_loose(hex(number)) == address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("127.1..", "127.0.0.1"),
    ],
)
def test_parse_ip(host: str, address: str) -> None:
    assert parse_ip(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.1.2", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata service)"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "special-purpose"),
        ("198.18.0.1", "special-purpose"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("fc00::1", "private (unique local)"),
        ("fd12:3456::1", "private (unique local)"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "IPv4-compatible (deprecated)"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata service)"),
        ("2002:7f00:1::1", "loopback"),
        ("2002:c0a8:101::1", "private"),
        ("2001::1", "special-purpose"),
        ("2001:db8::1", "special-purpose"),
    ],
)
def test_refused_addresses(address: str, reason: str) -> None:
    assert ip_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "172.32.0.1",
        "100.128.0.1",
        "2001:4860:4860::8888",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses(address: str) -> None:
    assert ip_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "2130706433 is 127.0.0.1, a loopback address"),
        ("0x7f.1", "0x7f.1 is 127.0.0.1, a loopback address"),
        ("0", "0 is 0.0.0.0, an unspecified address"),
        (
            "[::ffff:127.0.0.1]",
            "[::ffff:127.0.0.1] is ::ffff:7f00:1, a loopback address (reaching 127.0.0.1)",
        ),
        ("169.254.169.254", "169.254.169.254 is a link-local (cloud metadata service) address"),
        ("localhost", "localhost is a loopback name"),
        ("localhost.", "localhost. is a loopback name"),
        ("api.localhost", "api.localhost is a loopback name"),
        ("", "the URL has no host"),
    ],
)
def test_check_host_refuses(host: str, message: str) -> None:
    assert check_host(host) == message


@pytest.mark.parametrize(
    "host", ["example.com", "8.8.8.8", "[2606:4700::1111]", "localhost.example.com"]
)
def test_check_host_leaves_public_hosts_and_names(host: str) -> None:
    assert check_host(host) is None


def test_allow_private_and_allowed_networks() -> None:
    assert AddressPolicy(allow_private=True).check_host("127.0.0.1") is None
    assert AddressPolicy(allow_private=True).check_host("localhost") is None
    policy = AddressPolicy.with_networks(["10.1.0.0/16"])
    assert policy.check_host("10.1.2.3") is None
    assert policy.check_host("10.2.0.1") == "10.2.0.1 is a private address"


def test_socket_factory_refuses_before_creating_a_socket() -> None:
    policy = AddressPolicy()
    with pytest.raises(AddressBlocked, match=r"127\.0\.0\.1 is a loopback address"):
        policy.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with pytest.raises(AddressBlocked):
        policy.socket_factory((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)))
    sock = policy.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)))
    sock.close()


def test_address_blocked_is_an_os_error() -> None:
    error = AddressBlocked("10.0.0.1 is a private address")
    assert isinstance(error, OSError)
    assert error.reason == "10.0.0.1 is a private address"


async def test_guarded_resolver_drops_refused_addresses() -> None:
    inner = StaticResolver({"mixed.test": ["10.0.0.1", "93.184.216.34", "::1", "2606:4700::1111"]})
    resolver = GuardedResolver(AddressPolicy(), inner)
    kept = await resolver.resolve("mixed.test", 443)
    assert [r["host"] for r in kept] == ["93.184.216.34", "2606:4700::1111"]
    assert {r["port"] for r in kept} == {443}


async def test_guarded_resolver_refuses_when_nothing_is_left() -> None:
    resolver = GuardedResolver(AddressPolicy(), StaticResolver({"evil.test": ["127.0.0.1", "::1"]}))
    with pytest.raises(AddressBlocked, match=r"evil\.test resolves to 127\.0\.0\.1, a loopback"):
        await resolver.resolve("evil.test", 80)


async def test_guarded_resolver_passes_dns_failures_through() -> None:
    resolver = GuardedResolver(AddressPolicy(), StaticResolver({}))
    with pytest.raises(socket.gaierror):
        await resolver.resolve("nowhere.test", 80)
