"""Does a page look like a bot-challenge interstitial rather than content?

Content signals only; the pipeline combines this with the HTTP status. Markers
are chosen to be specific: normal Cloudflare-served pages also load
`/cdn-cgi/challenge-platform/…` scripts, so that alone is not a challenge.
Markers are looked for only in small pages that describe nothing (no OpenGraph,
Twitter card or JSON-LD metadata): an interstitial stands in for the page and
carries none of its metadata, and looking costs a few searches of 64 kB.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_challenge"]

MARKER_PAGE_MAX = 150_000  # interstitials are small (Cloudflare's are ~5-60 kB)
SCAN_CHARS = 65_536  # challenge pages are small; markers are looked for at the start only

_TITLES = re.compile(
    r"^(?:just a moment\.*|attention required!? \| cloudflare|one more step|"
    r"please wait\.*(?: \| cloudflare)?|checking your browser.*|ddos-guard|"
    r"ddos protection by .*|access denied(?: \| .*cloudflare.*)?|"
    r"access to this page has been denied\.?|are you a robot\??|are you a human\??|"
    r"human verification|security check(?:point)?|vercel security checkpoint|"
    r"robot check|captcha|bot verification|verifying you are human.*|"
    r"pardon our interruption\.*|sucuri website firewall.*|403 forbidden \| cloudflare)$",
    re.IGNORECASE,
)
# The markers, grouped under a substring they share: one search per group finds out
# whether any of its markers can be there (8 searches instead of 15).
_MARKER_GROUPS: tuple[tuple[bytes, tuple[bytes, ...]], ...] = (
    (b"cf_chl", (b"_cf_chl_opt", b"cf_chl_prog", b"window._cf_chl")),
    (
        b"challenge-",
        (
            b"cf-challenge-running",
            b"challenge-error-text",
            b"/cdn-cgi/challenge-platform/h/b/orchestrate",
            b"/cdn-cgi/challenge-platform/h/g/orchestrate",
        ),
    ),
    (b"cf-browser-verification", (b"cf-browser-verification",)),
    (b"ddos-guard", (b"ddos-guard.net/", b"check.ddos-guard")),
    (b"captcha", (b"geo.captcha-delivery.com", b"px-captcha")),
    (b"_incapsula_resource", (b"_incapsula_resource",)),
    (b"awswafcookiedomainlist", (b"awswafcookiedomainlist",)),
    (b"sucuri_cloudproxy_js", (b"sucuri_cloudproxy_js",)),
)
_STRONG_MARKERS = tuple(marker for _key, group in _MARKER_GROUPS for marker in group)
_TITLE_TAG = re.compile(rb"<(?i:title)[^>]*>([^<]{0,300})</(?i:title)")
_WS = re.compile(r"\s+")


def looks_like_challenge(
    data: bytes | str, title: str | None = None, described: bool = False
) -> bool:
    """True when a page looks like a bot check, captcha wall or DDoS shield.

    `data` is the page's UTF-8 bytes (any case) or its decoded text; `title` its `<title>`
    when known; `described`: the page has OpenGraph, Twitter card or JSON-LD metadata
    (content, then, whatever scripts it loads: only its title can still make it a
    challenge).
    """
    size = len(data)
    if title is None:
        start = data[:SCAN_CHARS]
        match = _TITLE_TAG.search(
            start.encode("utf-8", "replace") if isinstance(start, str) else start
        )
        title = match.group(1).decode("utf-8", "replace") if match else None
    if title and _TITLES.match(_WS.sub(" ", title).strip()):
        return True
    if described or size > MARKER_PAGE_MAX:
        return False  # a big or described page is content, whatever scripts it loads
    start = data[:SCAN_CHARS]
    head = (start.encode("utf-8", "replace") if isinstance(start, str) else start).lower()
    return any(
        key in head and any(marker in head for marker in group) for key, group in _MARKER_GROUPS
    )
