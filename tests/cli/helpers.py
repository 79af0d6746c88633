from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OG_PREVIEW = shutil.which("og-preview", path=str(Path(sys.executable).parent)) or "og-preview"


def run(
    *args: str, stdin: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed og-preview in a subprocess (stdout/stderr captured: not a terminal)."""
    return subprocess.run(
        [OG_PREVIEW, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def python_prints(code: str) -> str:
    """What `code` prints when run by this Python in a fresh process (stripped)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


def foreground() -> None:
    """`preexec_fn` for a child that stands for a command run at a terminal: Ctrl-C
    (SIGINT) at its default. A shell starts background jobs with SIGINT ignored, and a
    test run started so would pass that on to the command, which then rightly keeps
    ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_in_terminal(
    args: list[str],
    columns: int = 80,
    *,
    stdin: str | None = None,
    timeout: float = 60,
    interrupt_after: str | None = None,
    steps: list[tuple[str, Callable[[subprocess.Popen[bytes]], object]]] | None = None,
) -> tuple[int, str]:
    """Run og-preview with stdout and stderr on a pseudo-terminal `columns` wide; return
    its exit code and everything it showed. `interrupt_after`: send Ctrl-C (SIGINT) once
    the output holds this text. `steps`: (text, action) pairs, in order: each action is
    called with the process once the output holds its text (after the previous step's)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "24", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [OG_PREVIEW, *args],
        stdin=subprocess.PIPE if stdin is not None else slave,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=foreground,
        close_fds=True,
    )
    os.close(slave)
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    chunks: list[bytes] = []
    pending = list(steps or [])
    seen = 0  # (bytes of output the steps have looked past)
    deadline = time.monotonic() + timeout
    interrupted = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not data:
                break
            chunks.append(data)
        if interrupt_after and not interrupted and interrupt_after.encode() in b"".join(chunks):
            proc.send_signal(signal.SIGINT)
            interrupted = True
        shown = b"".join(chunks)
        while pending and pending[0][0].encode() in shown[seen:]:
            text, action = pending.pop(0)
            seen = shown.index(text.encode(), seen) + len(text)
            action(proc)
        if not ready and proc.poll() is not None:
            break
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def screen_text(output: str, columns: int, rows: int = 400) -> list[str]:
    """What a terminal `columns` wide shows after `output` (a VT100 emulator, pyte): its
    rows, top first, trailing blanks dropped."""
    import pyte

    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    stream.feed(output.replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines
