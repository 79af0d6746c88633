"""Does a page look like a bot-challenge interstitial rather than content?

Content signals only; the pipeline combines this with the HTTP status. Markers
are chosen to be specific: normal Cloudflare-served pages also load
`/cdn-cgi/challenge-platform/…` scripts, so that alone is not a challenge.
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
_STRONG_MARKERS = (
    b"_cf_chl_opt",
    b"cf-browser-verification",
    b"cf_chl_prog",
    b"cf-challenge-running",
    b"challenge-error-text",
    b"/cdn-cgi/challenge-platform/h/b/orchestrate",
    b"/cdn-cgi/challenge-platform/h/g/orchestrate",
    b"ddos-guard.net/",
    b"check.ddos-guard",
    b"_incapsula_resource",
    b"geo.captcha-delivery.com",
    b"px-captcha",
    b"awswafcookiedomainlist",
    b"sucuri_cloudproxy_js",
    b"window._cf_chl",
)
_TITLE_TAG = re.compile(rb"<title[^>]*>([^<]{0,300})</title")
_WS = re.compile(r"\s+")


def looks_like_challenge(lower: bytes, title: str | None = None) -> bool:
    """True when a page looks like a bot check, captcha wall or DDoS shield.

    `lower` is the page's UTF-8 bytes lower-cased; `title` its `<title>` when known.
    """
    if title is None:
        match = _TITLE_TAG.search(lower, 0, SCAN_CHARS)
        title = match.group(1).decode("utf-8", "replace") if match else None
    if title and _TITLES.match(_WS.sub(" ", title).strip()):
        return True
    if len(lower) > MARKER_PAGE_MAX:
        return False  # a big page is content, whatever scripts it loads
    head = lower[:SCAN_CHARS]
    return any(marker in head for marker in _STRONG_MARKERS)
