"""Bytes → text, the way browsers do it (WHATWG "encoding sniffing", simplified).

Order: byte-order mark → transport (HTTP header) charset → `<meta charset>` /
http-equiv prescan of the first 64 KiB → detection. A declared charset is
checked against the bytes: pages that declare a single-byte charset but are
valid UTF-8 (with non-ASCII bytes) are UTF-8, and a declaration whose decode
fails badly gives way to detection. Undecodable bytes are replaced; this
module never raises. (Charset labels and codec names: `charsets.py`.)
"""

from __future__ import annotations

import codecs
import re

from .charsets import ASCII_COMPATIBLE, normalize_charset, python_codec, web_name

__all__ = ["decode_html", "normalize_charset", "sniff_encoding"]

PRESCAN_BYTES = 64 * 1024
LATE_PRESCAN_BYTES = 1024 * 1024
DETECT_BYTES = 128 * 1024

_WEB_CHARSETS = frozenset(
    {
        "iso-8859-2",
        "iso-8859-4",
        "iso-8859-5",
        "iso-8859-6",
        "iso-8859-7",
        "iso-8859-8",
        "iso-8859-10",
        "iso-8859-13",
        "iso-8859-15",
        "koi8-r",
        "koi8-u",
        "windows-1255",
        "windows-1257",
        "windows-1258",
        "gbk",
        "iso-2022-jp",
        "utf-16le",
        "utf-16be",
        "ibm866",
    }
)  # the WHATWG encodings a detector may fairly pick beyond `_WEB_PREFERENCE`
_WEB_PREFERENCE = (
    "utf-8",
    "windows-1252",
    "windows-1251",
    "gb18030",
    "shift_jis",
    "euc-kr",
    "big5",
    "euc-jp",
    "windows-1250",
    "windows-1256",
    "windows-1253",
    "windows-1254",
    "windows-874",
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
)

# (case-insensitive on the bytes themselves: no lower-cased copy of 64 kB to make)
_META_CHARSET = re.compile(
    rb"""<(?i:meta)\b[^>]*?\b(?i:charset)\s*=\s*["']?\s*([a-zA-Z0-9_.:\-]+)"""
)
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
# (the late prescan is rare: only pages without a declaration in their first 64 KiB)


def _decode(body: bytes, name: str) -> str:
    try:
        return body.decode(python_codec(name), errors="replace")
    except (LookupError, ValueError):
        return body.decode("utf-8", errors="replace")


def _prescan(body: bytes) -> str | None:
    """`<meta charset=…>` or `<meta http-equiv=content-type content="…charset=…">`.

    Looks at the first 64 KiB, then (pages with huge inline scripts first) the rest of
    the head, up to LATE_PRESCAN_BYTES.
    """
    early = body.find(b"charset", 0, 4096)  # the usual case: declared early, in lower case
    if early >= 0:
        found = _scan(body, 0, min(PRESCAN_BYTES, early + 200))
        if found is not None:
            return found
    found = _scan(body, 0, PRESCAN_BYTES)
    if found is None and len(body) > PRESCAN_BYTES:
        head_end = _HEAD_END.search(body, 0, LATE_PRESCAN_BYTES)
        found = _scan(body, 0, head_end.start() if head_end else LATE_PRESCAN_BYTES)
    return found


def _scan(body: bytes, start: int, end: int) -> str | None:
    for match in _META_CHARSET.finditer(body, start, end):
        try:
            name = normalize_charset(match.group(1).lower().decode("ascii"))
        except UnicodeDecodeError:
            continue
        if name is not None:
            # WHATWG: a meta declaring UTF-16 is read as UTF-8 (the bytes are ASCII-compatible)
            return "utf-8" if name.startswith("utf-16") else name
    return None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte sequence cut off by a size limit at the very end is still UTF-8
        return exc.start >= len(body) - 3 and exc.reason == "unexpected end of data"
    return True


