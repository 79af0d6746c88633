"""The DNS workload of the benchmark: every URL on a host name of its own.

In real batches nearly every URL is on a different host, so nearly every URL
waits for a name lookup. This workload makes that measurable on one machine:
a network namespace (`ip netns add ogp-dns`, only its loopback up) whose
`/etc/netns/ogp-dns/resolv.conf` says `nameserver 127.0.0.1`, a DNS server in it
answering `h<i>.bench.test` with 127.0.0.1 after `delay` seconds
(bench/dns_server.py), and bench/server.py serving small generated article
pages in it too (so lookups, not parsing, bound a run). Each
contender runs through `ip netns exec ogp-dns`, so its lookups (getaddrinfo or
c-ares, both reading resolv.conf) reach that server and all traffic stays on
the namespace's loopback. With `c` requests in flight the ceiling is
`c / delay` URLs/s (32 / 0.05 s = 640).

It needs root and iproute2 (`unavailable()` says why not); the namespace and
its folder under /etc/netns are removed at the end, also on failure, and a
stale one (a killed run) is replaced at the start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from measure import stop_child

HERE = Path(__file__).resolve().parent
NETNS = "ogp-dns"
NETNS_ETC = Path("/etc/netns")
ZONE = "bench.test"
PAGES = 16
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Story {k} - The Bench Times</title>
<meta name="description" content="A short story, number {k}, about name lookups.">
<meta property="og:title" content="Story {k}: every URL its own host">
<meta property="og:description" content="Why a batch of link previews waits on DNS.">
<meta property="og:image" content="/img/{k}.jpg">
<meta property="og:type" content="article">
<meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="/p/{k}">
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Story {k}",
 "datePublished": "2026-01-{day:02d}T08:00:00Z",
 "author": {{"@type": "Person", "name": "A. Writer"}}}}
</script>
</head><body><article><h1>Story {k}</h1><p class="byline">By A. Writer</p>
{body}</article></body></html>
"""


def unavailable() -> str | None:
    """Why the DNS workload cannot run on this machine, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root (it creates a network namespace)"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` (apt install iproute2)"
    try:
        import dnslib  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "needs dnslib (pip install dnslib, or the dev extra)"
    return None


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


class _Child:
    """A server started in the namespace; it exits when we close its stdin."""

    def __init__(self, cmd: Sequence[str], what: str) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.ready = self.proc.stdout.readline().decode().split()
        if self.ready[:1] != ["READY"]:
            self.stop()
            raise RuntimeError(f"the {what} did not start ({' '.join(self.ready) or 'no output'})")

    def stop(self) -> None:
        stop_child(self.proc)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (`timeout`, `kill`) unwinds like Ctrl-C, so the namespace is removed."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class DnsWorkload:
    """The namespace, its DNS server and page server, and the URL file; a context manager.

    `prefix` runs a command inside the namespace; `pids` are the two servers (their CPU
    is the "server" column); `urls` holds `n` URLs, each on its own host name.
    """

    def __init__(self, tmp: Path, n: int, delay: float) -> None:
        self.tmp = tmp
        self.n = n
        self.delay = delay
        self.prefix = ["ip", "netns", "exec", NETNS]
        self.urls = tmp / "dns-urls.txt"
        self.pages = tmp / "dns-pages"
        self.pids: list[int] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> DnsWorkload:
        try:
            self._stack.enter_context(_terminate_as_interrupt())
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        if _ip("netns", "pids", NETNS).returncode == 0:  # left by a killed run
            self._remove()
        stack.callback(self._remove)
        made = _ip("netns", "add", NETNS)
        if made.returncode != 0:
            raise RuntimeError(f"ip netns add {NETNS}: {made.stderr.strip()}")
        up = _ip("netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
        if up.returncode != 0:
            raise RuntimeError(f"bringing up lo in {NETNS}: {up.stderr.strip()}")
        etc = NETNS_ETC / NETNS
        etc.mkdir(parents=True, exist_ok=True)
        # bind-mounted over /etc/resolv.conf by `ip netns exec`
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        python = [*self.prefix, sys.executable]
        dns_args = ["--port", "53", "--delay", str(self.delay), "--zone", ZONE]
        dns = _Child([*python, str(HERE / "dns_server.py"), *dns_args], "DNS server")
        stack.callback(dns.stop)
        write_pages(self.pages)
        pages = _Child(
            [*python, str(HERE / "server.py"), str(self.pages), "--delay", "0"], "page server"
        )
        stack.callback(pages.stop)
        self.pids = [dns.proc.pid, pages.proc.pid]
        port = int(pages.ready[1])
        with self.urls.open("w") as out:
            out.writelines(f"http://h{i}.{ZONE}:{port}/p/{i}\n" for i in range(self.n))

    def _remove(self) -> None:
        _ip("netns", "del", NETNS)
        shutil.rmtree(NETNS_ETC / NETNS, ignore_errors=True)
        with contextlib.suppress(OSError):
            NETNS_ETC.rmdir()  # only when empty: another namespace's files stay
        self.urls.unlink(missing_ok=True)
        shutil.rmtree(self.pages, ignore_errors=True)


def write_pages(folder: Path) -> None:
    """`PAGES` small article pages (about 2 kB: OpenGraph, Twitter, JSON-LD, a byline)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(PAGES):
        body = "\n".join(
            f"<p>Paragraph {j} of story {k}: " + "words " * 30 + "</p>" for j in range(4)
        )
        text = PAGE.format(k=k, day=k % 28 + 1, body=body)
        (folder / f"page{k:02d}.html").write_text(text, encoding="utf-8")
