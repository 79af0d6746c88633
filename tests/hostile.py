"""A fault-injection server on 127.0.0.1: every way a network or a page can be hostile.

`Hostile` runs, on its own thread and event loop (like `tests.site.Site`):

- `main`, an aiohttp server with the hostile routes of `ROUTES` (trickles, endless
  and huge bodies, compression bombs, redirect traps, flaky statuses, pages that
  break parsers, lying charsets);
- `victim`, an aiohttp server on another port standing for something that must
  never be reached (an internal service): every private-address spelling and
  redirect target points at it;
- `raw`, a tiny asyncio TCP server for what aiohttp would refuse to send:
  truncated bodies, resets, HTTP/1.0, oversized header lines, garbage.

Every request that reaches any of the three is logged (`Hostile.log`) with the
server, path and time, so tests can assert what arrived, and what did not.
Every server-side loop is bounded, and `stop()` closes every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import unquote

from aiohttp import web
from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD

from og_preview.netguard import AddressPolicy

Server = Literal["main", "victim", "raw"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawHandler = Callable[[asyncio.StreamWriter], Awaitable[None]]

MIB: Final = 1024 * 1024
HTML: Final = "text/html; charset=utf-8"
TRICKLE_EVERY: Final = 0.5  # seconds between two bytes of /trickle
TRICKLE_MAX: Final = 240  # bytes: two minutes, then the "forever" ends anyway
ENDLESS_MAX: Final = 4096 * MIB  # the "endless" body stops after 4 GiB
BIG_SIZE: Final = 50_000_000
BOMB_MIB: Final = 4096  # inflated size of the compression bombs: 4 GiB
DEEP: Final = 100_000
SECRET: Final = "<html><head><title>internal secret</title></head><body>secret</body></html>"
# Spellings of 127.0.0.1 (and the unspecified address, which reaches it on Linux).
PRIVATE_SPELLINGS: Final = ("2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "0", "localhost.")
OG_HEAD: Final = (
    "<html><head><title>{t}</title><meta property='og:title' content='{t}'>"
    "<meta property='og:description' content='What {t} does.'></head><body>"
)


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


# -- compression bombs, built in milliseconds -----------------------------------------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]


def crc32_zeros(crc: int, count: int) -> int:
    """`zlib.crc32(bytes(count), crc)` in O(log count) (zlib's crc32_combine trick)."""
    op = [0xEDB88320] + [1 << row for row in range(31)]  # one zero bit
    for _ in range(3):
        op = _gf2_square(op)  # one zero byte
    register = crc ^ 0xFFFFFFFF
    while count:
        if count & 1:
            register = _gf2_times(op, register)
        op = _gf2_square(op)
        count >>= 1
    return register ^ 0xFFFFFFFF


def raw_deflate_zeros(prefix: bytes, zeros_mib: int) -> bytes:
    """Raw deflate data for `prefix` + `zeros_mib` MiB of NUL bytes.

    Compressing gigabytes takes seconds; but once its window is all zeros, the
    compressor emits the same byte-aligned block (sync flush) for every MiB,
    so that block is compressed once and repeated.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [packer.compress(prefix) + packer.flush(zlib.Z_SYNC_FLUSH)]
    one = bytes(MIB)
    blocks: list[bytes] = []
    for _ in range(min(zeros_mib, 16)):
        blocks.append(packer.compress(one) + packer.flush(zlib.Z_SYNC_FLUSH))
        if len(blocks) >= 2 and blocks[-1] == blocks[-2]:
            break
    rest = zeros_mib - len(blocks)
    if rest and blocks[-1] != blocks[-2]:
        raise RuntimeError("the deflate stream of zeros did not settle")
    repeated = blocks[-1] * rest if rest else b""
    return b"".join([*parts, *blocks, repeated, b"\x03\x00"])  # + an empty final block


def gzip_bomb(prefix: bytes, zeros_mib: int = BOMB_MIB) -> bytes:
    size = len(prefix) + zeros_mib * MIB
    crc = crc32_zeros(zlib.crc32(prefix), zeros_mib * MIB)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + raw_deflate_zeros(prefix, zeros_mib) + trailer


def deflate_bomb(prefix: bytes, zeros_mib: int = BOMB_MIB) -> bytes:
    """Content-Encoding: deflate is the zlib format (RFC 1950)."""
    adler = zlib.adler32(prefix)
    low, high = adler & 0xFFFF, adler >> 16
    high = (high + (zeros_mib * MIB % 65521) * low) % 65521
    return b"\x78\xda" + raw_deflate_zeros(prefix, zeros_mib) + struct.pack(">I", high << 16 | low)


def _brotli_bomb(prefix: bytes) -> bytes | None:
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        return None
    packer = brotli.Compressor(quality=1)
    parts = [packer.process(prefix)]
    one = bytes(MIB)
    parts += [packer.process(one) for _ in range(256)]  # 256 MiB: brotli is slower to build
    return b"".join([*parts, packer.finish()])


def _zstd_bomb(prefix: bytes) -> bytes | None:
    try:
        from backports import zstd  # type: ignore[import-not-found]
    except ImportError:
        return None
    packer = zstd.ZstdCompressor()
    parts = [packer.compress(prefix)] + [packer.compress(bytes(MIB)) for _ in range(256)]
    return b"".join([*parts, packer.flush()])


# -- pages that are hard on parsers ------------------------------------------------------


def og_page(title: str, body: str = "") -> str:
    return OG_HEAD.format(t=title) + body + "</body></html>"


def og_after(prefix_bytes: int) -> bytes:
    filler = ("<p>" + "lorem ipsum dolor sit amet " * 36 + "</p>\n").encode()
    head = b"<html><body>"
    body = head + filler * (prefix_bytes // len(filler) + 1)
    tail = b"<meta property='og:title' content='Late OG'><title>Late</title></body></html>"
    return body + tail


def deep_html(depth: int = DEEP) -> bytes:
    return (og_page("Deep HTML", "<div>" * depth + "bottom" + "</div>" * depth)).encode()


def deep_jsonld(depth: int = DEEP) -> bytes:
    nested = '{"@type": "Thing", "a": ' * depth + "1" + "}" * depth
    arrays = "[" * depth + "]" * depth
    scripts = "".join(f"<script type='application/ld+json'>{s}</script>" for s in (nested, arrays))
    return (
        "<html><head><title>Deep JSON-LD</title>" + scripts + "</head><body></body></html>"
    ).encode()


CONTROL_TITLE: Final = "Hello\x01\x02\x07\x1b[31m\x08World\x7f\u200b &#1;&#x1b;&#127; end"


def control_page() -> bytes:
    return (
        "<html><head><title>" + CONTROL_TITLE + "</title>"
        "<meta property='og:title' content='" + CONTROL_TITLE + "'>"
        "<meta property='og:description' content='tab\there\x00nul\x0bvt'>"
        "</head><body></body></html>"
    ).encode()


def huge_title_page(size: int = MIB) -> bytes:
    big = "A" * size
    return (
        f"<html><head><meta property='og:title' content='{big}'><title>{big}</title>"
        f"<meta property='og:description' content='{'d ' * (size // 4)}'></head></html>"
    ).encode()


def jsonld_only_page() -> bytes:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Only in JSON-LD",
        "description": "A page whose metadata lives only in JSON-LD.",
        "image": ["/img/ld.png"],
        "datePublished": "2024-05-06T07:08:09Z",
        "author": {"@type": "Person", "name": "Ada Lovelace"},
    }
    script = f"<script type='application/ld+json'>{json.dumps(data)}</script>"
    return f"<html><head>{script}</head><body><p>text</p></body></html>".encode()


CHARSET_TEXT: Final = "Caf\u00e9 \u2013 \u201cquoted\u201d"  # Café, en dash, curly quotes
JAPANESE: Final = "日本語のタイトル — café"


def header_lies_page() -> bytes:  # served as utf-8
    return (
        f"<html><head><title>{CHARSET_TEXT}</title>"
        f"<meta property='og:title' content='{CHARSET_TEXT}'></head><body></body></html>"
    ).encode("cp1252")


def meta_lies_page() -> bytes:  # declares shift_jis
    return (
        "<html><head><meta charset='shift_jis'>"
        f"<title>{JAPANESE}</title><meta property='og:title' content='{JAPANESE}'>"
        "</head><body></body></html>"
    ).encode()


# -- the server -----------------------------------------------------------------------------


class Hostile:
    """Three servers on 127.0.0.1 in one thread; see the module docstring."""

    def __init__(self) -> None:
        self.log: list[Hit] = []
        self._counts: Counter[str] = Counter()  # per path+query, for "first 500, then 200"
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []
        self._raw_server: asyncio.Server | None = None
        self._raw_tasks: set[asyncio.Task[None]] = set()
        self.ports: dict[Server, int] = {}
        prefix = og_page("Bomb").encode()
        self._bombs: dict[str, tuple[str, bytes]] = {
            "gzip": ("gzip", gzip_bomb(prefix)),
            "deflate": ("deflate", deflate_bomb(prefix)),
            "br": ("br", _brotli_bomb(prefix) or b"\x1b\x00\x00 not really brotli"),
            "zstd": ("zstd", _zstd_bomb(prefix) or b"\x28\xb5\x2f\xfd not really zstd"),
        }
        self._pages: dict[str, tuple[str, bytes]] = {
            "/empty": (HTML, b""),
            "/binary": (HTML, random.Random(7).randbytes(200_000)),
            "/og-after-3mb": (HTML, og_after(3 * MIB)),
            "/deep-html": (HTML, deep_html()),
            "/deep-jsonld": (HTML, deep_jsonld()),
            "/control-title": (HTML, control_page()),
            "/huge-title": (HTML, huge_title_page()),
            "/jsonld-only": (HTML, jsonld_only_page()),
            "/charset/header-lies": (HTML, header_lies_page()),
            "/charset/meta-lies": ("text/html", meta_lies_page()),
        }

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> Hostile:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        for server, handler in (("main", self._main), ("victim", self._victim)):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            runner = web.AppRunner(
                app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
            )
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self._runners.append(runner)
            self.ports[server] = runner.addresses[0][1]  # type: ignore[index]
        self._raw_server = await asyncio.start_server(self._raw, "127.0.0.1", 0)
        self.ports["raw"] = self._raw_server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _stop(self) -> None:
        if self._raw_server is not None:
            self._raw_server.close()
            await self._raw_server.wait_closed()
        for task in list(self._raw_tasks):
            task.cancel()
        await asyncio.gather(*self._raw_tasks, return_exceptions=True)
        for runner in self._runners:
            await runner.cleanup()

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._counts.clear()

    # -- addresses and the log ------------------------------------------------------
    @property
    def main(self) -> str:
        return f"http://127.0.0.1:{self.ports['main']}"

    @property
    def raw_base(self) -> str:
        return f"http://127.0.0.1:{self.ports['raw']}"

    @property
    def victim(self) -> str:
        return f"http://127.0.0.1:{self.ports['victim']}"

    def url(self, path: str) -> str:
        return self.main + path

    def url_for(self, route: HostileRoute) -> str:
        return route.template.format(
            main=self.main, raw=self.raw_base, victim_port=self.ports["victim"]
        )

    def route_urls(self, *, offloop: bool = False) -> Iterator[tuple[HostileRoute, str]]:
        """Every route and its URL; `leaves_loopback` ones only with `offloop`."""
        for route in ROUTES:
            if offloop or not route.leaves_loopback:
                yield route, self.url_for(route)

    def hits(self, server: Server | None = None, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [
                hit
                for hit in self.log
                if (server is None or hit.server == server)
                and (path is None or hit.path == path or hit.path.split("?")[0] == path)
            ]

    def _record(self, server: Server, path: str) -> int:
        """Log a request; returns how many times this path+query was asked (1, 2, ...)."""
        with self._lock:
            self.log.append(Hit(server, path, time.monotonic()))
            self._counts[f"{server} {path}"] += 1
            return self._counts[f"{server} {path}"]

    # -- the victim: anything here means the guard failed (unless allowed) ------------
    async def _victim(self, request: web.Request) -> web.StreamResponse:
        self._record("victim", unquote(request.path_qs))
        return web.Response(text=SECRET, content_type="text/html")

    # -- main routes ------------------------------------------------------------------
    async def _main(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        count = self._record("main", unquote(request.path_qs))
        if path in self._pages:
            content_type, body = self._pages[path]
            return web.Response(body=body, headers={"Content-Type": content_type})
        if path.startswith("/status/"):
            return self._status(path.removeprefix("/status/"), count)
        if path.startswith("/redirect/"):
            return self._redirect(path.removeprefix("/redirect/"))
        if path.startswith("/bomb/") and path[6:] in self._bombs:
            encoding, data = self._bombs[path[6:]]
            headers = {"Content-Type": HTML, "Content-Encoding": encoding}
            return web.Response(body=data, headers=headers)
        streams: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
            "/trickle": self._trickle,
            "/endless": self._endless,
            "/big": self._big,
        }
        if path in streams:
            return await streams[path](request)
        return web.Response(status=404, text="no such hostile route", content_type="text/plain")

    @staticmethod
    def _status(name: str, count: int) -> web.Response:
        ok = web.Response(text=og_page(f"Recovered {name}"), content_type="text/html")
        flaky: dict[str, tuple[int, dict[str, str]]] = {
            "500-then-200": (500, {}),
            "503-retry-after-1": (503, {"Retry-After": "1"}),
            "429-retry-after-1": (429, {"Retry-After": "1"}),
        }
        if name in flaky:
            if count > 1:
                return ok
            status, headers = flaky[name]
            return web.Response(status=status, text="try again", headers=headers)
        if name == "429-retry-after-3600":
            return web.Response(status=429, text="slow down", headers={"Retry-After": "3600"})
        if name in ("404", "410"):
            return web.Response(
                status=int(name), text=f"<title>{name}</title>", content_type="text/html"
            )
        return web.Response(status=404, text="no such status route")

    def _redirect(self, name: str) -> web.Response:
        victim_port = self.ports["victim"]
        targets = {
            "loop/a": "/redirect/loop/b",
            "loop/b": "/redirect/loop/a",
            "other-port": f"http://127.0.0.1:{victim_port}/",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "file": "file:///etc/passwd",
        }
        if name.startswith("hops/") and name[5:].isdigit():
            left = int(name[5:])
            location = f"/redirect/hops/{left - 1}" if left > 0 else None
            if location is None:
                return web.Response(text=og_page("End of the chain"), content_type="text/html")
        elif name.startswith("spelled/") and name[8:] in PRIVATE_SPELLINGS:
            location = f"http://{name[8:]}:{victim_port}/"
        elif name in targets:
            location = targets[name]
        else:
            return web.Response(status=404, text="no such redirect")
        return web.Response(status=302, headers={"Location": location})

    @staticmethod
    async def _trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": HTML})
        await response.prepare(request)
        try:
            for _ in range(TRICKLE_MAX):
                await response.write(b" ")
                await asyncio.sleep(TRICKLE_EVERY)
        except ConnectionError:
            pass
        return response

    @staticmethod
    async def _endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": HTML})
        await response.prepare(request)
        chunk = b"<p>" + b"endless " * 8190 + b"</p>"
        sent = 0
        try:
            while sent < ENDLESS_MAX:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass
        return response

    @staticmethod
    async def _big(request: web.Request) -> web.StreamResponse:
        head = og_page("Fifty megabytes").removesuffix("</body></html>").encode()
        filler = b"<p>" + b"big page " * 7000 + b"</p>\n"
        response = web.StreamResponse(headers={"Content-Type": HTML})
        response.content_length = BIG_SIZE
        await response.prepare(request)
        try:
            await response.write(head)
            left = BIG_SIZE - len(head)
            while left > 0:
                part = filler[:left]
                await response.write(part)
                left -= len(part)
        except ConnectionError:
            pass
        return response

    # -- the raw TCP server -----------------------------------------------------------
    async def _raw(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._raw_tasks.add(task)
        try:
            async with asyncio.timeout(30):
                head = await reader.readuntil(b"\r\n\r\n")
            parts = head.split(b" ", 2)
            path = parts[1].decode("latin-1") if len(parts) > 1 else "?"
            self._record("raw", path)
            behaviour = RAW_ROUTES.get(path.split("?")[0])
            if behaviour is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                await behaviour(writer)
            if not writer.is_closing():
                await writer.drain()
        except (
            ConnectionError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            self._raw_tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# -- raw behaviours ------------------------------------------------------------------------

RAW_PAGE: Final = og_page("Raw", "<p>" + "x" * 3000 + "</p>").encode()


async def _truncated(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        + RAW_PAGE[:2000]
    )
    await writer.drain()


async def _reset(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        + RAW_PAGE[:2000]
    )
    await writer.drain()
    await asyncio.sleep(0.05)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()  # with linger 0: a TCP RST, not a FIN


async def _http10(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + RAW_PAGE)
    await writer.drain()


async def _huge_header(writer: asyncio.StreamWriter) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Huge: "
        + b"h" * 100_000
        + b"\r\nContent-Length: 2\r\n\r\nhi"
    )
    await writer.drain()


async def _garbage(writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xffSSH-2.0-OpenSSH_9.6 nothing like HTTP\r\n\r\n")
    await writer.drain()


RAW_ROUTES: Final[dict[str, RawHandler]] = {
    "/truncated": _truncated,
    "/reset": _reset,
    "/http10": _http10,
    "/huge-header": _huge_header,
    "/garbage": _garbage,
}


# -- a "public" host on loopback, for testing the guard -----------------------------------


@dataclass(frozen=True)
class PublicPort(AddressPolicy):
    """The default policy (nothing private), except that `name` is a public host.

    `name` (resolved by a `StaticResolver` to 127.0.0.1) may be connected, but
    only on `ports`: everything else on 127.0.0.1, in whatever spelling, and any
    other port behind `name` itself, stays blocked. So a redirect from the
    "public" hostile server to the victim is judged exactly as one from the
    internet to an internal address, while all traffic stays on 127.0.0.1.
    """

    name: str = "public.test"
    ports: tuple[int, ...] = ()

    def check_address(self, address: str, name: str | None = None) -> None:
        if name is not None and name.lower().rstrip(".") == self.name and address == "127.0.0.1":
            return  # the resolver's check; the socket factory still checks the port
        super().check_address(address, name)

    def socket_factory(
        self, addr_info: tuple[int, int, int, str, tuple[object, ...]]
    ) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if str(sockaddr[0]) == "127.0.0.1" and sockaddr[1] in self.ports:
            return socket.socket(family=family, type=type_, proto=proto)
        return super().socket_factory(addr_info)


# -- measuring a subprocess: wall time and peak RSS of its process tree --------------------


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        parents[int(name)] = int(raw[raw.rfind(b")") + 2 :].split()[1])
    return parents


def _field_kb(path: str, name: str) -> int:
    """A `Name:   123 kB` line of a /proc file, in bytes; 0 when absent."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def tree_memory(root: int) -> tuple[int, int]:
    """(sum of VmRSS, sum of PSS) over `root` and its descendants, in bytes.

    RSS counts the pages forked workers share with their parent once per
    process; PSS splits shared pages between their sharers (0 where the
    kernel does not report it).
    """
    pids = tree_pids(root)
    rss = sum(_field_kb(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
    pss = sum(_field_kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
    return rss, pss


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    wall: float  # seconds
    peak_rss: int  # bytes: the peak of the sum of VmRSS over the whole process tree
    peak_pss: int  # bytes: the same for PSS


def pin_to(cpus: int) -> Callable[[], None]:
    """A `preexec_fn` giving the child (at most) `cpus` of the CPUs this process may use.

    og-preview starts one worker process per usable core, so a memory bound for
    its process tree only means something for a known number of cores.
    """
    chosen = set(sorted(os.sched_getaffinity(0))[:cpus])

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def run_measured(
    cmd: list[str],
    stdin: str,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cpus: int | None = None,
) -> Measured:
    """Run `cmd` (on `cpus` CPUs), sampling the memory of its process tree every ~20 ms."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=pin_to(cpus) if cpus else None,
    )
    peak_rss = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.wait(0.02):
            rss, pss = tree_memory(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        done.set()
        sampler.join(5)
    wall = time.monotonic() - started
    return Measured(proc.returncode, stdout, stderr, wall, peak_rss, peak_pss)
