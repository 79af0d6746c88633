from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
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
