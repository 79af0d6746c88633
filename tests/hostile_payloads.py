"""Hostile payloads: compression bombs built in milliseconds, and pages that are hard
on parsers (deep nesting, control characters, huge values, lying charsets)."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Final

MIB: Final = 1024 * 1024
BOMB_MIB: Final = 4096  # inflated size of the compression bombs: 4 GiB
DEEP: Final = 100_000
OG_HEAD: Final = (
    "<html><head><title>{t}</title><meta property='og:title' content='{t}'>"
    "<meta property='og:description' content='What {t} does.'></head><body>"
)


# -- compression bombs, built in milliseconds -----------------------------------------


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, column) for column in matrix]


def crc32_zeros(crc: int, count: int) -> int:
    """`zlib.crc32(bytes(count), crc)` in O(log count) (zlib's crc32_combine trick)."""
    op = [0xEDB88320] + [1 << row for row in range(31)]  # one zero bit
    for _ in range(3):
        op = _gf2_square(op)  # one zero byte
    register = crc ^ 0xFFFFFFFF
    while count:
        if count & 1:
            register = _gf2_times(op, register)
        op = _gf2_square(op)
        count >>= 1
    return register ^ 0xFFFFFFFF


def raw_deflate_zeros(prefix: bytes, zeros_mib: int) -> bytes:
    """Raw deflate data for `prefix` + `zeros_mib` MiB of NUL bytes.

    Compressing gigabytes takes seconds; but once its window is all zeros, the
    compressor emits the same byte-aligned block (sync flush) for every MiB,
    so that block is compressed once and repeated.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [packer.compress(prefix) + packer.flush(zlib.Z_SYNC_FLUSH)]
    one = bytes(MIB)
    blocks: list[bytes] = []
    for _ in range(min(zeros_mib, 16)):
        blocks.append(packer.compress(one) + packer.flush(zlib.Z_SYNC_FLUSH))
        if len(blocks) >= 2 and blocks[-1] == blocks[-2]:
            break
    rest = zeros_mib - len(blocks)
    if rest and blocks[-1] != blocks[-2]:
        raise RuntimeError("the deflate stream of zeros did not settle")
    repeated = blocks[-1] * rest if rest else b""
    return b"".join([*parts, *blocks, repeated, b"\x03\x00"])  # + an empty final block


def gzip_bomb(prefix: bytes, zeros_mib: int = BOMB_MIB) -> bytes:
    size = len(prefix) + zeros_mib * MIB
    crc = crc32_zeros(zlib.crc32(prefix), zeros_mib * MIB)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + raw_deflate_zeros(prefix, zeros_mib) + trailer


def deflate_bomb(prefix: bytes, zeros_mib: int = BOMB_MIB) -> bytes:
    """Content-Encoding: deflate is the zlib format (RFC 1950)."""
    adler = zlib.adler32(prefix)
    low, high = adler & 0xFFFF, adler >> 16
    high = (high + (zeros_mib * MIB % 65521) * low) % 65521
    return b"\x78\xda" + raw_deflate_zeros(prefix, zeros_mib) + struct.pack(">I", high << 16 | low)


def _brotli_bomb(prefix: bytes) -> bytes | None:
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        return None
    packer = brotli.Compressor(quality=1)
    parts = [packer.process(prefix)]
    one = bytes(MIB)
    parts += [packer.process(one) for _ in range(256)]  # 256 MiB: brotli is slower to build
    return b"".join([*parts, packer.finish()])


def _zstd_bomb(prefix: bytes) -> bytes | None:
    try:
        from backports import zstd  # type: ignore[import-not-found]
    except ImportError:
        return None
    packer = zstd.ZstdCompressor()
    parts = [packer.compress(prefix)] + [packer.compress(bytes(MIB)) for _ in range(256)]
    return b"".join([*parts, packer.flush()])


def other_bomb(encoding: str, prefix: bytes) -> bytes:
    """A brotli ("br") or zstd bomb when a library can build one; else bytes only labelled so
    (aiohttp without brotli/zstd support refuses such a body before reading it)."""
    bomb = _brotli_bomb(prefix) if encoding == "br" else _zstd_bomb(prefix)
    return bomb if bomb is not None else b"\x1b\x00\x00 not really " + encoding.encode()


# -- pages that are hard on parsers ------------------------------------------------------


def og_page(title: str, body: str = "") -> str:
    return OG_HEAD.format(t=title) + body + "</body></html>"


def og_after(prefix_bytes: int) -> bytes:
    filler = ("<p>" + "lorem ipsum dolor sit amet " * 36 + "</p>\n").encode()
    head = b"<html><body>"
    body = head + filler * (prefix_bytes // len(filler) + 1)
    tail = b"<meta property='og:title' content='Late OG'><title>Late</title></body></html>"
    return body + tail


def deep_html(depth: int = DEEP) -> bytes:
    return (og_page("Deep HTML", "<div>" * depth + "bottom" + "</div>" * depth)).encode()


def deep_jsonld(depth: int = DEEP) -> bytes:
    nested = '{"@type": "Thing", "a": ' * depth + "1" + "}" * depth
    arrays = "[" * depth + "]" * depth
    scripts = "".join(f"<script type='application/ld+json'>{s}</script>" for s in (nested, arrays))
    return (
        "<html><head><title>Deep JSON-LD</title>" + scripts + "</head><body></body></html>"
    ).encode()


CONTROL_TITLE: Final = "Hello\x01\x02\x07\x1b[31m\x08World\x7f\u200b &#1;&#x1b;&#127; end"


def control_page() -> bytes:
    return (
        "<html><head><title>" + CONTROL_TITLE + "</title>"
        "<meta property='og:title' content='" + CONTROL_TITLE + "'>"
        "<meta property='og:description' content='tab\there\x00nul\x0bvt'>"
        "</head><body></body></html>"
    ).encode()


def huge_title_page(size: int = MIB) -> bytes:
    big = "A" * size
    return (
        f"<html><head><meta property='og:title' content='{big}'><title>{big}</title>"
        f"<meta property='og:description' content='{'d ' * (size // 4)}'></head></html>"
    ).encode()


def jsonld_only_page() -> bytes:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Only in JSON-LD",
        "description": "A page whose metadata lives only in JSON-LD.",
        "image": ["/img/ld.png"],
        "datePublished": "2024-05-06T07:08:09Z",
        "author": {"@type": "Person", "name": "Ada Lovelace"},
    }
    script = f"<script type='application/ld+json'>{json.dumps(data)}</script>"
    return f"<html><head>{script}</head><body><p>text</p></body></html>".encode()


CHARSET_TEXT: Final = "Caf\u00e9 \u2013 \u201cquoted\u201d"  # Café, en dash, curly quotes
JAPANESE: Final = "日本語のタイトル — café"


def header_lies_page() -> bytes:  # served as utf-8
    return (
        f"<html><head><title>{CHARSET_TEXT}</title>"
        f"<meta property='og:title' content='{CHARSET_TEXT}'></head><body></body></html>"
    ).encode("cp1252")


def meta_lies_page() -> bytes:  # declares shift_jis
    return (
        "<html><head><meta charset='shift_jis'>"
        f"<title>{JAPANESE}</title><meta property='og:title' content='{JAPANESE}'>"
        "</head><body></body></html>"
    ).encode()
