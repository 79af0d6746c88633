"""`make demo`: serve the bundled site on 127.0.0.1, preview it, show the cache, stop.

Everything stays on this machine: no internet needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import DemoServer

OG_PREVIEW = str(Path(sys.executable).with_name("og-preview"))


ROOT = Path(__file__).resolve().parent.parent
DB = "demo.db"  # in the project folder, kept: `og-preview show --db demo.db` reads it after


def run(*args: str, stdin: str | None = None) -> int:
    print(f"\n$ og-preview {' '.join(args)}", flush=True)
    return subprocess.run([OG_PREVIEW, *args], input=stdin, text=True, cwd=ROOT).returncode


def main() -> int:
    (ROOT / DB).unlink(missing_ok=True)  # each demo starts from an empty cache
    with DemoServer() as server:
        db = DB
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
            "\nOpen previews.html in a browser to see the previews as cards; the cache is"
            f" {DB}: try `.venv/bin/og-preview show --db {DB}`."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
