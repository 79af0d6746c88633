"""Is this response an image, and how large? Judged from its headers and first bytes.

The first 64 KiB of an image hold its format's signature and, for the formats
previews use (PNG, JPEG, GIF, WebP, ...), its width and height, which the
`imagesize` library reads. Pure functions: no network, easy to test.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import imagesize  # type: ignore[import-untyped]

from .content import SNIFFABLE_TYPES

__all__ = [
    "ImageStatus",
    "Judgement",
    "extent",
    "image_format",
    "judge_head",
    "judge_image",
]


class ImageStatus(StrEnum):
    OK = "ok"
    BROKEN = "broken"  # 4xx/5xx, a failed connection, a truncated or unreadable image
    BLOCKED = "blocked"  # refused by the address guard, or not an http(s) URL
    NOT_IMAGE = "not_image"  # the content type or the bytes are not an image
    TIMEOUT = "timeout"


# (signature at offset 0, format); formats whose header must hold the size are SIZED.
_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"\x00\x00\x02\x00", "ico"),  # (a cursor)
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jxl"),
    (b"\xff\x0a", "jxl"),
)
SIZED: Final = frozenset({"png", "jpeg", "gif", "webp", "bmp"})
# ISO base media files that are still images (not mp4 videos): their `ftyp` brands.
_IMAGE_BRANDS: Final = frozenset(
    {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
)
_BMP_HEADER_SIZES: Final = frozenset({12, 40, 52, 56, 64, 108, 124})
# The content types of the formats above: bytes that are none of them are not an image.
_KNOWN_TYPES: Final = frozenset(
    {"image/png", "image/apng", "image/jpeg", "image/pjpeg", "image/gif", "image/webp"}
)
_SVG_START: Final = re.compile(rb"\s*(?:<\?xml|<!--|<!doctype\s+svg|<svg)", re.IGNORECASE)
_BINARY: Final = frozenset(range(0, 9)) | frozenset(range(14, 32)) | {127}
_CONTENT_RANGE: Final = re.compile(r"\s*bytes\s+(?:\d+\s*-\s*\d+|\*)\s*/\s*(\d+)\s*$", re.I)


@dataclass(frozen=True, slots=True)
class Judgement:
    status: ImageStatus
    width: int | None = None
    height: int | None = None
    reason: str | None = None  # why, when not ok


def image_format(head: bytes) -> str | None:
    """The image format `head` (a file's first bytes) starts with, else None."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "heif"
    return "svg" if _is_svg(head) else None


def _is_svg(head: bytes) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf")
    if not _SVG_START.match(text):
        return False
    lower = text[:4096].lower()
    svg = lower.find(b"<svg")
    html = lower.find(b"<html")
    return svg >= 0 and (html < 0 or svg < html)


def _looks_binary(head: bytes) -> bool:
    return any(byte in _BINARY for byte in head[:1024])


def _size(head: bytes) -> tuple[int | None, int | None]:
    try:
        width, height = imagesize.get(io.BytesIO(head))
    except Exception:  # (older releases raise on some malformed headers)
        return None, None
    if not (isinstance(width, int | float) and isinstance(height, int | float)):
        return None, None
    if width <= 0 or height <= 0:
        return None, None
    return round(width), round(height)


def judge_head(mime: str | None) -> Judgement:
    """A `HEAD` answer (no bytes to look at): its content type alone decides."""
    if (mime or "").startswith("image/"):
        return Judgement(ImageStatus.OK)
    what = mime or "no content type"
    return Judgement(ImageStatus.NOT_IMAGE, reason=f"{what} is not an image type")


def judge_image(mime: str | None, head: bytes, *, complete: bool) -> Judgement:
    """Judge a 2xx answer from its content type and first bytes.

    `complete`: `head` is the whole file, so a size its format must state but does not
    means the file is cut short or corrupt (`broken`); when more followed, the size may
    just lie beyond what was read (ok, size unknown).
    """
    if mime is not None and not mime.startswith("image/") and mime not in SNIFFABLE_TYPES:
        return Judgement(ImageStatus.NOT_IMAGE, reason=f"{mime} is not an image type")
    kind = image_format(head)
    if kind is None:
        if not head:
            return Judgement(ImageStatus.BROKEN, reason="empty body")
        if mime is None or mime in SNIFFABLE_TYPES or mime in _KNOWN_TYPES:
            return Judgement(ImageStatus.NOT_IMAGE, reason="the bytes are not an image")
        if not _looks_binary(head):  # e.g. an HTML error page labelled image/x-icon
            return Judgement(ImageStatus.NOT_IMAGE, reason=f"text served as {mime}")
        return Judgement(ImageStatus.OK)  # a format not recognised here: its label stands
    width, height = _size(head)
    if width is None and kind in SIZED and complete:
        return Judgement(ImageStatus.BROKEN, reason=f"truncated or unreadable {kind} image")
    return Judgement(ImageStatus.OK, width, height)


def extent(
    status: int, headers: Mapping[str, str], read: int | None, more: bool
) -> tuple[int | None, bool]:
    """(the image's size in bytes, whether the `read` bytes were all of it).

    The size is Content-Range's total for a 206, else Content-Length of an unencoded
    answer, else what was read when it was all of it; None when unknown. `headers`: the
    answer's (a case-insensitive mapping); `read`: bytes read, None for a HEAD; `more`:
    the body went on past them.
    """
    if status == 206:
        match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
        total = int(match.group(1)) if match else None
        return total, total is not None and read is not None and read >= total
    complete = read is not None and not more
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    length = headers.get("Content-Length", "").strip()
    if encoding == "identity" and length.isdigit():
        return int(length), complete
    return (read if complete else None), complete
