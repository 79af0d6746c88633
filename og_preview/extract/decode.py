"""Bytes → text, the way browsers do it (WHATWG "encoding sniffing", simplified).

Order: byte-order mark → transport (HTTP header) charset → `<meta charset>` /
http-equiv prescan of the first 64 KiB → detection. A declared charset is
checked against the bytes: pages that declare a single-byte charset but are
valid UTF-8 (with non-ASCII bytes) are UTF-8, and a declaration whose decode
fails badly gives way to detection. Undecodable bytes are replaced; this
module never raises.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["decode_html", "normalize_charset", "sniff_encoding"]

PRESCAN_BYTES = 64 * 1024
LATE_PRESCAN_BYTES = 1024 * 1024
DETECT_BYTES = 128 * 1024

# WHATWG encoding name → Python codec. WHATWG's "windows-1252" decoder is what
# browsers use for latin1/iso-8859-1/ascii, "gbk"/"gb2312" use the gb18030
# decoder, "shift_jis" is Microsoft's cp932 and "euc-kr" is windows-949.
_CODECS: dict[str, str] = {
    "utf-8": "utf-8",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "windows-1252": "cp1252",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "euc-kr": "cp949",
    "windows-874": "cp874",
    "koi8-r": "koi8_r",
    "koi8-u": "koi8_u",
    "macintosh": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "ibm866": "cp866",
}
for _n in range(1250, 1259):
    _CODECS[f"windows-{_n}"] = f"cp{_n}"
for _n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16):
    _CODECS[f"iso-8859-{_n}"] = f"iso8859_{_n}"

# Label → WHATWG encoding name (the common labels; anything else goes through
# Python's codec registry and is used when Python knows it).
_LABELS: dict[str, str] = {
    **{k: "utf-8" for k in ("utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8")},
    **{
        k: "windows-1252"
        for k in (
            "latin1",
            "latin-1",
            "l1",
            "iso-8859-1",
            "iso8859-1",
            "iso_8859-1",
            "iso88591",
            "iso-ir-100",
            "cp819",
            "ibm819",
            "csisolatin1",
            "ascii",
            "us-ascii",
            "ansi_x3.4-1968",
            "iso646-us",
            "cp1252",
            "windows-1252",
            "x-cp1252",
        )
    },
    **{
        k: "gb18030"
        for k in (
            "gbk",
            "gb2312",
            "gb_2312",
            "gb_2312-80",
            "chinese",
            "csgb2312",
            "x-gbk",
            "csiso58gb231280",
            "iso-ir-58",
            "gb18030",
            "cp936",
            "euc-cn",
        )
    },
    **{
        k: "shift_jis"
        for k in (
            "shift_jis",
            "shift-jis",
            "sjis",
            "x-sjis",
            "ms_kanji",
            "ms932",
            "cp932",
            "windows-31j",
            "csshiftjis",
        )
    },
    **{k: "euc-jp" for k in ("euc-jp", "eucjp", "x-euc-jp", "cseucpkdfmtjapanese")},
    **{k: "iso-2022-jp" for k in ("iso-2022-jp", "csiso2022jp")},
    **{
        k: "euc-kr"
        for k in (
            "euc-kr",
            "euckr",
            "ks_c_5601-1987",
            "ks_c_5601-1989",
            "ksc5601",
            "ksc_5601",
            "korean",
            "windows-949",
            "cp949",
            "csksc56011987",
            "iso-ir-149",
            "cseuckr",
        )
    },
    **{k: "big5" for k in ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5")},
    **{k: "windows-874" for k in ("windows-874", "tis-620", "iso-8859-11", "dos-874")},
    **{k: "windows-1254" for k in ("iso-8859-9", "latin5", "l5", "iso8859-9")},
    **{k: "utf-16le" for k in ("utf-16", "utf-16le", "unicode", "ucs-2", "csunicode")},
    "utf-16be": "utf-16be",
    "koi8-r": "koi8-r",
    "koi8": "koi8-r",
    "koi8-u": "koi8-u",
    "mac": "macintosh",
    "macintosh": "macintosh",
    "x-mac-roman": "macintosh",
    "x-mac-cyrillic": "x-mac-cyrillic",
    "ibm866": "ibm866",
    "cp866": "ibm866",
}

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


def normalize_charset(label: str | None) -> str | None:
    """A charset label → WHATWG encoding name (or a Python codec name); None if unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").strip().lower()
    if not key:
        return None
    name = _LABELS.get(key)
    if name is None:
        key2 = key.replace("_", "-")
        name = _LABELS.get(key2) or (key2 if key2 in _CODECS else None)
    if name is not None:
        return name
    try:
        return codecs.lookup(key).name
    except (LookupError, ValueError):
        return None


def _codec(name: str) -> str:
    return _CODECS.get(name, name)


def _decode(body: bytes, name: str) -> str:
    try:
        return body.decode(_codec(name), errors="replace")
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
        sample.decode(_codec(name))
    except UnicodeDecodeError:
        bad = sample.decode(_codec(name), errors="replace").count("\ufffd")
        return bad > max(2, len(_NON_ASCII.findall(sample)) // 50)
    except (LookupError, ValueError):
        return True
    return False


_CODEC_TO_WEB = {"cp866": "ibm866", "cp874": "windows-874", "koi8_r": "koi8-r", "koi8_u": "koi8-u"}


def _web_name(codec: str) -> str | None:
    """A detector's Python codec name (cp1251, iso8859_2) → the WHATWG name."""
    key = codec.lower().replace("-", "_")
    if key in _CODEC_TO_WEB:
        return _CODEC_TO_WEB[key]
    if re.fullmatch(r"cp125[0-8]", key):
        return f"windows-{key[2:]}"
    if match := re.fullmatch(r"iso8859_(\d+)", key):
        return f"iso-8859-{match.group(1)}"
    return normalize_charset(codec)


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
        for name in [_web_name(m.encoding)]
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


# Single-byte encodings whose lower half is ASCII: each byte is one character and an ASCII
# byte is that ASCII character, whatever surrounds it...
_SINGLE_BYTE_ASCII = frozenset(
    name
    for name in _CODECS
    if name.startswith(("windows-", "iso-8859-", "koi8-"))
    or name in ("macintosh", "x-mac-cyrillic", "ibm866")
)


# ...and the multi-byte encodings whose bytes below 0x80 are always ASCII characters:
# ASCII text reads the same in all of these (`_as_utf8`).
_ASCII_COMPATIBLE = _SINGLE_BYTE_ASCII | {"gb18030", "big5", "shift_jis", "euc-jp", "euc-kr"}


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
    if declared is not None and declared != "utf-8" and declared not in _ASCII_COMPATIBLE:
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
        if declared is not None and declared != "utf-8" and declared not in _ASCII_COMPATIBLE:
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
