"""The reference contenders, run as a subprocess by bench.py:

    python bench/contenders.py bare|extruct URL_FILE [--concurrency 32] [--resolver KIND]

`bare`: one aiohttp ClientSession, a semaphore, GET every URL and read the body
fully; no parsing (the ceiling). `extruct`: the same loop, but each body is
decoded and run through `extruct.extract(..., syntaxes=["opengraph", "json-ld"],
uniform=True)` right in the event loop (the naive way). Prints one JSON line:
`{"ok": N, "failed": N, "parse_errors": N, "bytes": N}` (a page whose JSON-LD
makes extruct raise is fetched fine but counted in `parse_errors`).
`--resolver threaded|async` picks aiohttp's ThreadedResolver (getaddrinfo on the
loop's default executor) or AsyncResolver (aiodns) rather than aiohttp's default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import AsyncResolver, ThreadedResolver

RESOLVERS: dict[str, type[AbstractResolver]] = {
    "threaded": ThreadedResolver,
    "async": AsyncResolver,
}


def naive_extract(body: bytes, url: str, charset: str | None) -> Any:
    import extruct

    html = body.decode(charset or "utf-8", errors="replace")
    return extruct.extract(html, base_url=url, syntaxes=["opengraph", "json-ld"], uniform=True)


async def run(
    urls: list[str],
    concurrency: int,
    parse: Callable[..., Any] | None,
    resolver: str = "default",
) -> dict[str, int]:
    sem = asyncio.Semaphore(concurrency)
    counts = {"ok": 0, "failed": 0, "parse_errors": 0, "bytes": 0}
    kind = RESOLVERS.get(resolver)
    lookup = kind() if kind is not None else None  # None: aiohttp's default, its own
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, resolver=lookup)
    timeout = aiohttp.ClientTimeout(total=60)

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        async with sem:
            try:
                async with session.get(url) as response:
                    body = await response.read()
                    charset = response.charset
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                counts["failed"] += 1
                return
            if parse is not None:
                try:
                    parse(body, url, charset)
                except Exception:  # naive: extruct raises on broken JSON-LD; count it
                    counts["parse_errors"] += 1
            counts["ok" if ok else "failed"] += 1
            counts["bytes"] += len(body)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # one task per URL is fine at bench sizes (a few thousand)
        await asyncio.gather(*(one(session, url) for url in urls))
    if lookup is not None:
        await lookup.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="bare aiohttp loop / naive in-loop extruct")
    parser.add_argument("mode", choices=("bare", "extruct"))
    parser.add_argument("urls", type=Path)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--resolver", choices=("default", *RESOLVERS), default="default")
    args = parser.parse_args()
    urls = [line.strip() for line in args.urls.read_text().splitlines() if line.strip()]
    if args.mode == "extruct":
        import extruct  # noqa: F401  - import before the clock matters as little as possible

    parse = naive_extract if args.mode == "extruct" else None
    counts = asyncio.run(run(urls, args.concurrency, parse, args.resolver))
    sys.stdout.write(json.dumps(counts) + "\n")


if __name__ == "__main__":
    main()
