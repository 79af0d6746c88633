"""Judging an image from its content type and first bytes (net/imagebytes.py).

The builders here make small, valid image files by hand (no imaging library); the
integration tests of check_image() serve them too.
"""

from __future__ import annotations

import struct
import zlib

import pytest
from multidict import CIMultiDict

from og_preview.net.imagebytes import ImageStatus, extent, image_format, judge_head, judge_image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of `width` x `height` black pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, *, sof: bool = True) -> bytes:
    """A baseline JPEG's markers up to its frame header (what a size reader reads)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    components = b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    return b"\xff\xd8" + app0 + (sof0 if sof else b"") + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    """A valid one-colour GIF89a."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


def webp(width: int, height: int) -> bytes:
    """An extended-format (VP8X) WebP header."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


HTML = b"<!DOCTYPE html><html><head><title>Not found</title></head></html>"


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (png(3, 2), "png", (3, 2)),
        (jpeg(1200, 630), "jpeg", (1200, 630)),
        (gif(16, 9), "gif", (16, 9)),
        (webp(1024, 512), "webp", (1024, 512)),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"/>', "svg", (40, 30)),
    ],
)
def test_formats_and_sizes(data: bytes, kind: str, size: tuple[int, int]) -> None:
    assert image_format(data) == kind
    verdict = judge_image("image/" + kind, data, complete=True)
    assert (verdict.status, (verdict.width, verdict.height)) == (ImageStatus.OK, size)


@pytest.mark.parametrize(
    "data",
    [HTML, b"", b"hello", b"\x00\x00\x00\x18ftypmp42", b"<?xml version='1.0'?><html/>"],
)
def test_not_an_image_format(data: bytes) -> None:
    assert image_format(data) is None


def test_an_image_served_as_octet_stream_is_judged_by_its_bytes() -> None:
    verdict = judge_image("application/octet-stream", png(5, 4), complete=True)
    assert (verdict.status, verdict.width, verdict.height) == (ImageStatus.OK, 5, 4)
    assert judge_image(None, gif(1, 1), complete=True).status is ImageStatus.OK


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "application/octet-stream", None])
def test_html_served_as_an_image_is_not_one(mime: str | None) -> None:
    verdict = judge_image(mime, HTML, complete=True)
    assert verdict.status is ImageStatus.NOT_IMAGE


def test_text_labelled_with_an_unknown_image_type_is_not_one() -> None:
    assert judge_image("image/x-icon", HTML, complete=True).status is ImageStatus.NOT_IMAGE


def test_unknown_binary_image_type_keeps_its_label() -> None:
    verdict = judge_image("image/x-exotic", b"\x01\x02\x03binary", complete=True)
    assert (verdict.status, verdict.width) == (ImageStatus.OK, None)


@pytest.mark.parametrize("mime", ["text/html", "application/pdf", "video/mp4"])
def test_a_non_image_content_type_is_not_an_image(mime: str) -> None:
    assert judge_image(mime, png(1, 1), complete=True).status is ImageStatus.NOT_IMAGE


@pytest.mark.parametrize("data", [png(3, 2)[:20], jpeg(10, 10, sof=False), gif(4, 4)[:8]])
def test_a_whole_file_without_its_size_is_broken(data: bytes) -> None:
    verdict = judge_image("image/png", data, complete=True)
    assert verdict.status is ImageStatus.BROKEN
    assert verdict.reason is not None and "truncated" in verdict.reason


def test_size_beyond_what_was_read_is_unknown_not_broken() -> None:
    verdict = judge_image("image/jpeg", jpeg(10, 10, sof=False), complete=False)
    assert (verdict.status, verdict.width, verdict.height) == (ImageStatus.OK, None, None)


def test_an_empty_body_is_broken() -> None:
    assert judge_image("image/png", b"", complete=True).status is ImageStatus.BROKEN


def test_an_svg_without_size_is_an_image() -> None:
    data = b'<?xml version="1.0"?>\n<svg viewBox="0 0 10 10"></svg>'
    verdict = judge_image("image/svg+xml", data, complete=True)
    assert (verdict.status, verdict.width) == (ImageStatus.OK, None)


def test_head_is_judged_by_content_type() -> None:
    assert judge_head("image/webp").status is ImageStatus.OK
    assert judge_head("text/html").status is ImageStatus.NOT_IMAGE
    assert judge_head(None).status is ImageStatus.NOT_IMAGE


@pytest.mark.parametrize(
    ("status", "headers", "read", "more", "expected"),
    [
        (206, {"Content-Range": "bytes 0-65535/1048576"}, 65536, False, (1048576, False)),
        (206, {"Content-Range": "bytes 0-99/100"}, 100, False, (100, True)),
        (206, {"Content-Range": "bytes 0-99/*"}, 100, False, (None, False)),
        (206, {"content-range": "garbage", "Content-Length": "100"}, 100, False, (None, False)),
        (200, {"Content-Length": "5000000"}, 65536, True, (5000000, False)),
        (200, {"Content-Length": "300"}, 300, False, (300, True)),
        (200, {}, 300, False, (300, True)),
        (200, {}, 65536, True, (None, False)),
        (200, {"Content-Encoding": "gzip", "Content-Length": "10"}, 65536, True, (None, False)),
        (200, {"Content-Length": "-1"}, 65536, True, (None, False)),
        (200, {"Content-Length": "42"}, None, False, (42, False)),  # a HEAD
    ],
)
def test_extent(
    status: int,
    headers: dict[str, str],
    read: int | None,
    more: bool,
    expected: tuple[int | None, bool],
) -> None:
    assert extent(status, CIMultiDict(headers), read, more) == expected
