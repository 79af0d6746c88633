"""https end to end: certificates are checked, against the system's CA certificates,
which each process loads at its first https request (og_preview/tls.py)."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from tests.cli.helpers import json_lines, run

pytestmark = pytest.mark.e2e

PAGE = '<html><head><meta property="og:title" content="Over TLS"></head><body></body></html>'


class HttpsSite:
    """An aiohttp server on 127.0.0.1 with a certificate from a test CA."""

    def __init__(self, ca: trustme.CA) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    def __enter__(self) -> HttpsSite:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        async def page(_: web.Request) -> web.Response:
            return web.Response(text=PAGE, content_type="text/html")

        app = web.Application()
        app.router.add_get("/{name}", page)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.context)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https(ca: trustme.CA) -> Iterator[HttpsSite]:
    with HttpsSite(ca) as site:
        yield site


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    """The environment of a machine whose CA bundle holds the test CA."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return {"SSL_CERT_FILE": str(bundle), "SSL_CERT_DIR": str(tmp_path)}


def test_fetch_over_tls_with_a_trusted_certificate(
    https: HttpsSite, trusted: dict[str, str]
) -> None:
    result = run("fetch", https.url("a"), "--allow-private", "--format", "json", env=trusted)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["status"], record["title"]) == ("processed", "Over TLS")


def test_an_untrusted_certificate_is_a_tls_error(https: HttpsSite, tmp_path: Path) -> None:
    empty = tmp_path / "none.pem"
    empty.write_text("")
    result = run(
        "fetch",
        https.url("a"),
        "--allow-private",
        "--format",
        "json",
        env={"SSL_CERT_FILE": str(empty), "SSL_CERT_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    record = json.loads(result.stdout)
    assert record["error"]["kind"] == "tls"
    assert "certificate" in record["error"]["message"].lower()


@pytest.mark.parametrize("workers", ["2", "0"])
def test_batch_workers_check_certificates(
    https: HttpsSite, trusted: dict[str, str], workers: str
) -> None:
    """The batch's workers load the certificates at their first https URL, from the same
    system bundle."""
    urls = "\n".join(https.url(f"p{i}") for i in range(6)) + "\n"
    args = ("batch", "-", "--allow-private", "--no-cache", "--workers", workers)
    good = run(*args, stdin=urls, env=trusted)
    assert good.returncode == 0, good.stderr
    assert {r["status"] for r in json_lines(good.stdout)} == {"processed"}
    bad = run(*args, stdin=urls, env={"SSL_CERT_FILE": "/nonexistent.pem", "SSL_CERT_DIR": "/x"})
    assert bad.returncode == 1
    assert {r["error"]["kind"] for r in json_lines(bad.stdout)} == {"tls"}
