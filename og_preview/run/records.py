"""The record rules: what a fetch (and its extraction) becomes, and every other outcome a
URL can have in a run (invalid input, an extraction past its deadline, a batch stopped
before the URL finished). Error kinds are decided here and nowhere else; what a content
type means is `net.content`'s.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..net.content import is_html, media_kind
from ..record import ErrorKind, Metadata, Preview, Status, error_preview

if TYPE_CHECKING:
    from ..extract.metadata import Extraction
    from ..net.fetch import FetchResult
    from ..urls import InputURL

__all__ = [
    "build_record",
    "interrupted_record",
    "invalid_record",
    "media_record",
    "now_iso",
    "parse_timeout_message",
    "revalidated_record",
    "saved_page_record",
    "timed_out_record",
]

_now: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The current UTC time, to the second (formatted once a second)."""
    global _now
    second = int(time.time())
    if second != _now[0]:
        _now = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _now[1]


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
    if media_kind(fetched.content_type) is not None:
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
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        **common,  # type: ignore[arg-type]
        **meta.as_fields(),
    )


def revalidated_record(fetched: FetchResult, fetched_at: str, sent: bool) -> Preview:
    """A `304 Not Modified`: the cached record stands (the cache returns it, `changed:
    false`, with the time it was checked). A 304 to a request that sent no validators
    has no cached copy to stand for: an `http` error."""
    if not sent:
        return error_preview(
            fetched.url,
            ErrorKind.HTTP,
            "HTTP 304 (Not Modified) to a request for the whole page",
            http_status=fetched.http_status,
            final_url=fetched.final_url,
            attempts=fetched.attempts,
            fetched_at=fetched_at,
        )
    return Preview(
        url=fetched.url,
        final_url=fetched.final_url,
        status=Status.PROCESSED,
        http_status=fetched.http_status,
        attempts=fetched.attempts,
        fetched_at=fetched_at,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        revalidated=True,
    )


def _usable(meta: Metadata) -> bool:
    return bool(meta.title or meta.description or meta.image or meta.og or meta.twitter)


def media_record(fetched: FetchResult, fetched_at: str) -> Preview:
    """An image or video URL is its own preview, as the big unfurlers show it."""
    kind = media_kind(fetched.content_type)
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
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )


def _file_name(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def _image(url: str, content_type: str | None) -> dict[str, object]:
    return {
        "url": url,
        "secure_url": None,
        "type": content_type,
        "width": None,
        "height": None,
        "alt": None,
    }


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


def saved_page_record(url: str, extraction: Extraction) -> Preview:
    """A page read from disk (`parse`) → its record: no fetch, so no status or final URL."""
    if extraction.challenge:
        return error_preview(url, ErrorKind.CHALLENGE, "bot challenge page instead of the content")
    return Preview(url=url, status=Status.PROCESSED, **extraction.metadata.as_fields())


def invalid_record(item: InputURL) -> Preview:
    """An input line that is no URL we fetch (reported, never cached: its text is no key)."""
    return error_preview(item.raw, ErrorKind.INVALID_URL, item.problem or "invalid URL")


def interrupted_record(url: str) -> Preview:
    """A URL the batch stopped before finishing: fetched again when the batch is rerun."""
    return error_preview(
        url, ErrorKind.INTERRUPTED, "the batch stopped before this URL finished; run it again"
    )
