"""`make demo`: serve the bundled site on 127.0.0.1, preview it, show the cache, stop.

Everything stays on this machine: no internet needed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import DemoServer

OG_PREVIEW = str(Path(sys.executable).with_name("og-preview"))


def run(*args: str, stdin: str | None = None) -> int:
    print(f"\n$ og-preview {' '.join(args)}", flush=True)
    return subprocess.run([OG_PREVIEW, *args], input=stdin, text=True).returncode


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, DemoServer() as server:
        db = str(Path(tmp) / "demo.db")
        urls = server.urls()
        fetch = ("--allow-private", "--db", db)
        run("fetch", urls[0], *fetch, "--format", "card")
        run("fetch", urls[3], *fetch, "--format", "json", "--no-jsonld")
        lines = "\n".join(urls) + "\n"
        run("batch", "-", *fetch, "--no-progress", "--format", "table", stdin=lines)
        run("show", "--db", db, "--stats")
        run("report", "--db", db, "-o", "previews.html", "--order", "url")
        print(
            f"\nThe demo site was served on http://127.0.0.1:{server.port}/ and is now stopped."
            "\nOpen previews.html in a browser to see the previews as cards."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
