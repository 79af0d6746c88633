"""Does a page look like a bot-challenge interstitial rather than content?

Content signals only; the pipeline combines this with the HTTP status. Markers
are chosen to be specific: normal Cloudflare-served pages also load
`/cdn-cgi/challenge-platform/…` scripts, so that alone is not a challenge.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_challenge"]

SCAN_CHARS = 200_000  # challenge pages are small; look at the start of big ones only

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
    "_cf_chl_opt", "cf-browser-verification", "cf_chl_prog", "cf-challenge-running",
    "challenge-error-text", "/cdn-cgi/challenge-platform/h/b/orchestrate",
    "/cdn-cgi/challenge-platform/h/g/orchestrate", "ddos-guard.net/", "check.ddos-guard",
    "_incapsula_resource", "geo.captcha-delivery.com", "px-captcha", "awswafcookiedomainlist",
    "sucuri_cloudproxy_js", "window._cf_chl",
)  # fmt: skip
_TITLE_TAG = re.compile(r"<title[^>]*>([^<]{0,300})</title", re.IGNORECASE)
_WS = re.compile(r"\s+")


def looks_like_challenge(html: str, title: str | None = None, lower: str | None = None) -> bool:
    """True when `html` (or its `title`) looks like a bot check, captcha wall or DDoS shield.

    `lower` is `html.lower()` (or a prefix of it) when the caller has it.
    """
    head = html[:SCAN_CHARS]
    if title is None:
        match = _TITLE_TAG.search(head)
        title = match.group(1) if match else None
    if title and _TITLES.match(_WS.sub(" ", title).strip()):
        return True
    low = lower[:SCAN_CHARS] if lower is not None else head.lower()
    return any(marker in low for marker in _STRONG_MARKERS)
