"""A page saved on disk → its record, with no network: `parse_saved` (`og-preview parse`).

Without the page's address, relative links resolve against the page's own og:url or
canonical link when it gives one, else stay as written; a file that is no HTML page (a
PDF, an image, an archive, other binary data, text without a tag) is an error record of
kind `not_html` naming what it looks like.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final

from ..extract.deadline import ParseTimeout, time_limit
from ..record import ErrorKind, Metadata, Preview, error_preview
from ..urls import InvalidURL, normalise
from .records import parse_timeout_message, saved_page_record

if TYPE_CHECKING:
    from ..extract.metadata import Extraction

__all__ = ["parse_saved"]


def parse_saved(
    body: bytes | str,
    url: str | None = None,
    *,
    source: str = "-",
    include_jsonld: bool = True,
    parse_timeout: float | None = 10.0,
) -> Preview:
    """The record of a page saved on disk (no network).

    `url`: the page's address; relative links resolve against it (and `<base href>`),
    and it is the record's `url`. Without it, the page's own address is used when it
    gives one (og:url, else `link rel=canonical`, as an absolute http(s) URL); else
    links stay as written (`/img/a.png`) and the record's `url` is `source`, where the
    page came from (the CLI passes the file's `file:` URL, `-` for stdin). `final_url`
    is always None: nothing was fetched.

    `body` that is no HTML page (empty, a PDF, an image, an archive, other binary data,
    text without a tag) is an error of kind `not_html` naming what it looks like.
    `parse_timeout`: seconds the extraction may take (None: no limit), else the record is
    an error of kind `parse_timeout` (enforced in the main thread only: see `deadline`).
    Raises ValueError when `url` is not an http(s) URL."""
    key = None
    if url is not None:
        try:
            key = normalise(url)
        except InvalidURL as exc:
            raise ValueError(str(exc)) from None
    what = _not_html(body)
    if what is not None:
        description, mime = what
        return error_preview(
            key or source, ErrorKind.NOT_HTML, f"not an HTML page: {description}", content_type=mime
        )
    try:
        with time_limit(parse_timeout):
            if key is not None:
                return saved_page_record(key, _extract(body, key, include_jsonld))
            extraction = _as_written(_extract(body, _NO_ADDRESS, include_jsonld))
            own = _own_address(extraction.metadata.canonical_url)
            if own is None:
                return saved_page_record(source, extraction)
            return saved_page_record(own, _extract(body, own, include_jsonld))
    except ParseTimeout as exc:
        return error_preview(
            key or source, ErrorKind.PARSE_TIMEOUT, parse_timeout_message(exc.seconds)
        )


def _extract(body: bytes | str, base: str, include_jsonld: bool) -> Extraction:
    from ..extract.metadata import extract, extract_bytes

    if isinstance(body, str):
        return extract(body, base, include_jsonld=include_jsonld)
    return extract_bytes(body, base, include_jsonld=include_jsonld)


# A page with no address is extracted with this one as its base, and every link that
# resolved against it is then written back as it was written: `/img/a.png`, `a.png`.
_NO_ADDRESS_ORIGIN: Final = "https://no-address.og-preview.invalid"
_NO_ADDRESS: Final = _NO_ADDRESS_ORIGIN + "/.page/"


def _written(url: str | None) -> str | None:
    if url is None:
        return None
    if url.startswith(_NO_ADDRESS):
        return url[len(_NO_ADDRESS) :] or None
    if url.startswith(_NO_ADDRESS_ORIGIN + "/"):
        return url[len(_NO_ADDRESS_ORIGIN) :]
    return url


def _as_written(extraction: Extraction) -> Extraction:
    from dataclasses import replace

    meta = extraction.metadata
    images = [
        {
            **image,
            "url": _written(image.get("url")),
            "secure_url": _written(image.get("secure_url")),
        }
        for image in meta.images
    ]
    fields: dict[str, Any] = {
        name: _written(getattr(meta, name)) for name in ("image", "canonical_url", "icon")
    }
    return replace(
        extraction, metadata=Metadata(**{**meta.as_fields(), **fields, "images": images})
    )


def _own_address(canonical: str | None) -> str | None:
    """The page's own og:url / canonical as its address, when absolute http(s)."""
    if canonical is None or not canonical.lower().startswith(("http://", "https://")):
        return None
    try:
        return normalise(canonical)
    except InvalidURL:
        return None


# What a saved file that is no HTML page looks like, from its first bytes: (signature,
# what it is, its media type). Short or text-like signatures are left to the binary test.
_SIGNATURES: Final[tuple[tuple[bytes, str, str | None], ...]] = (
    (b"%PDF-", "a PDF document", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "image/png"),
    (b"\xff\xd8\xff", "a JPEG image", "image/jpeg"),
    (b"GIF87a", "a GIF image", "image/gif"),
    (b"GIF89a", "a GIF image", "image/gif"),
    (b"\x00\x00\x01\x00", "an icon (.ico)", "image/vnd.microsoft.icon"),
    (b"\x1f\x8b\x08", "gzip-compressed data (gunzip it first)", "application/gzip"),
    (b"PK\x03\x04", "a zip archive", "application/zip"),
    (b"\xfd7zXZ\x00", "xz-compressed data", "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data", "application/zstd"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "a RAR archive", "application/vnd.rar"),
    (b"SQLite format 3\x00", "an SQLite database", "application/vnd.sqlite3"),
    (b"\x7fELF", "a program (ELF)", None),
    (b"OggS\x00", "an Ogg media file", "application/ogg"),
    (b"fLaC\x00", "a FLAC audio file", "audio/flac"),
    (b"\x1aE\xdf\xa3", "a Matroska / WebM video", "video/webm"),
    (b"wOFF\x00", "a WOFF font", "font/woff"),
    (b"wOF2\x00", "a WOFF2 font", "font/woff2"),
    (b"%!PS-Adobe", "a PostScript document", "application/postscript"),
)
_FTYP_BRANDS: Final = {  # ISO media: `....ftyp` and a brand
    b"avif": ("an AVIF image", "image/avif"),
    b"avis": ("an AVIF image", "image/avif"),
    b"heic": ("a HEIC image", "image/heic"),
    b"heix": ("a HEIC image", "image/heic"),
    b"mif1": ("a HEIF image", "image/heif"),
}
_SNIFF_BYTES: Final = 4096
# bytes no text holds: the C0 controls but tab, line feed, form feed, carriage return, ESC
_BINARY_BYTES: Final = bytes(set(range(0x20)) - set(b"\t\n\f\r\x1b"))
_TAG: Final = re.compile(rb"<[A-Za-z!?/]")
_NAME: Final = re.compile(rb"[A-Za-z][\w:.-]*")


def _root(head: bytes) -> tuple[bool, bytes | None]:
    """(an XML declaration comes first, the first element's lower-cased name), once
    white space, comments, processing instructions and a doctype are skipped (linear)."""
    at, declared = 0, False
    while True:
        while at < len(head) and head[at] in b" \t\r\n\f":
            at += 1
        if head.startswith(b"<?", at):
            declared = declared or head[at : at + 5].lower() == b"<?xml"
            end = head.find(b">", at)
        elif head.startswith(b"<!--", at):
            end = head.find(b"-->", at + 4)
            end = end + 2 if end >= 0 else -1
        elif head[at : at + 9].upper() == b"<!DOCTYPE":
            end = head.find(b">", at)
        elif head.startswith(b"<", at) and (name := _NAME.match(head, at + 1)) is not None:
            return declared, name.group().lower()
        else:
            return declared, None
        if end < 0:
            return declared, None
        at = end + 1


_XML_KINDS: Final = {
    b"rss": ("an RSS feed", "application/rss+xml"),
    b"rdf:rdf": ("an RSS feed", "application/rss+xml"),
    b"feed": ("an Atom feed", "application/atom+xml"),
    b"svg": ("an SVG image", "image/svg+xml"),
    b"urlset": ("a sitemap", "application/xml"),
    b"sitemapindex": ("a sitemap", "application/xml"),
}


def _not_html(body: bytes | str) -> tuple[str, str | None] | None:
    """What `body` looks like when it is no HTML page ("a PDF document", its media type
    when known), else None. A page is HTML when it holds a tag and is neither binary, nor
    an XML document of another kind, nor JSON. HTML in UTF-16 is told by its byte-order
    mark."""
    if isinstance(body, str):
        text = body.encode("utf-8", "replace")
    elif body.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark
        text = body.decode("utf-16", "replace").encode("utf-8", "replace")
    else:
        text = body.removeprefix(b"\xef\xbb\xbf")
    if not text.strip():
        return ("empty", None)
    head = text[:_SNIFF_BYTES]
    for magic, description, mime in _SIGNATURES:
        if head.startswith(magic):
            return (description, mime)
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], ("an MP4 / QuickTime media file", "video/mp4"))
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ("a WebP image", "image/webp")
    if len(head) - len(head.translate(None, _BINARY_BYTES)) > len(head) // 50:
        return ("binary data", "application/octet-stream")
    declared, name = _root(head)
    if name in _XML_KINDS:
        return _XML_KINDS[name]
    if declared and name not in (None, b"html"):
        return ("an XML document", "application/xml")
    if head.lstrip()[:1] in (b"{", b"["):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return ("a JSON document", "application/json")
    if _TAG.search(text) is None:
        return ("text without any HTML markup", "text/plain")
    return None
