"""The HTML report: previews → one self-contained page of cards (`og-preview report`).

Every value comes from untrusted pages, so:

- every value is written through `html.escape(..., quote=True)`, in text and attributes;
- only absolute http(s) URLs reach `src`/`href` (`safe_url`); anything else is dropped;
- the page has no inline event handlers and no style attributes: its one script and
  one stylesheet are constants (`report_assets`), allowed by hash in a strict CSP.

Rows are streamed: cards go to a spooled temporary file while the totals are
counted, then the header (which needs the totals) and the cards are written out.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from io import StringIO
from typing import Any, Protocol
from urllib.parse import urlsplit

from .. import __version__
from ..record import Preview, Status
from .report_assets import CSP, SCRIPT, STYLE
from .report_checks import is_page, share_issues

#: Longer URLs are not linked (no unfurler keeps them either); the page stays small.
MAX_URL = 4096
#: Cards show at most this much text; the CSS clamps it further.
MAX_TEXT = 600
#: Cards are written to memory up to this size, then to a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024

_LANG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TextSink(Protocol):
    """Where the page goes: a text file, `sys.stdout`, a `StringIO`..."""

    def write(self, text: str, /) -> object: ...


@dataclass(slots=True)
class ReportCounts:
    """What went into a report: cards by status and error kind, and share readiness."""

    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_error_kind: Counter[str] = field(default_factory=Counter)
    #: processed pages with every check passed / with at least one badge
    ready: int = 0
    with_issues: int = 0

    def add(self, preview: Preview, issues: int, *, page: bool) -> None:
        self.total += 1
        self.by_status[preview.status.value] += 1
        if preview.status is Status.ERROR:
            self.by_error_kind[preview.error.kind.value if preview.error else "unknown"] += 1
        elif preview.status is Status.PROCESSED and page:
            if issues:
                self.with_issues += 1
            else:
                self.ready += 1

    def summary(self) -> str:
        """`12 cards (10 processed, 2 errors: http 1, dns 1; 4 with issues)`."""
        parts = [f"{self.by_status.get('processed', 0)} processed"]
        errors = self.by_status.get("error", 0)
        if errors:
            kinds = ", ".join(f"{k} {n}" for k, n in self.by_error_kind.most_common())
            parts.append(f"{errors} error{'s' if errors != 1 else ''}: {kinds}")
        if self.by_status.get("pending"):
            parts.append(f"{self.by_status['pending']} pending")
        text = f"{self.total} card{'s' if self.total != 1 else ''} ({', '.join(parts)}"
        return text + (f"; {self.with_issues} with issues)" if self.with_issues else ")")


def esc(value: object) -> str:
    """Any value as HTML text or a double- or single-quoted attribute value."""
    return escape("" if value is None else str(value), quote=True)


def safe_url(value: object) -> str | None:
    """`value` if it is an absolute http(s) URL fit for `src`/`href`, else None.

    Refuses `javascript:`, `data:`, relative and scheme-relative URLs, and any URL
    with control characters inside (browsers strip tabs and newlines, so a scheme
    could hide behind them). Inner spaces are percent-encoded.
    """
    return _safe_url(value) if isinstance(value, str) else None


@lru_cache(maxsize=4096)  # icons and sites repeat across cards
def _safe_url(value: str) -> str | None:
    url = value.strip().replace(" ", "%20")
    if not url or len(url) > MAX_URL or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


@lru_cache(maxsize=4096)
def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def host_of(url: str | None) -> str:
    return _host(url) if url else ""


def _clip(text: str | None, limit: int = MAX_TEXT) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _initial(*names: str | None) -> str:
    """The first letter of the first name that starts with one (not a digit of an IP)."""
    for name in names:
        for char in (name or "").removeprefix("www."):
            if char.isalpha():
                return char
            if char.isalnum():
                break
    return "?"


def _lang_attr(preview: Preview) -> str:
    lang = preview.lang or ""
    return f' lang="{esc(lang)}"' if lang and _LANG.match(lang) else ""


def _url_line(preview: Preview, href: str | None) -> str:
    """The URL as a small link (`href` already escaped), the final URL in its tooltip."""
    shown = esc(_clip(preview.url, 300))
    tip = f"fetched {preview.fetched_at or '?'}"
    if preview.final_url and preview.final_url != preview.url:
        tip = f"→ {preview.final_url}\n{tip}"
    if href is None:
        return f'<div class="url" title="{esc(tip)}">{shown}</div>'
    return (
        f'<a class="url" href="{href}" title="{esc(tip)}" '
        f'rel="noopener noreferrer nofollow">{shown}</a>'
    )


def _image_alt(preview: Preview, image: str) -> str:
    for item in preview.images:
        if isinstance(item, dict) and image in (item.get("url"), item.get("secure_url")):
            return _clip(str(item.get("alt") or ""), 300)
    return ""


def render_card(preview: Preview) -> tuple[str, int]:
    """One card as HTML, and its number of share-readiness badges."""
    if preview.status is Status.PROCESSED:
        return _processed_card(preview)
    return _problem_card(preview), 0


def _processed_card(p: Preview) -> tuple[str, int]:
    link = safe_url(p.final_url) or safe_url(p.url)
    href = esc(link) if link is not None else None
    domain = host_of(p.final_url or p.url)
    image = safe_url(p.image)
    parts = ['<article class="card" data-status="processed"']
    page = is_page(p)
    issues = share_issues(p) if page else []
    parts.append(f' data-issues="{len(issues)}"{_lang_attr(p)}>')
    initial = esc(_initial(p.site_name, domain, p.title))
    media = f'<span class="ph" aria-hidden="true">{initial}</span>'
    if image is not None:
        media += (
            f'<img src="{esc(image)}" alt="{esc(_image_alt(p, image))}" loading="lazy" '
            f'decoding="async" referrerpolicy="no-referrer">'
        )
    if href is not None:
        parts.append(
            f'<a class="media" href="{href}" tabindex="-1" '
            f'rel="noopener noreferrer nofollow">{media}</a>'
        )
    else:
        parts.append(f'<div class="media">{media}</div>')
    parts.append('<div class="body"><div class="site">')
    icon = safe_url(p.icon)
    if icon is not None:
        parts.append(
            f'<img src="{esc(icon)}" alt="" width="16" height="16" loading="lazy" '
            f'referrerpolicy="no-referrer">'
        )
    if p.site_name:
        parts.append(f"<span>{esc(_clip(p.site_name, 120))}</span>")
    parts.append(f'<span class="dom">{esc(domain)}</span></div>')
    title = esc(_clip(p.title, 300)) if p.title else '<span class="untitled">(no title)</span>'
    if href is not None:
        title = f'<a href="{href}" rel="noopener noreferrer nofollow">{title}</a>'
    parts.append(f"<h2>{title}</h2>")
    if p.description:
        parts.append(f'<p class="desc">{esc(_clip(p.description))}</p>')
    parts.append(_meta(p))
    parts.append(_badges(issues, page, p.content_type))
    parts.append(_url_line(p, href))
    parts.append("</div></article>\n")
    return "".join(parts), len(issues)


def _meta(p: Preview) -> str:
    items: list[str] = []
    if p.type:
        items.append(f'<span class="type">{esc(_clip(p.type, 60))}</span>')
    if p.published:
        items.append(f'<time datetime="{esc(p.published)}">{esc(p.published[:10])}</time>')
    if p.author:
        items.append(f"<span>by {esc(_clip(p.author, 120))}</span>")
    return f'<div class="meta">{"".join(items)}</div>' if items else ""


def _badges(issues: list[tuple[str, str]], page: bool, content_type: str | None) -> str:
    if not page:
        items = [f'<li class="note">{esc(_clip(content_type, 80))}, not a page</li>']
    elif not issues:
        items = ['<li class="ready">ready to share</li>']
    else:
        items = [f'<li class="{kind}">{esc(text)}</li>' for kind, text in issues]
    return f'<ul class="badges" aria-label="share checks">{"".join(items)}</ul>'


def _problem_card(p: Preview) -> str:
    """A compact card for an error (or pending) row: kind, HTTP status, message."""
    status = p.status.value
    link = safe_url(p.url)
    href = esc(link) if link is not None else None
    if p.status is Status.ERROR:
        kind = p.error.kind.value if p.error else "error"
        message = p.error.message if p.error else ""
        code = (p.error.http_status if p.error else None) or p.http_status
    else:
        kind, message, code = status, "not fetched yet (a batch is running or was stopped)", None
    detail = f"<span>HTTP {esc(code)}</span>" if code else ""
    if p.attempts > 1:
        detail += f"<span>{p.attempts} attempts</span>"
    return (
        f'<article class="card {esc(status)}" data-status="{esc(status)}" data-issues="0">'
        f'<div class="body"><div class="site"><span class="dom">{esc(host_of(p.url))}</span>'
        f'</div><div class="kind"><b>{esc(kind)}</b>{detail}</div>'
        f'<p class="msg">{esc(_clip(message, 400))}</p>{_url_line(p, href)}</div></article>\n'
    )


def _header(counts: ReportCounts, title: str, subtitle: str) -> str:
    totals = [f'<li class="t-total"><b>{counts.total}</b> URLs</li>']
    for status, label in (("processed", "processed"), ("error", "errors"), ("pending", "pending")):
        n = counts.by_status.get(status, 0)
        if n or status != "pending":
            totals.append(f'<li class="t-{status}"><b>{n}</b> {label}</li>')
    for kind, n in counts.by_error_kind.most_common():
        totals.append(f'<li class="t-kind">{esc(kind)} <b>{n}</b></li>')
    if counts.ready or counts.with_issues:
        totals.append(f'<li class="t-ready"><b>{counts.ready}</b> ready to share</li>')
        totals.append(f'<li class="t-issues"><b>{counts.with_issues}</b> with issues</li>')
    buttons = [
        ("all", "All", counts.total),
        ("processed", "Processed", counts.by_status.get("processed", 0)),
        ("errors", "Errors", counts.by_status.get("error", 0)),
        ("issues", "With issues", counts.with_issues),
    ]
    tools = "".join(
        f'<button type="button" data-filter="{key}" aria-pressed="{str(key == "all").lower()}">'
        f"{label}<span>{n}</span></button>"
        for key, label, n in buttons
    )
    return (
        f"<header><h1>{esc(title)}</h1>"
        f'<p class="sub">{esc(subtitle)}</p>'
        f'<ul class="totals">{"".join(totals)}</ul>'
        f'<div class="tools" role="search">{tools}'
        f'<input id="q" type="search" placeholder="Search titles, URLs, sites…" '
        f'aria-label="Search the cards" autocomplete="off">'
        f'<span id="shown" aria-live="polite"></span></div></header>\n'
    )


def _head(title: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="og-preview">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n"
        "</head>\n<body>\n"
    )


def write_report(
    previews: Iterable[Preview],
    out: TextSink,
    *,
    title: str = "Link previews",
    subtitle: str | None = None,
    generated_at: datetime | None = None,
) -> ReportCounts:
    """Write the whole page for `previews` to `out`; return what it holds.

    `previews` is consumed once, as a stream; memory stays flat however many rows.
    """
    counts = ReportCounts()
    with tempfile.SpooledTemporaryFile(
        max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", errors="replace", newline=""
    ) as spool:
        for preview in previews:
            card, issues = render_card(preview)
            counts.add(preview, issues, page=is_page(preview))
            spool.write(card)
        when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
        sub = f"Generated {when} by og-preview {__version__}"
        out.write(_head(title))
        out.write(_header(counts, title, f"{sub} · {subtitle}" if subtitle else sub))
        out.write("<main>\n")
        if counts.total == 0:
            out.write('<p class="empty">No previews match.</p>\n')
        spool.seek(0)
        shutil.copyfileobj(spool, out)
    out.write(
        "</main>\n<footer>Titles, descriptions and images come from the pages themselves."
        "</footer>\n</body>\n</html>\n"
    )
    return counts


def render_report(previews: Iterable[Preview], **options: Any) -> str:
    """The page as one string (see `write_report`)."""
    buffer = StringIO()
    write_report(previews, buffer, **options)
    return buffer.getvalue()
