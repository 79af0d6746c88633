"""A fast static page server for the benchmark, run in its own process.

    python bench/server.py PAGES_DIR_OR_FILE_LIST [--delay 0.1]

Serves every page from memory: `GET /p/<i>` answers page `i % len(pages)` as
`text/html` (no charset parameter; the raw bytes of the file). Two listeners
on 127.0.0.1 in one process: the first answers at once, the second sleeps
`--delay` seconds before answering (the latency mode). When both are up it
prints one line `READY <fast port> <slow port> <pages> <bytes>` on stdout and
serves until stdin closes or SIGTERM/SIGINT arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from aiohttp import web

CONTENT_TYPE = "text/html"


def find_pages(source: Path) -> list[Path]:
    """`corpus/*/page.html` when present, else the `*.html` files of a folder (demo/site)."""
    pages = sorted(source.glob("*/page.html"))
    if not pages:
        pages = sorted(source.glob("*.html"))
    return pages


def make_app(bodies: list[bytes], delay: float) -> web.Application:
    count = len(bodies)
    headers = {"Content-Type": CONTENT_TYPE}

    async def page(request: web.Request) -> web.Response:
        try:
            index = int(request.match_info["index"])
        except ValueError:
            raise web.HTTPNotFound() from None
        if delay > 0:
            await asyncio.sleep(delay)
        return web.Response(body=bodies[index % count], headers=headers)

    app = web.Application()
    app.router.add_get("/p/{index}", page)
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
