"""How fast is extraction? Pages per second on one core over the corpus pages.

    .venv/bin/python scripts/parse_speed.py [--corpus DIR] [--repeat N]

Reports `extract_bytes` (decode + the fast metadata-only parse), the same extraction
on a full parse of every page, and a bare `lxml.html.document_fromstring` of the
whole decoded page (the baseline a naive extractor pays), all in this one process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from og_preview.decode import decode_html  # noqa: E402
from og_preview.extract import extract, extract_bytes  # noqa: E402

DEFAULT_CORPUS = Path(os.environ.get("OG_PREVIEW_CORPUS", ROOT.parent / "shared" / "corpus"))
FAKE_BASE = "http://fakehost/test/page.html"


def load_pages(corpus: Path) -> list[tuple[bytes, str]]:
    pages: list[tuple[bytes, str]] = []
    for case in sorted(corpus.glob("*/page.html")):
        expected = case.parent / "expected.json"
        url = FAKE_BASE
        if expected.exists():
            url = json.loads(expected.read_text(encoding="utf-8")).get("page_url") or FAKE_BASE
        pages.append((case.read_bytes(), url))
    return pages


def rate(
    label: str, pages: list[tuple[bytes, str]], run: Callable[[bytes, str], object], repeat: int
) -> float:
    """Pages per second of the best of `repeat` rounds (other processes add noise, not speed)."""
    run(*pages[0])  # warm up imports and caches
    gc.collect()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for body, url in pages:
            run(body, url)
        best = min(best, time.perf_counter() - start)
    per_second = len(pages) / best
    print(f"{label:<44} {per_second:8.1f} pages/s  ({1000 / per_second:6.2f} ms/page)")
    return per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    pages = load_pages(args.corpus)
    if not pages:
        print(f"no pages under {args.corpus}", file=sys.stderr)
        return 2
    mean_kb = sum(len(b) for b, _ in pages) / len(pages) / 1000
    print(f"{len(pages)} pages, mean {mean_kb:.0f} kB, best of {args.repeat} rounds, one core\n")
    rate(
        "extract_bytes (fast path: head + fragments)",
        pages,
        lambda b, u: extract_bytes(b, u),
        args.repeat,
    )
    rate(
        "extract on a full parse (fast=False)",
        pages,
        lambda b, u: extract(decode_html(b)[0], u, fast=False),
        args.repeat,
    )
    rate(
        "baseline: decode + lxml full parse only",
        pages,
        lambda b, u: lxml.html.document_fromstring(decode_html(b)[0] or "<html/>"),
        args.repeat,
    )
    rate("decode_html only", pages, lambda b, u: decode_html(b), args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
