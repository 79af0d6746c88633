"""The demo site: a few bundled pages served on 127.0.0.1 by aiohttp.

Used by `make demo` (demo/run.py) and by the benchmark; run it alone with
`python demo/serve.py` to keep it up and try og-preview against it by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sys
import threading
from email.utils import formatdate
from pathlib import Path

from aiohttp import web

SITE = Path(__file__).resolve().parent / "site"

# path -> (file, status, content type); None file = redirect target in `REDIRECTS`
PAGES: dict[str, tuple[str, int, str]] = {
    "/article.html": ("article.html", 200, "text/html; charset=utf-8"),
    "/twitter-only.html": ("twitter-only.html", 200, "text/html; charset=utf-8"),
    "/jsonld-only.html": ("jsonld-only.html", 200, "text/html; charset=utf-8"),
    "/fallbacks.html": ("fallbacks.html", 200, "text/html"),
    "/cp1252.html": ("cp1252.html", 200, "text/html"),
    "/shift_jis.html": ("shift_jis.html", 200, "text/html"),
    "/img/tides.png": ("tides.png", 200, "image/png"),
    "/challenge.html": ("challenge.html", 503, "text/html; charset=utf-8"),
}
REDIRECTS = {"/old-article": "/article.html"}
DEMO_PATHS = [
    "/article.html",
    "/twitter-only.html",
    "/jsonld-only.html",
    "/fallbacks.html",
    "/cp1252.html",
    "/shift_jis.html",
    "/old-article",
    "/img/tides.png",
    "/missing",
    "/challenge.html",
]


async def handle(request: web.Request) -> web.StreamResponse:
    if request.path in REDIRECTS:
        raise web.HTTPMovedPermanently(REDIRECTS[request.path])
    page = PAGES.get(request.path)
    if page is None:
        return web.Response(status=404, text="<h1>Not found</h1>", content_type="text/html")
    name, status, content_type = page
    path = SITE / name
    body = path.read_bytes()
    # validators as a static file server sends them: og-preview revalidates with them
    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    validators = {"ETag": tag, "Last-Modified": formatdate(path.stat().st_mtime, usegmt=True)}
    if status == 200 and request.headers.get("If-None-Match") == tag:
        return web.Response(status=304, headers=validators)
    headers = {"Content-Type": content_type, **(validators if status == 200 else {})}
    return web.Response(body=body, status=status, headers=headers)


class DemoServer:
    """The demo site on 127.0.0.1 (port 0 = any free port), on its own thread."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    def __enter__(self) -> DemoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}{path}" for path in DEMO_PATHS]


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with DemoServer(port) as server:
        print("\n".join(server.urls()))
        print(f"serving the demo site on http://127.0.0.1:{server.port}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
