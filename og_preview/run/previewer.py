"""The record rules: one fetch (and its extraction) → the record, error kinds decided here.

`Previewer.run(url)` is the whole fetch → parse → record path for one URL with a shared
session; it runs in the main process (`--workers 0`, `fetch`), in each worker process of
the local pool (`pool.py`) and in the tasks of a Dask cluster (`cluster.py`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..config import Settings
from ..extract.challenge import looks_like_challenge
from ..extract.deadline import ParseTimeout, time_limit
from ..net.hostgate import HostGate
from ..record import ErrorKind, Metadata, Preview, Status, error_preview

if TYPE_CHECKING:
    from aiohttp import ClientSession

    from ..extract.metadata import Extraction
    from ..net.fetch import FetchResult

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MEDIA_PREFIXES = ("image/", "video/", "audio/")
CHALLENGE_STATUSES = frozenset({403, 429, 503})


_now: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The current UTC time, to the second (formatted once a second)."""
    global _now
    second = int(time.time())
    if second != _now[0]:
        _now = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _now[1]


def is_html(content_type: str | None) -> bool:
    return content_type is None or content_type in HTML_TYPES


def _file_name(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def media_record(fetched: FetchResult, fetched_at: str) -> Preview:
    """An image or video URL is its own preview, as the big unfurlers show it."""
    kind = (fetched.content_type or "").split("/", 1)[0]
    og = {f"og:{kind}": fetched.final_url} if kind in ("video", "audio") else {}
    return Preview(
        url=fetched.url,
        final_url=fetched.final_url,
        status=Status.PROCESSED,
        http_status=fetched.http_status,
        content_type=fetched.content_type,
        title=_file_name(fetched.final_url),
        image=fetched.final_url if kind == "image" else None,
        images=[_image(fetched.final_url, fetched.content_type)] if kind == "image" else [],
        type=kind,
        og=og,
        attempts=fetched.attempts,
        fetched_at=fetched_at,
    )


def _image(url: str, content_type: str | None) -> dict[str, object]:
    return {
        "url": url,
        "secure_url": None,
        "type": content_type,
        "width": None,
        "height": None,
        "alt": None,
    }


def _usable(meta: Metadata) -> bool:
    return bool(meta.title or meta.description or meta.image or meta.og or meta.twitter)


def build_record(fetched: FetchResult, extraction: Extraction | None, fetched_at: str) -> Preview:
    """One fetch (and its extraction, for HTML) → the record, error kinds decided here."""
    common = {
        "final_url": fetched.final_url,
        "attempts": fetched.attempts,
        "fetched_at": fetched_at,
        "content_type": fetched.content_type,
    }
    if fetched.error is not None:
        return error_preview(
            fetched.url,
            fetched.error.kind,
            fetched.error.message,
            http_status=fetched.error.http_status or fetched.http_status,
            **common,  # type: ignore[arg-type]
        )
    status = fetched.http_status or 0
    if extraction is not None and extraction.challenge:
        return error_preview(
            fetched.url,
            ErrorKind.CHALLENGE,
            f"bot challenge page (HTTP {status}) instead of the content",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    if status >= 400:
        reason = f"HTTP {status}"
        if fetched.retry_after is not None and status in (429, 503):
            reason += f"; the server asked to retry after {fetched.retry_after:.0f}s"
        return error_preview(fetched.url, ErrorKind.HTTP, reason, http_status=status, **common)  # type: ignore[arg-type]
    if fetched.content_type and fetched.content_type.startswith(MEDIA_PREFIXES):
        return media_record(fetched, fetched_at)
    if not is_html(fetched.content_type) or extraction is None:
        return error_preview(
            fetched.url,
            ErrorKind.NOT_HTML,
            f"content type {fetched.content_type} is not HTML",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    meta = extraction.metadata
    if fetched.truncated and not _usable(meta):
        return error_preview(
            fetched.url,
            ErrorKind.TOO_LARGE,
            f"nothing usable in the first {len(fetched.body)} bytes",
            http_status=status,
            **common,  # type: ignore[arg-type]
        )
    return Preview(
        url=fetched.url,
        status=Status.PROCESSED,
        http_status=status,
        error=None,
        from_cache=False,
        **common,  # type: ignore[arg-type]
        **meta.as_fields(),
    )


def parse_timeout_message(seconds: float) -> str:
    return f"extraction took longer than {seconds:g}s (--parse-timeout)"


def timed_out_record(fetched: FetchResult, fetched_at: str, seconds: float) -> Preview:
    """A page whose extraction ran past `--parse-timeout`, with what the fetch told."""
    return error_preview(
        fetched.url,
        ErrorKind.PARSE_TIMEOUT,
        parse_timeout_message(seconds),
        http_status=fetched.http_status,
        final_url=fetched.final_url,
        attempts=fetched.attempts,
        fetched_at=fetched_at,
        content_type=fetched.content_type,
    )


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
