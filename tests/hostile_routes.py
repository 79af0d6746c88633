"""The hostile routes: what each does and what og-preview should make of it.

Served by `tests.hostile.Hostile`; iterated by the tests and by
scripts/hostile_report.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from aiohttp import compression_utils

HAS_BROTLI: Final[bool] = compression_utils.HAS_BROTLI
HAS_ZSTD: Final[bool] = getattr(compression_utils, "HAS_ZSTD", False)  # (aiohttp >= 3.12.?)

Server = Literal["main", "victim", "raw"]
# Spellings of 127.0.0.1 (and the unspecified address, which reaches it on Linux).
PRIVATE_SPELLINGS: Final = ("2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "0", "localhost.")


@dataclass(frozen=True, slots=True)
class Hit:
    server: Server
    path: str  # path and query, %-decoded
    at: float  # time.monotonic()


@dataclass(frozen=True, slots=True)
class HostileRoute:
    """One hostile input: a URL template and what og-preview should make of it.

    `template` is formatted with `main`, `raw` (base URLs) and `victim_port`.
    `expect` is the outcome with private addresses allowed (the hostile server
    is on loopback): "processed" or an error kind. `guarded` is the outcome
    without it, the hostile servers standing for public hosts (see `PublicPort`),
    when that differs: "blocked" for routes aiming at the victim.
    `leaves_loopback` routes would connect off this machine when private
    addresses are allowed, so they only run guarded.
    """

    name: str
    template: str
    what: str
    expect: str
    guarded: str | None = None
    leaves_loopback: bool = False

    @property
    def guarded_expect(self) -> str:
        return self.guarded or self.expect


def _routes() -> list[HostileRoute]:
    r = HostileRoute
    routes = [
        r("trickle", "{main}/trickle", "headers, then 1 byte every 0.5 s, forever", "timeout"),
        r("endless", "{main}/endless", "endless fast body, no metadata", "too_large"),
        r("big", "{main}/big", "50 MB page, OG tags in the head", "processed"),
        r(
            "gzip-bomb",
            "{main}/bomb/gzip",
            "gzip bomb: 4 MB on the wire, 4 GiB inflated",
            "processed",
        ),
        r(
            "deflate-bomb",
            "{main}/bomb/deflate",
            "deflate bomb: 4 MB on the wire, 4 GiB inflated",
            "processed",
        ),
        r(
            "br-bomb",
            "{main}/bomb/br",
            "brotli bomb" if HAS_BROTLI else "Content-Encoding: br (aiohttp here lacks brotli)",
            "processed" if HAS_BROTLI else "decode",
        ),
        r(
            "zstd-bomb",
            "{main}/bomb/zstd",
            "zstd bomb" if HAS_ZSTD else "Content-Encoding: zstd (aiohttp here lacks zstd)",
            "processed" if HAS_ZSTD else "decode",
        ),
        r(
            "redirect-loop",
            "{main}/redirect/loop/a",
            "redirect loop a → b → a",
            "too_many_redirects",
        ),
        r("redirect-25", "{main}/redirect/hops/25", "25-hop redirect chain", "too_many_redirects"),
        r(
            "to-other-port",
            "{main}/redirect/other-port",
            "redirect to http://127.0.0.1:<victim port>/",
            "processed",
            "blocked",
        ),
        r(
            "to-metadata",
            "{main}/redirect/metadata",
            "redirect to http://169.254.169.254/latest/meta-data/",
            "blocked",
            "blocked",
            leaves_loopback=True,
        ),
        r("to-file", "{main}/redirect/file", "redirect to file:///etc/passwd", "blocked"),
        r("500-then-200", "{main}/status/500-then-200", "500, then 200", "processed"),
        r(
            "503-retry-after-1",
            "{main}/status/503-retry-after-1",
            "503 Retry-After: 1, then 200",
            "processed",
        ),
        r(
            "429-retry-after-1",
            "{main}/status/429-retry-after-1",
            "429 Retry-After: 1, then 200",
            "processed",
        ),
        r(
            "429-retry-after-3600",
            "{main}/status/429-retry-after-3600",
            "429 Retry-After: 3600, always",
            "http",
        ),
        r("404", "{main}/status/404", "404 Not Found", "http"),
        r("410", "{main}/status/410", "410 Gone", "http"),
        r("empty", "{main}/empty", "200 with an empty body", "processed"),
        r("binary", "{main}/binary", "200 KB of random bytes as text/html", "processed"),
        r("og-after-3mb", "{main}/og-after-3mb", "OG tags only after 3 MB of body", "too_large"),
        r("deep-html", "{main}/deep-html", "100,000 nested <div>s", "processed"),
        r("deep-jsonld", "{main}/deep-jsonld", "JSON-LD nested 100,000 deep", "processed"),
        r("control-title", "{main}/control-title", "control characters in og:title", "processed"),
        r("huge-title", "{main}/huge-title", "a 1 MB og:title", "processed"),
        r("jsonld-only", "{main}/jsonld-only", "JSON-LD only, no meta tags", "processed"),
        r(
            "charset-header-lies",
            "{main}/charset/header-lies",
            "header says utf-8, bytes are cp1252",
            "processed",
        ),
        r(
            "charset-meta-lies",
            "{main}/charset/meta-lies",
            "meta says shift_jis, bytes are utf-8",
            "processed",
        ),
        r(
            "truncated",
            "{raw}/truncated",
            "Content-Length 100000, 2000 bytes sent, close",
            "connect",
        ),
        r("reset", "{raw}/reset", "connection reset (RST) mid-body", "connect"),
        r("http10", "{raw}/http10", "HTTP/1.0, no Content-Length, close-delimited", "processed"),
        r("huge-header", "{raw}/huge-header", "a 100 KB header line", "connect"),
        r("garbage", "{raw}/garbage", "not HTTP at all", "connect"),
    ]
    for spelling in PRIVATE_SPELLINGS:
        target = f"http://{spelling}:{{victim_port}}/"
        # this system's resolver does not know "localhost." (with the dot)
        allowed = "dns" if spelling == "localhost." else "processed"
        routes.append(
            r(f"input {spelling}", target, "private address as direct input", allowed, "blocked")
        )
        routes.append(
            r(
                f"to {spelling}",
                f"{{main}}/redirect/spelled/{spelling}",
                f"redirect to http://{spelling}:<victim port>/",
                allowed,
                "blocked",
            )
        )
    return routes


ROUTES: Final = _routes()
