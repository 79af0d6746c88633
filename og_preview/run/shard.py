"""What a Dask worker runs for `og-preview batch --cluster` (`cluster.py` is the client).

`preview_shard` is the fetch → parse → record path of the local worker processes, over
a shard of URLs with its own event loop and aiohttp session: only URLs come in and
records (as JSON objects) go back. Dask pickles it by reference, so a worker imports
this module, and with it no more of og-preview than a preview needs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import __version__
from ..config import Settings
from ..record import Validators, internal_error
from .previewer import Previewer

__all__ = ["VersionMismatch", "installed_version", "preview_shard", "version_problem"]


class VersionMismatch(Exception):
    """Raised on a Dask worker whose og-preview is not the client's."""


def installed_version() -> str:
    """The og-preview version of the process that runs this (a worker's, via `client.run`)."""
    return __version__


def version_problem(client: str, worker: str, where: str) -> str:
    return (
        f"og-preview {client} on the client but {worker} on {where}: "
        "run the same og-preview version on the client, the scheduler and every worker"
    )


def preview_shard(
    urls: list[str],
    settings: Settings,
    *,
    validators: dict[str, Validators] | None = None,
    expect_version: str | None = None,
) -> list[dict[str, Any]]:
    """Preview `urls` (one session, `settings.concurrency` at a time); their records as
    JSON objects, in order. Runs on a Dask worker. Never raises for a URL: a failure of
    og-preview itself is that URL's `internal` record. `validators`: those of the URLs
    whose cached copy is stale (their refetch is conditional). `expect_version`: the
    client's og-preview version; another one here raises `VersionMismatch` before any
    fetch."""
    if expect_version is not None and expect_version != __version__:
        raise VersionMismatch(version_problem(expect_version, __version__, "a Dask worker"))
    return asyncio.run(_shard(urls, settings, validators or {}))


async def _shard(
    urls: list[str], settings: Settings, validators: dict[str, Validators]
) -> list[dict[str, Any]]:
    from ..net.fetch import open_session

    slots = asyncio.Semaphore(settings.concurrency)
    async with open_session(settings) as session:
        previewer = Previewer(settings, session)

        async def one(url: str) -> dict[str, Any]:
            async with slots:
                try:
                    record = await previewer.run(url, validators.get(url))
                except Exception as exc:  # a bug must cost one URL, not the shard
                    record = internal_error(url, exc)
            return record.to_dict(internal=True)

        try:
            return list(await asyncio.gather(*(one(url) for url in urls)))
        finally:
            await previewer.aclose()
