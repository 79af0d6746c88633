"""One URL, worker side: fetch → parse under the deadline → record (`records.py`).

`Previewer.run(url)` is the whole path for one URL with a shared session; it runs in the
main process (`--workers 0`, `fetch`), in each worker process of the local pool
(`pool.py`) and in the tasks of a Dask cluster (`cluster.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..config import Settings
from ..extract.challenge import looks_like_challenge
from ..extract.deadline import ParseTimeout, time_limit
from ..net.content import is_html
from ..net.hostgate import HostGate
from ..record import Preview
from .records import build_record, now_iso, timed_out_record

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from ..extract.metadata import Extraction
    from ..net.fetch import FetchResult

__all__ = ["Previewer"]


@functools.cache
def _fetch_and_extract() -> tuple[Callable[..., Awaitable[FetchResult]], Callable[..., Extraction]]:
    """`fetch.fetch` and `extract.extract_bytes`, imported on first use (aiohttp, lxml)."""
    from ..extract.metadata import extract_bytes
    from ..net.fetch import fetch

    return fetch, extract_bytes


class Previewer:
    """Fetch → parse → record for one URL, with a shared session and parser."""

    def __init__(self, settings: Settings, session: ClientSession) -> None:
        self.settings = settings
        self.session = session
        self.gate = HostGate()

    async def run(self, url: str) -> Preview:
        fetch, extract_bytes = _fetch_and_extract()
        fetched = await fetch(
            url, self.session, self.settings, gate=self.gate, final=looks_like_challenge
        )
        fetched_at = now_iso()
        extraction = None
        status = fetched.http_status or 0
        # parse HTML answers, and error pages too (a 403/503 may be a bot challenge)
        if (
            fetched.error is None
            and is_html(fetched.content_type)
            and (fetched.body or status < 400)
        ):
            try:
                with time_limit(self.settings.parse_timeout):
                    extraction = extract_bytes(
                        fetched.body,
                        fetched.final_url,
                        header_charset=fetched.charset,
                        content_language=fetched.content_language,
                        include_jsonld=self.settings.include_jsonld,
                    )
            except ParseTimeout:
                # an error page was parsed only to tell a bot challenge: it stays an `http`
                # error; a page that was to be previewed is a `parse_timeout`
                if status < 400:
                    return timed_out_record(fetched, fetched_at, self.settings.parse_timeout)
        return build_record(fetched, extraction, fetched_at)
