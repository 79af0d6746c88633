"""A test site whose pages the tests edit, served with ETags and 304s like a real
server, and an image for `--check-images`."""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

from tests.site import Site

# a 1200 x 630 PNG's first bytes: the signature, then an IHDR chunk (enough to read a size)
PNG_1200x630 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\xb0\x00\x00\x02v\x08\x06\x00\x00\x00"
    + b"\x00" * 64
)


class Pages:
    """Pages whose content the test edits; ETag / Last-Modified and 304s like a real
    server (and `plain` paths that ignore validators)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.bodies: dict[str, str] = {}
        self.answers: list[tuple[str, int]] = []

    def add(self, name: str, title: str, *, validators: bool = True) -> str:
        self.bodies[name] = title
        return self.site.handler(f"/fresh/{name}", self._handler(name, validators))

    def _handler(self, name: str, validators: bool):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.StreamResponse:
            title = self.bodies[name]
            image = self.site.base + "/fresh-image.png"
            body = (
                f"<html><head><title>{title}</title>"
                f'<meta property="og:title" content="{title}">'
                f'<meta property="og:image" content="{image}"></head></html>'
            )
            tag = '"' + base64.b64encode(hashlib.sha256(body.encode()).digest()[:9]).decode() + '"'
            headers = {"ETag": tag} if validators else {}
            if validators and request.headers.get("If-None-Match") == tag:
                self.answers.append((name, 304))
                return web.Response(status=304, headers=headers)
            self.answers.append((name, 200))
            return web.Response(text=body, content_type="text/html", headers=headers)

        return handle


def image(site: Site, status: int = 200) -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        if status != 200:
            return web.Response(status=status, text="gone")
        return web.Response(body=PNG_1200x630, content_type="image/png")

    site.handler("/fresh-image.png", handle)
