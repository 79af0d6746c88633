"""The library's fresh previews: `preview` refetches a stale copy conditionally, and with
`stale_while_revalidate=True` returns it at once and refreshes it in the background."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from og_preview import Cache, Preview, Settings, preview
from tests.cli.fresh_site import Pages
from tests.site import Site


async def test_a_stale_preview_is_revalidated_by_a_304(site: Site, tmp_path: Path) -> None:
    pages = Pages(site)
    url = pages.add("api", "Stable")
    settings = Settings(allow_private=True, max_age=timedelta(0))
    with Cache(tmp_path / "api.db") as cache:
        first = await preview(url, settings, cache)
        again = await preview(url, settings, cache)
    assert (first.changed, first.from_cache) == (None, False)
    assert (again.title, again.changed, again.from_cache, again.revalidated) == (
        "Stable",
        False,
        True,
        True,
    )
    assert [code for _, code in pages.answers] == [200, 304]


async def test_stale_while_revalidate_returns_at_once_then_calls_back(
    site: Site, tmp_path: Path
) -> None:
    pages = Pages(site)
    url = pages.add("swr", "Old title")
    settings = Settings(allow_private=True, max_age=timedelta(0))
    changes: list[Preview] = []
    called = asyncio.Event()

    def on_change(record: Preview) -> None:
        changes.append(record)
        called.set()

    with Cache(tmp_path / "swr.db") as cache:
        await preview(url, settings, cache)
        pages.bodies["swr"] = "New title"
        stale = await preview(
            url, settings, cache, stale_while_revalidate=True, on_change=on_change
        )
        assert (stale.title, stale.from_cache, stale.changed) == ("Old title", True, None)
        await asyncio.wait_for(called.wait(), 10)
        stored = cache.get(url)
    assert [(r.title, r.changed) for r in changes] == [("New title", True)]
    assert stored is not None and stored.title == "New title"
