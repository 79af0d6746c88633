"""A fast static page server for the benchmark, run in its own process.

    python bench/server.py PAGES_DIR_OR_FILE_LIST [--delay 0.1]

Serves every page from memory: `GET /p/<i>` answers page `i % len(pages)` as
`text/html` (no charset parameter; the raw bytes of the file) with `ETag: "p<i>"`;
a request whose `If-None-Match` names that tag (or `*`) gets a `304` with no body.
`GET /pi/<i>` is the same page with `<meta property="og:image"
content="http://<Host>/img/<i % 50>.png">` inserted right after `<head>` (ETag
`"pi<i>"`), and `GET /img/<k>.png` a small valid PNG of 1200x630 pixels, so that
image checks stay on this server. `GET /stats` gives this listener's counts as JSON
(`requests`, `body_bytes`, `not_modified`, `pages`, `images`; /stats itself is not
counted). Two listeners on 127.0.0.1 in one process: the first answers at once,
the second sleeps `--delay` seconds before answering (the latency mode). When both
are up it prints one line `READY <fast port> <slow port> <pages> <bytes>` on stdout
and serves until stdin closes or SIGTERM/SIGINT arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import struct
import sys
import threading
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web

CONTENT_TYPE = "text/html"
IMAGES = 50  # distinct images of the /pi/ pages: page i shows image i % IMAGES
IMAGE_SIZE = (1200, 630)  # a large card's image
HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
HTML = re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE)


def png(width: int, height: int) -> bytes:
    """A valid RGB PNG of `width` x `height` black pixels (a few kB: rows of zeros
    compress well): signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\0" * ((1 + 3 * width) * height), 9)  # filter byte + row
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def head_end(body: bytes) -> int:
    """Where the /pi/ page's meta goes: right after `<head>`, else after `<html>`,
    else at the start."""
    found = HEAD.search(body) or HTML.search(body)
    return found.end() if found else 0


@dataclass(slots=True)
class Stats:
    """What one listener served: requests (/stats not counted), body bytes, 304s."""

    requests: int = 0
    body_bytes: int = 0
    not_modified: int = 0
    pages: int = 0
    images: int = 0


def find_pages(source: Path) -> list[Path]:
    """`corpus/*/page.html` when present, else the `*.html` files of a folder (demo/site)."""
    pages = sorted(source.glob("*/page.html"))
    if not pages:
        pages = sorted(source.glob("*.html"))
    return pages


def matches(if_none_match: str, etag: str) -> bool:
    """Does an `If-None-Match` value name `etag` (weak comparison, as for a GET)?"""
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return any(tag in ("*", etag) for tag in tags)


def make_app(bodies: list[bytes], delay: float) -> web.Application:
    count = len(bodies)
    ends = [head_end(body) for body in bodies]
    image = png(*IMAGE_SIZE)
    image_headers = {"Content-Type": "image/png"}
    stats = Stats()

    def index_of(request: web.Request) -> int:
        try:
            return int(request.match_info["index"])
        except ValueError:
            raise web.HTTPNotFound() from None

    def answer(request: web.Request, etag: str, body: bytes | None, index: int) -> web.Response:
        stats.requests += 1
        stats.pages += 1
        if matches(request.headers.get("If-None-Match", ""), etag):
            stats.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        if body is None:
            body = bodies[index % count]
        stats.body_bytes += len(body)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "ETag": etag})

    async def page(request: web.Request) -> web.Response:
        index = index_of(request)
        if delay > 0:
            await asyncio.sleep(delay)
        return answer(request, f'"p{index}"', None, index)

    async def page_with_image(request: web.Request) -> web.Response:
        index = index_of(request)
        if delay > 0:
            await asyncio.sleep(delay)
        body, end = bodies[index % count], ends[index % count]
        meta = (
            f'<meta property="og:image" content="http://{request.host}/img/{index % IMAGES}.png">'
        )
        return answer(request, f'"pi{index}"', body[:end] + meta.encode() + body[end:], index)

    async def png_image(request: web.Request) -> web.Response:
        index_of(request)
        stats.requests += 1
        stats.images += 1
        stats.body_bytes += len(image)
        return web.Response(body=image, headers=image_headers)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(asdict(stats))

    app = web.Application()
    app.router.add_get("/p/{index}", page)
    app.router.add_get("/pi/{index}", page_with_image)
    app.router.add_get("/img/{index}.png", png_image)
    app.router.add_get("/stats", get_stats)
    return app


async def serve(bodies: list[bytes], delay: float) -> None:
    runners: list[web.AppRunner] = []
    ports: list[int] = []
    for wait in (0.0, delay):
        # access_log=None: no per-request logging cost; keep-alive for the clients' pools
        runner = web.AppRunner(make_app(bodies, wait), access_log=None, keepalive_timeout=75)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        runners.append(runner)
        ports.append(runner.addresses[0][1])
    total = sum(len(b) for b in bodies)
    sys.stdout.write(f"READY {ports[0]} {ports[1]} {len(bodies)} {total}\n")
    sys.stdout.flush()

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # the parent holds our stdin: when it goes away (even killed), so do we. A daemon
    # thread, not the loop's executor, so a signal never waits on the blocked read.
    def watch_stdin() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 65536):  # the raw fd: no buffer lock held at shutdown
                pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    await stop.wait()
    for runner in runners:
        with contextlib.suppress(Exception):
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="corpus folder (*/page.html) or a folder of *.html"
    )
    parser.add_argument("--delay", type=float, default=0.1, help="seconds, second listener")
    args = parser.parse_args()
    pages = find_pages(args.source)
    if not pages:
        sys.exit(f"no pages under {args.source}")
    bodies = [p.read_bytes() for p in pages]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(bodies, args.delay))


if __name__ == "__main__":
    main()
