"""Rich renderings for people: the card per record and the table of records."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .record import Preview


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


def records_table(rows: Sequence[Preview]) -> Table:
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("status")
    table.add_column("url", overflow="fold", max_width=50)
    table.add_column("title", overflow="fold", max_width=40)
    table.add_column("site", max_width=20)
    table.add_column("error", max_width=30)
    table.add_column("fetched", no_wrap=True)
    for p in rows:
        status = Text(p.status.value, style="green" if p.ok else "red")
        error = f"{p.error.kind.value}: {p.error.message}" if p.error else ""
        table.add_row(
            status,
            p.url,
            _short(p.title, 80),
            _short(p.site_name, 30),
            _short(error, 60),
            (p.fetched_at or "")[:19].replace("T", " "),
        )
    return table
