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
from ..record import Preview, Validators
from .records import build_record, now_iso, revalidated_record, timed_out_record

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from ..extract.metadata import Extraction
    from ..net.fetch import FetchResult
    from ..net.images import ImageChecks

__all__ = ["Previewer"]

NOT_MODIFIED = 304


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
        self._images: ImageChecks | None = None  # (with --check-images, made on first use)

    async def run(self, url: str, validators: Validators | None = None) -> Preview:
        """`url`'s record; `validators`: the cached copy's (a conditional refetch)."""
        record = await self._preview(url, validators)
        if self.settings.check_images and record.ok and record.image and not record.revalidated:
            record = record.with_changes(image_check=await self._check_image(record.image))
        return record

    async def _check_image(self, url: str) -> dict[str, object]:
        if self._images is None:
            from ..net.images import ImageChecks

            self._images = ImageChecks(self.session, self.settings, gate=self.gate)
        check = await self._images.check(url)
        return check.to_dict()

    async def aclose(self) -> None:
        """Stop the image checks still running (before the session closes)."""
        if self._images is not None:
            await self._images.aclose()

    async def _preview(self, url: str, validators: Validators | None) -> Preview:
        fetch, extract_bytes = _fetch_and_extract()
        fetched = await fetch(
            url,
            self.session,
            self.settings,
            gate=self.gate,
            final=looks_like_challenge,
            validators=validators,
        )
        fetched_at = now_iso()
        if fetched.error is None and fetched.http_status == NOT_MODIFIED:
            return revalidated_record(fetched, fetched_at, validators is not None)
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
