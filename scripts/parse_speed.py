"""How fast is extraction? Pages per second on one core over the corpus pages.

    .venv/bin/python scripts/parse_speed.py [--corpus DIR] [--repeat N] [--stages]

Reports `extract_bytes` (all of extraction), the decode and HTML5 parse it starts with,
and a bare `lxml.html.document_fromstring` of the whole decoded page (the baseline a
naive extractor pays), all in this one process.
`--stages` adds the CPU time of each stage of `extract_bytes`, in the order it runs
them, timed inside one extraction of each page (so the stages add up to the total).
Times are CPU times (`time.process_time`), best of N rounds: other processes on the
machine add noise, not speed.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from og_preview.extract.challenge import looks_like_challenge  # noqa: E402
from og_preview.extract.decode import decode_html  # noqa: E402
from og_preview.extract.html5 import metadata_tree, og_properties, parse_html  # noqa: E402
from og_preview.extract.jsonld import JsonLdView, extract_jsonld  # noqa: E402
from og_preview.extract.meta import body_signals, build_og, collect  # noqa: E402
from og_preview.extract.metadata import extract_bytes  # noqa: E402

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
        start = time.process_time()
        for body, url in pages:
            run(body, url)
        best = min(best, time.process_time() - start)
    per_second = len(pages) / best
    print(f"{label:<44} {per_second:8.1f} pages/s  ({1000 / per_second:6.2f} ms/page)")
    return per_second


def _stage_round(pages: list[tuple[bytes, str]]) -> dict[str, float]:
    """One round of extract_bytes' stages on every page."""
    ex = importlib.import_module("og_preview.extract.metadata")
    clock = time.process_time
    spent: dict[str, float] = defaultdict(float)
    for body, url in pages:
        t0 = clock()
        text, _encoding = decode_html(body)
        t1 = clock()
        spent["decode_html"] += t1 - t0
        doc = parse_html(text)
        t2 = clock()
        spent["HTML5 parse (turbohtml)"] += t2 - t1
        page = collect(doc)
        t3 = clock()
        spent["meta.collect"] += t3 - t2
        tree, scripts = metadata_tree(page)
        t4 = clock()
        spent["the small lxml tree"] += t4 - t3
        og = build_og(og_properties(tree), page)
        t5 = clock()
        spent["extruct OpenGraph + build_og"] += t5 - t4
        jsonld = extract_jsonld(scripts)
        t6 = clock()
        spent["extruct JSON-LD"] += t6 - t5
        ld = JsonLdView(jsonld)
        no_author, no_date = ex._missing(page, ld)
        t7 = clock()
        spent["JsonLdView + _missing"] += t7 - t6
        if no_author or no_date:
            body_signals(doc, page, author=no_author, date=no_date)
        t8 = clock()
        spent["body_signals"] += t8 - t7
        metadata = ex._fields(page, og, jsonld, ld, url, None)
        t9 = clock()
        spent["_fields"] += t9 - t8
        described = bool(metadata.og or metadata.twitter or page.scripts)
        looks_like_challenge(text, page.title, described)
        spent["looks_like_challenge"] += clock() - t9
    return spent


def stages(pages: list[tuple[bytes, str]], repeat: int) -> None:
    """Each stage's CPU time per page; each stage's best round, so a sum a little low."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        gc.collect()
        for name, seconds in _stage_round(pages).items():
            best[name] = min(best.get(name, float("inf")), seconds)
    print("\nstages of extract_bytes (ms/page, CPU, each its best round)")
    for name, seconds in best.items():
        print(f"  {name:<42} {1000 * seconds / len(pages):6.3f}")
    print(f"  {'sum':<42} {1000 * sum(best.values()) / len(pages):6.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stages", action="store_true", help="also time each stage")
    args = parser.parse_args()
    pages = load_pages(args.corpus)
    if not pages:
        print(f"no pages under {args.corpus}", file=sys.stderr)
        return 2
    mean_kb = sum(len(b) for b, _ in pages) / len(pages) / 1000
    print(f"{len(pages)} pages, mean {mean_kb:.0f} kB, best of {args.repeat} rounds, one core\n")
    rate("extract_bytes (all of extraction)", pages, lambda b, u: extract_bytes(b, u), args.repeat)
    rate(
        "decode + HTML5 parse only (turbohtml)",
        pages,
        lambda b, u: parse_html(decode_html(b)[0]),
        args.repeat,
    )
    rate(
        "baseline: decode + lxml full parse only",
        pages,
        lambda b, u: lxml.html.document_fromstring(decode_html(b)[0] or "<html/>"),
        args.repeat,
    )
    rate("decode_html only", pages, lambda b, u: decode_html(b), args.repeat)
    if args.stages:
        stages(pages, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
