"""Cleaning of extracted values: text, URLs, dates and language tags.

Every function takes whatever a page wrote and returns a clean value or None;
none of them raises.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

__all__ = [
    "MAX_TEXT",
    "MAX_URL",
    "clean_date",
    "clean_lang",
    "clean_text",
    "clean_url",
    "looks_like_url",
    "origin_favicon",
]

MAX_TEXT = 2000
MAX_URL = 4096

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_WS = re.compile(r"\s+")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_URL_WS = re.compile(r"[\t\n\r]")


def clean_text(value: str | None, cap: int = MAX_TEXT) -> str | None:
    """Entities decoded (double-encoded ones too), controls removed, whitespace collapsed."""
    if not value:
        return None
    if "&" in value and _ENTITY.search(value):
        value = html.unescape(value)
    if value.isprintable():  # no control characters, and no white space but " "
        value = (_WS.sub(" ", value) if "  " in value else value).strip()
    else:
        value = _WS.sub(" ", _CONTROL.sub("", value)).strip()
    if len(value) > cap:
        value = value[: cap - 1].rstrip() + "\u2026"
    return value or None


def looks_like_url(value: str) -> bool:
    v = value.strip().lower()
    return v.startswith(("http://", "https://", "//", "www.")) or (
        "/" in v and " " not in v and "." in v.split("/", 1)[0]
    )


# An absolute http(s) URL that resolving leaves as it is (`_resolve` would return it
# unchanged, whatever the base): printable ASCII without spaces, quotes, brackets or
# backslashes, a plain host, no empty `;params`, `?query` or `#fragment` to drop and no
# `&amp;` to unescape.
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.\-]+(?::[0-9]*)?(?:[/?#][!$-;=?-Z_a-z~]*)?", re.ASCII
)
# (after _PLAIN_ABSOLUTE, a "#" can only be the first of the path/query/fragment characters)
_DROPPED = re.compile(r";(?=\?|\Z)|\?\Z|#\Z|&amp;|&#38;")


def clean_url(value: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL resolved against `base`, or None."""
    if not value:
        return None
    if (
        len(value) <= MAX_URL
        and _PLAIN_ABSOLUTE.fullmatch(value) is not None
        and _DROPPED.search(value) is None
    ):
        return value  # (what the general path below returns for it, cheaper)
    return _resolve(value, base)


def _resolve(value: str, base: str | None) -> str | None:
    if value.isprintable():  # no control characters, tabs or newlines
        value = value.strip()
    else:
        value = _URL_WS.sub("", _CONTROL.sub("", value)).strip()
    if "&" in value:
        value = value.replace("&amp;", "&").replace("&#38;", "&")
    if not value or len(value) > MAX_URL:
        return None
    head = value[:11].lower()
    if head.startswith(("data:", "javascript:")):
        return None
    value = value.replace(" ", "%20")
    try:
        if head.startswith(("http:", "https:")):  # (no other value can be one of those)
            own = urlsplit(value)
            if own.scheme and not own.netloc and own.scheme.lower() in ("http", "https"):
                return None  # "https://" or "http:foo": not a usable address
        url = urljoin(base, value) if base else value
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if len(url) > MAX_URL:
        return None
    return url


def origin_favicon(base: str | None) -> str | None:
    """`/favicon.ico` on the origin of `base` (http(s) only)."""
    return clean_url("/favicon.ico", base) if base else None


# ------------------------------------------------------------------ dates

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        )
    )
    for m in names
}
_ISO_LOOSE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2}(?!\d))?$"
)
_MDY = re.compile(r"(?:[A-Za-z]+,?\s+)?([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_DMY = re.compile(r"(?:[A-Za-z]+,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$")


def _plausible(when: datetime) -> bool:
    return 1000 <= when.year <= 2200


def _offset(text: str | None) -> str:
    if not text or text in ("Z", "z", "UTC", "GMT"):
        return "+00:00" if text else ""
    sign, digits = text[0], text[1:].replace(":", "")
    digits = digits.ljust(4, "0")
    return f"{sign}{digits[:2]}:{digits[2:4]}"


def _from_timestamp(text: str) -> str | None:
    """A Unix time in seconds (9-10 digits) or milliseconds (12-13 digits)."""
    digits = len(text.split(".")[0])
    if digits not in (9, 10, 12, 13):
        return None
    seconds = float(text) / (1000 if digits >= 12 else 1)
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def clean_date(value: str | None) -> str | None:
    """A publication date/time as ISO 8601 (offset kept as written), or None."""
    text = clean_text(value, cap=100)
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            parsed = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
        return text if _plausible(parsed) else None
    if text.isdigit() and len(text) > 8:
        return _from_timestamp(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return when.isoformat() if _plausible(when) else None
    match = _ISO_LOOSE.match(text)
    if match:
        y, mo, d, h, mi, s, frac, tz = match.groups()
        try:
            if h is None:
                return datetime(int(y), int(mo), int(d)).date().isoformat()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            stamp = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
            iso = datetime.fromisoformat(stamp.isoformat() + _offset(tz))
        except ValueError:
            return None
        return iso.isoformat() if _plausible(iso) else None
    if re.fullmatch(r"\d{9,10}\.\d+", text):
        return _from_timestamp(text)
    try:
        rfc = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        rfc = None
    if rfc is not None and _plausible(rfc):
        return rfc.isoformat()
    for pattern, order in ((_MDY, (2, 0, 1)), (_DMY, (2, 1, 0))):
        found = pattern.match(text)
        if found:
            parts = found.groups()
            year, month, day = parts[order[0]], parts[order[1]], parts[order[2]]
            number = _MONTHS.get(month.lower())
            if number:
                try:
                    return datetime(int(year), number, int(day)).date().isoformat()
                except ValueError:
                    return None
    return None


# ------------------------------------------------------------------ language

_LANG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def clean_lang(value: str | None) -> str | None:
    """A BCP 47 tag: `en_us` → `en-US`, `ZH-hant-tw` → `zh-Hant-TW`; None if not a tag."""
    if not value:
        return None
    tag = value.strip().split(",")[0].split(";")[0].strip().replace("_", "-")
    if not tag or len(tag) > 64 or not _LANG.match(tag):
        return None
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)
