"""The benchmark's fast page server when the distribution's nginx is installed.

nginx answers a static page for a few microseconds of CPU, so nearly both cores are
left to the contenders (bench/server.py's aiohttp server costs ~0.25 ms a page).
It serves `GET /p/<i>` as page `i % len(pages)`, `Content-Type: text/html` with no
charset, like bench/server.py: the page files are linked under a temporary root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from measure import all_procs, wait_or_kill

CONFIG = """\
{user}
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    types {{ }}
    default_type text/html;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {root}/www;
        location /p/ {{ }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Nginx:
    """`with Nginx(pages, count, workdir) as server:` serves /p/0 .. /p/<count - 1>."""

    def __init__(self, pages: list[Path], count: int, workdir: Path) -> None:
        self.pages = pages
        self.count = count
        self.root = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        www = self.root / "www" / "p"
        www.mkdir(parents=True)
        (self.root / "tmp").mkdir()
        for i in range(self.count):
            (www / str(i)).symlink_to(self.pages[i % len(self.pages)].resolve())
        self.port = _free_port()
        user = "user root root;" if os.geteuid() == 0 else ""  # pages may be root-only
        conf = self.root / "nginx.conf"
        conf.write_text(CONFIG.format(user=user, root=self.root, port=self.port))
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"nginx did not start: {err.strip()[-300:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("nginx did not start listening within 10 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        wait_or_kill(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def pids(self) -> list[int]:
        """The master and its worker (their CPU is the server's)."""
        if self.proc is None:
            return []
        master = self.proc.pid
        return [master, *(pid for pid, info in all_procs().items() if info.ppid == master)]
