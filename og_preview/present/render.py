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


def card(preview: Preview) -> Panel:
    """One preview as a link card: title, description, image, site, type."""
    if preview.error is not None:
        body = Text()
        body.append(f"{preview.error.kind.value}: ", style="bold red")
        body.append(preview.error.message)
        if preview.error.http_status:
            body.append(f"  (HTTP {preview.error.http_status})", style="dim")
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
    On a narrow terminal only status, url and title/error are shown."""
    wide = width >= 140
    table = Table(show_lines=False, header_style="bold", expand=False, box=None, pad_edge=False)
    table.add_column("status", no_wrap=True, min_width=9)
    url_width = max(20, min(60, (width - 12) // 2))
    table.add_column("url", no_wrap=True, overflow="ellipsis", max_width=url_width)
    table.add_column("title / error", no_wrap=True, overflow="ellipsis", max_width=60)
    if wide:
        table.add_column("site", no_wrap=True, overflow="ellipsis", max_width=20)
        table.add_column("fetched (UTC)", no_wrap=True, min_width=16)
    for p in rows:
        status = Text(p.status.value, style="green" if p.ok else "red")
        if p.ok:
            label = Text(_short(p.title, 120) or "(no title)")
        else:
            kind = p.error.kind.value if p.error else "error"
            label = Text(f"{kind}: {p.error.message if p.error else ''}", style="red")
        cells: list[Text | str] = [status, p.url, label]
        if wide:
            cells += [_short(p.site_name, 40), (p.fetched_at or "")[:16].replace("T", " ")]
        table.add_row(*cells)
    return table