def _badly_decoded(body: bytes, name: str) -> bool:
    """Does decoding with `name` produce a noticeable share of replacement characters?"""
    if body.isascii():
        return False
    sample = body[:DETECT_BYTES]
    if sample.isascii():
        return False
    try:
        sample.decode(python_codec(name))
    except UnicodeDecodeError:
        bad = sample.decode(python_codec(name), errors="replace").count("\ufffd")
        return bad > max(2, len(_NON_ASCII.findall(sample)) // 50)
    except (LookupError, ValueError):
        return True
    return False


def _detect(body: bytes) -> str:
    if body.isascii() or _is_utf8(body):
        return "utf-8"
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(body[:DETECT_BYTES]))
    except Exception:  # detection is a best effort
        matches = []
    if not matches:
        return "windows-1252"
    best = matches[0]
    # Near-ties are common between single-byte code pages (cp1250 vs cp1252 for French):
    # among the candidates as good as the best, prefer what the web actually uses.
    tied = [
        name
        for m in matches
        if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.15
        for name in [web_name(m.encoding)]
        if name is not None
    ]
    for name in _WEB_PREFERENCE:
        if name in tied:
            return name
    # A DOS or Mac code page (cp775, cp437, mac-roman...) "wins" on short Western text
    # now and then; pages practically never use those: the web's default is windows-1252.
    if tied and tied[0] in _WEB_CHARSETS:
        return tied[0]
    return "windows-1252"


def _choose(body: bytes, header_charset: str | None) -> str:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    declared = normalize_charset(header_charset) or _prescan(body)
    if declared is None:
        return _detect(body)
    # common lie: bytes re-encoded as UTF-8 but the old declaration kept. Text in a
    # legacy encoding is practically never valid UTF-8 once it has non-ASCII bytes.
    if declared != "utf-8" and not body.isascii() and _is_utf8(body):
        return "utf-8"
    if _badly_decoded(body, declared):
        return _detect(body)
    return declared


def sniff_encoding(body: bytes, header_charset: str | None = None) -> str:
    """The encoding `decode_html` would use for `body` (a WHATWG name). Never raises."""
    try:
        return _choose(body, header_charset)
    except Exception:  # never fatal
        return "utf-8"


def _as_utf8(body: bytes, header_charset: str | None) -> tuple[str, str] | None:
    """What `_choose` + `_decode` give a page whose bytes are UTF-8 (most pages), in one
    strict decode; None for every other page (and for a BOM: `_choose` reads those)."""
    if body[:1] in (b"\xef", b"\xfe", b"\xff", b"\x00", b"+"):  # a BOM can start so
        return None
    declared = normalize_charset(header_charset) or _prescan(body)
    if declared is not None and declared != "utf-8" and declared not in ASCII_COMPATIBLE:
        return None  # (UTF-16, ISO-2022-JP...: read as declared)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # ASCII reads the same in any ASCII-compatible encoding; valid UTF-8 with non-ASCII
    # bytes is UTF-8 whatever is declared (an old declaration kept over re-encoded bytes)
    if declared is not None and declared != "utf-8" and text.isascii():
        return text, declared
    return text, "utf-8"


def reads_as_utf8(body: bytes, header_charset: str | None = None) -> bool:
    """Does `decode_html` read `body` as UTF-8 (valid UTF-8, no BOM, no other encoding
    declared that is not ASCII-compatible)? Then a parser can take the bytes as they are,
    with no `str` of the page made here (~0.25 ms a 250 kB page). Never raises."""
    try:
        if body[:1] in (b"\xef", b"\xfe", b"\xff", b"\x00", b"+"):  # a BOM can start so
            return False
        declared = normalize_charset(header_charset) or _prescan(body)
        if declared is not None and declared != "utf-8" and declared not in ASCII_COMPATIBLE:
            return False
        if body.isascii():
            return True
        body.decode("utf-8")  # (the only validation of UTF-8 the standard library has)
    except Exception:  # invalid UTF-8, or anything else: decode_html decides
        return False
    return True


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """bytes → (text, encoding used). Never raises; undecodable bytes are replaced."""
    try:
        quick = _as_utf8(body, header_charset)
        if quick is not None:
            return quick
        name = _choose(body, header_charset)
        text = _decode(body, name)
    except Exception:  # never fatal
        return body.decode("utf-8", errors="replace"), "utf-8"
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, name
