"""Rich renderings for people: the card per record and the table of records."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..record import Preview


def stdout_console(stream: IO[str]) -> Console:
    return Console(file=stream, no_color="NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


def _short(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut_middle(url: str, width: int) -> str:
    """`url` in at most `width` characters, cut in the middle so that its host and the
    end of its path stay: `https://example.com/…/2024/05/the-article`."""
    if len(url) <= width:
        return url
    if width < 8:
        return url[: max(0, width - 1)] + "…"
    scheme_end = url.find("://")
    host_end = url.find("/", scheme_end + 3) if scheme_end >= 0 else -1
    prefix = host_end if host_end > 0 else len(url)  # the scheme and host
    tail_min = max(3, width // 4)
    head = min(prefix, width - 1 - tail_min)
    return f"{url[:head]}…{url[len(url) - (width - 1 - head) :]}"


def _error_text(preview: Preview) -> str:
    """`kind: message`, and the HTTP status when the message does not already say it."""
    if preview.error is None:
        return ""
    text = f"{preview.error.kind.value}: {preview.error.message}"
    status = preview.error.http_status
    if status and f"HTTP {status}" not in preview.error.message:
        text += f" (HTTP {status})"
    return text


def finished_line(preview: Preview, width: int) -> Text:
    """One finished URL as a line above the live progress: its outcome, its title or
    error, and its URL cut in the middle; never longer than `width`."""
    if preview.ok:
        mark, style = ("·", "cyan") if preview.from_cache else ("✓", "green")
        label = preview.title or "(no title)"
    else:
        mark, style = "✗", "red"
        label = _error_text(preview)
    room = max(10, width - 3)
    url_room = min(len(preview.url), max(20, room * 3 // 5))
    label_room = max(0, room - url_room)
    cell = Text(label, style="" if preview.ok else "red", no_wrap=True)
    cell.truncate(label_room, overflow="ellipsis", pad=True)  # (in cells: CJK is 2 wide)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{mark} ", style=style)
    line.append_text(cell)
    line.append(" ")
    line.append(cut_middle(preview.url, url_room), style="dim")
    line.truncate(width)
    return line


def card(preview: Preview) -> Panel:
    """One preview as a link card: title, description, image, site, type."""
    if preview.error is not None:
        body = Text()
        body.append(f"{preview.error.kind.value}: ", style="bold red")
        body.append(preview.error.message)
        status = preview.error.http_status
        if status and f"HTTP {status}" not in preview.error.message:
            body.append(f"  (HTTP {status})", style="dim")
        return Panel(body, title=Text(preview.url, style="red"), title_align="left", expand=False)
    lines: list[Text] = []
    site = preview.site_name or ""
    if site:
        lines.append(Text(site, style="dim"))
    lines.append(Text(preview.title or "(no title)", style="bold"))
    if preview.description:
        lines.append(Text(_short(preview.description, 300)))
    details = Text(style="dim")
    for label, value in (
        ("image", preview.image),
        ("type", preview.type),
        ("canonical", preview.canonical_url),
        ("published", preview.published),
        ("author", preview.author),
        ("lang", preview.lang),
    ):
        if value:
            details.append(f"\n{label}: ", style="cyan")
            details.append(str(value))
    lines.append(details)
    subtitle = "cached" if preview.from_cache else f"HTTP {preview.http_status or '-'}"
    return Panel(
        Group(*lines),
        title=Text(preview.final_url or preview.url, style="blue underline"),
        title_align="left",
        subtitle=Text(subtitle, style="dim"),
        subtitle_align="right",
        expand=False,
        width=min(100, max(60, len(preview.final_url or preview.url) + 6)),
    )


def records_table(rows: Sequence[Preview], width: int = 120) -> Table:
    """One line per record: what a person scans for (long values are cut, not wrapped).
    The URL column comes first (cut in the middle: host and path end stay); on a narrow
    terminal only status, url and title/error are shown."""
    wide = width >= 140
    table = Table(show_lines=False, header_style="bold", expand=False, box=None, pad_edge=False)
    table.add_column("status", no_wrap=True, min_width=9)
    longest = max((len(p.url) for p in rows), default=3)
    rest = 20 + (40 if wide else 0)  # what the columns after the URL need at least
    url_width = max(16, min(longest, width - 10 - rest, 100))
    table.add_column("url", no_wrap=True, min_width=min(longest, url_width), max_width=url_width)
    table.add_column("title / error", no_wrap=True, overflow="ellipsis", max_width=60)
    if wide:
        table.add_column("site", no_wrap=True, overflow="ellipsis", max_width=20)
        table.add_column("fetched (UTC)", no_wrap=True, min_width=16)
    for p in rows:
        status = Text(p.status.value, style="green" if p.ok else "red")
        if p.ok:
            label = Text(_short(p.title, 120) or "(no title)")
        else:
            label = Text(_error_text(p), style="red")
        cells: list[Text | str] = [status, cut_middle(p.url, url_width), label]
        if wide:
            cells += [_short(p.site_name, 40), (p.fetched_at or "")[:16].replace("T", " ")]
        table.add_row(*cells)
    return table
