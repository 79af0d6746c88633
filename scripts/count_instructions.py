"""Instructions per page of `extract_bytes` over the corpus, counted by callgrind.

    .venv/bin/python scripts/count_instructions.py [--corpus DIR]

Timings on a shared machine swing by ±30 %; instruction counts do not, so they
tell whether a change to extraction made it cheaper, even by 1 %. The corpus is
extracted once to warm up (imports, regex caches), then once more; the count of
the second pass, divided by the pages, is reported. Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("OG_PREVIEW_CORPUS", ROOT.parent / "shared" / "corpus"))
COLLECTED = re.compile(r"Collected : (\d+)")

PROGRAM = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from og_preview.extract.metadata import extract_bytes
pages = [p.read_bytes() for p in sorted(Path({corpus!r}).glob("*/page.html"))]
for _ in range({passes}):
    for body in pages:
        extract_bytes(body, "http://example.com/a/b")
print(len(pages))
"""


def count(corpus: Path, passes: int) -> tuple[int, int]:
    """(instructions, pages) of a run doing `passes` passes over the corpus."""
    code = PROGRAM.format(root=str(ROOT), corpus=str(corpus), passes=passes)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = COLLECTED.search(out.stderr)
    if found is None:
        sys.exit("count_instructions: valgrind printed no instruction count")
    return int(found.group(1)), int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("count_instructions: valgrind is not installed (apt install valgrind)")
    if not any(args.corpus.glob("*/page.html")):
        sys.exit(f"count_instructions: no */page.html under {args.corpus}")
    once, pages = count(args.corpus, 1)
    twice, _ = count(args.corpus, 2)
    per_page = (twice - once) / pages
    print(f"{pages} pages: {per_page / 1e6:.2f} M instructions per page (extract_bytes)")


if __name__ == "__main__":
    main()
