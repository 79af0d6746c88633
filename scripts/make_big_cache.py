"""Fill a cache file with N synthetic rows, quickly, through the real `Cache.save_many`.

    python scripts/make_big_cache.py /tmp/big.db 100000 [--batch 1000]

About 1 row in 10 is an error (kinds rotate), hosts rotate over 500 names, and
`fetched_at` spreads over the last 30 days. Prints rows/s for `save_many`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from og_preview.record import ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache
from og_preview.store.schema import iso_utc

KINDS = [k for k in ErrorKind if k is not ErrorKind.INVALID_URL]


def synthetic(n: int, *, start: int = 0) -> Iterator[Preview]:
    now = datetime.now(UTC)
    for i in range(start, start + n):
        url = f"https://site{i % 500}.example/page/{i}"
        when = iso_utc(now - timedelta(seconds=(i * 26) % (30 * 86400)))
        if i % 10 == 9:
            kind = KINDS[(i // 10) % len(KINDS)]
            yield error_preview(url, kind, f"synthetic {kind.value}", fetched_at=when, attempts=4)
            continue
        yield Preview(
            url=url,
            final_url=url,
            status=Status.PROCESSED,
            http_status=200,
            content_type="text/html",
            title=f"Page {i} of site {i % 500}",
            description="A synthetic page used to measure the cache. " * 3,
            image=f"https://site{i % 500}.example/img/{i}.jpg",
            images=[{"url": f"https://site{i % 500}.example/img/{i}.jpg", "width": 1200}],
            site_name=f"Site {i % 500}",
            type="article",
            canonical_url=url,
            lang="en",
            og={"og:title": f"Page {i}", "og:type": "article"},
            twitter={"twitter:card": "summary_large_image"},
            jsonld=[{"@type": "Article", "headline": f"Page {i}", "body": "x" * 400}],
            attempts=1,
            fetched_at=when,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("rows", type=int)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0, help="first row number (URL suffix)")
    args = parser.parse_args()
    began = time.perf_counter()
    batch: list[Preview] = []
    with Cache(args.path) as cache:
        for preview in synthetic(args.rows, start=args.start):
            batch.append(preview)
            if len(batch) >= args.batch:
                cache.save_many(batch)
                batch.clear()
        if batch:
            cache.save_many(batch)
    took = time.perf_counter() - began
    rate = args.rows / took
    print(f"{args.rows} rows in {took:.2f} s ({rate:,.0f} rows/s, batches of {args.batch})")


if __name__ == "__main__":
    main()
