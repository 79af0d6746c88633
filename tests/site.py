"""A real aiohttp server on 127.0.0.1, on its own thread, for tests.

Pages can be added after start; it serves async tests, CliRunner and
subprocesses alike. Handlers may also be arbitrary aiohttp handlers.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[web.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # -- lifecycle -------------------------------------------------------
    def start(self) -> Site:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    # -- routes ----------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(
        self,
        path: str,
        body: str | bytes = b"",
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        **headers: str,
    ) -> str:
        data = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": content_type} if content_type else {}
        hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
        self.routes[path] = Route(body=data, status=status, headers=hdrs)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": to})
        return self.url(path)

    def handler(self, path: str, handler: Handler) -> str:
        self.routes[path] = Route(handler=handler)
        return self.url(path)

    def sequence(self, path: str, *responses: tuple[int, str | bytes, dict[str, str]]) -> str:
        """Answer successive requests with successive (status, body, headers); the last repeats."""
        queue = list(responses)

        async def handle(request: web.Request) -> web.StreamResponse:
            status, body, headers = queue.pop(0) if len(queue) > 1 else queue[0]
            data = body.encode() if isinstance(body, str) else body
            hdrs = {"Content-Type": "text/html; charset=utf-8", **headers}
            return web.Response(body=data, status=status, headers=hdrs)

        return self.handler(path, handle)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.path_qs in self.routes else request.path
        with self._lock:
            self.hits[path] += 1
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            route = self.routes.get(path)
            if route is None:
                return web.Response(status=404, text="not found", content_type="text/html")
            if route.handler is not None:
                return await route.handler(request)
            return web.Response(body=route.body, status=route.status, headers=route.headers)
        finally:
            with self._lock:
                self.in_flight -= 1
