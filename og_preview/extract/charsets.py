"""Charset labels → WHATWG encoding names → Python codecs.

A page or a server names its encoding with one of many labels (`latin1`, `x-sjis`,
`ks_c_5601-1987`...); `normalize_charset` maps a label to the WHATWG encoding it means,
which `python_codec` maps to the Python codec that decodes as browsers do. `web_name`
goes back from a detector's codec name to the WHATWG name. `decode.py` uses them.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["ASCII_COMPATIBLE", "normalize_charset", "python_codec", "web_name"]

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


def python_codec(name: str) -> str:
    """The Python codec that decodes WHATWG encoding `name` (a codec name: itself)."""
    return _CODECS.get(name, name)


_CODEC_TO_WEB = {"cp866": "ibm866", "cp874": "windows-874", "koi8_r": "koi8-r", "koi8_u": "koi8-u"}


def web_name(codec: str) -> str | None:
    """A detector's Python codec name (cp1251, iso8859_2) → the WHATWG name."""
    key = codec.lower().replace("-", "_")
    if key in _CODEC_TO_WEB:
        return _CODEC_TO_WEB[key]
    if re.fullmatch(r"cp125[0-8]", key):
        return f"windows-{key[2:]}"
    if match := re.fullmatch(r"iso8859_(\d+)", key):
        return f"iso-8859-{match.group(1)}"
    return normalize_charset(codec)


# Single-byte encodings whose lower half is ASCII: each byte is one character and an ASCII
# byte is that ASCII character, whatever surrounds it...
_SINGLE_BYTE_ASCII = frozenset(
    name
    for name in _CODECS
    if name.startswith(("windows-", "iso-8859-", "koi8-"))
    or name in ("macintosh", "x-mac-cyrillic", "ibm866")
)


# ...and the multi-byte encodings whose bytes below 0x80 are always ASCII characters:
# ASCII text reads the same in all of these (`decode._as_utf8`).
ASCII_COMPATIBLE = _SINGLE_BYTE_ASCII | {"gb18030", "big5", "shift_jis", "euc-jp", "euc-kr"}
