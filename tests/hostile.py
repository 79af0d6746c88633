"""A fault-injection server on 127.0.0.1: every way a network or a page can be hostile.

`Hostile` runs, on its own thread and event loop (like `tests.site.Site`):

- `main`, an aiohttp server with the hostile routes of `tests.hostile_routes.ROUTES`
  (trickles, endless and huge bodies, compression bombs, redirect traps, flaky
  statuses, pages that break parsers, lying charsets);
- `victim`, an aiohttp server on another port standing for something that must
  never be reached (an internal service): every private-address spelling and
  redirect target points at it;
- `raw`, a tiny asyncio TCP server for what aiohttp would refuse to send:
  truncated bodies, resets, HTTP/1.0, oversized header lines, garbage.

Every request that reaches any of the three is logged (`Hostile.log`) with the
server, path and time, so tests can assert what arrived, and what did not.
Every server-side loop is bounded, and `stop()` closes every socket.
Payloads live in `tests.hostile_payloads`, the route catalogue in
`tests.hostile_routes`, process-tree measuring in `tests.proctree`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from aiohttp import web

from og_preview.net.guard import AddressPolicy
from tests.hostile_payloads import (
    MIB,
    control_page,
    deep_html,
    deep_jsonld,
    deflate_bomb,
    gzip_bomb,
    header_lies_page,
    huge_title_page,
    jsonld_only_page,
    meta_lies_page,
    og_after,
    og_page,
    other_bomb,
)
from tests.hostile_routes import PRIVATE_SPELLINGS, ROUTES, Hit, HostileRoute, Server

RawHandler = Callable[[asyncio.StreamWriter], Awaitable[None]]
HTML: Final = "text/html; charset=utf-8"
TRICKLE_EVERY: Final = 0.5  # seconds between two bytes of /trickle
TRICKLE_MAX: Final = 240  # bytes: two minutes, then the "forever" ends anyway
ENDLESS_MAX: Final = 4096 * MIB  # the "endless" body stops after 4 GiB
BIG_SIZE: Final = 50_000_000
SECRET: Final = "<html><head><title>internal secret</title></head><body>secret</body></html>"


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
            "br": ("br", other_bomb("br", prefix)),
            "zstd": ("zstd", other_bomb("zstd", prefix)),
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
