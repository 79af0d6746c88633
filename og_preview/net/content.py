"""Content types: what a response's `Content-Type` says, and what is done with its body.

One home for the rules that both the fetch (is the body worth reading?) and the record
rules in `run` (is it a page to parse, a media file that is its own preview, or
`not_html`?) follow. Standard library only, so it costs nothing to import.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "HTML_TYPES",
    "MEDIA_KINDS",
    "SNIFFABLE_TYPES",
    "is_html",
    "media_kind",
    "parse_content_type",
    "wants_body",
]

HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
# Labels servers put on pages they did not bother to type: their bodies are read too.
SNIFFABLE_TYPES: Final = frozenset(
    {"text/plain", "application/octet-stream", "unknown/unknown", "application/unknown", "*/*"}
)
# A URL answering with one of these is previewed as the file itself (`media_record`).
MEDIA_KINDS: Final = frozenset({"image", "video", "audio"})


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """`Text/HTML; charset="UTF-8"` → ("text/html", "UTF-8"); junk → (None, None)."""
    if not value:
        return None, None
    mime, *params = value.split(";")
    mime = mime.strip().lower()
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
            break
    return (mime if "/" in mime else None), charset


def is_html(mime: str | None) -> bool:
    """A page to parse: typed as HTML, or not typed at all."""
    return mime is None or mime in HTML_TYPES


def media_kind(mime: str | None) -> str | None:
    """The kind of a media type (`image/png` → "image"; video, audio), else None."""
    kind = (mime or "").partition("/")[0]
    return kind if kind in MEDIA_KINDS else None


def wants_body(status: int, mime: str | None) -> bool:
    """HTML-ish (or untyped) pages are read; error pages too, but for media, so the
    record rules can tell a bot challenge from a plain HTTP error."""
    if is_html(mime) or mime in SNIFFABLE_TYPES:
        return True
    return status >= 400 and media_kind(mime) is None
