"""What people see: URLs cut in the middle, a line per finished URL, tables and the
progress bar at any terminal width, CSV booleans, the summary."""

from __future__ import annotations

import csv
import io

import pytest
from rich.console import Console

from og_preview.present.output import writer_for
from og_preview.present.progress import Counts, RichProgress
from og_preview.present.render import card, cut_middle, finished_line, records_table
from og_preview.record import ErrorInfo, ErrorKind, Preview, Status

LONG = "https://news.example.com/world/2024/05/17/a-rather-long-article-title?ref=home"
WIDTHS = [60, 80, 120, 200]


def _rendered(renderable: object, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True, color_system=None)
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def _ok(url: str = LONG, title: str = "A rather long article title") -> Preview:
    return Preview(url=url, status=Status.PROCESSED, title=title, http_status=200)


def _failed(url: str = LONG) -> Preview:
    error = ErrorInfo(kind=ErrorKind.HTTP, message="HTTP 404", http_status=404)
    return Preview(url=url, status=Status.ERROR, error=error, http_status=404)


@pytest.mark.parametrize("width", [12, 20, 30, 45, 60])
def test_a_url_is_cut_in_the_middle_keeping_host_and_end(width: int) -> None:
    cut = cut_middle(LONG, width)
    assert len(cut) == width and "…" in cut
    assert cut.startswith("https://")
    assert cut.endswith(LONG[-3:])
    if width >= 45:
        assert cut.startswith("https://news.example.com") and cut.endswith("title?ref=home")


def test_a_short_url_is_left_whole() -> None:
    assert cut_middle("http://a.example/", 40) == "http://a.example/"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("record", [_ok(), _failed(), _ok(title="")])
def test_a_finished_line_fits_the_terminal(width: int, record: Preview) -> None:
    line = finished_line(record, width)
    text = line.plain
    assert len(text) <= width
    assert "news.example.com" in text  # the host stays
    assert ("A rather long" in text) or ("http: HTTP 404" in text) or ("(no title)" in text)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_table_gives_the_url_column_priority(width: int) -> None:
    rows = [_ok("http://a.ex/p/1"), _failed("http://127.0.0.1:60069/I/am/a/page")]
    out = _rendered(records_table(rows, width=width), width)
    assert "http://a.ex/p/1" in out  # a 15-character URL is never cut
    assert "http://127.0.0.1:60069/I/am/a/page" in out or width < 80
    assert "http://127.0.0.1:60069" in out  # its host stays in any case
    assert all(len(line) <= width for line in out.splitlines())


def test_a_404_card_says_http_404_once() -> None:
    out = _rendered(card(_failed()), 100)
    assert "http: HTTP 404" in out and "(HTTP 404)" not in out


def test_csv_booleans_read_as_in_the_json() -> None:
    stream = io.StringIO()
    writer = writer_for("csv", stream)
    writer.write(_ok())
    writer.write(Preview(url="http://a.ex/", status=Status.PROCESSED, from_cache=True))
    writer.close()
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert [row["from_cache"] for row in rows] == ["false", "true"]


def test_the_summary_counts_one_url_in_the_singular() -> None:
    counts = Counts()
    counts.add(_ok())
    assert counts.summary().startswith("1 URL in ")
    counts.add(_failed())
    assert counts.summary().startswith("2 URLs in ")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_progress_keeps_total_rate_and_eta_at_any_width(width: int) -> None:
    progress = RichProgress(no_color=True)
    progress._console = Console(file=io.StringIO(), width=width, no_color=True)
    progress._bar = type(progress._bar)(
        *progress._columns(width), console=progress._console, auto_refresh=False
    )
    progress._task = progress._bar.add_task("previews", total=300, rate="0", outcomes="")
    counts = Counts()
    for _ in range(17):
        counts.add(_ok())
    progress.update(counts)
    line = _rendered(progress._bar.get_renderable(), width).strip()
    assert "17/300" in line and "/s" in line and "eta" in line, line
    assert len(line) <= width


def test_a_stopped_run_keeps_its_total() -> None:
    progress = RichProgress(no_color=True)
    progress._console = Console(file=io.StringIO(), width=100, no_color=True)
    progress.set_total(300)
    counts = Counts()
    for _ in range(24):
        counts.add(_ok())
    progress.finish(counts, interrupted=True)
    assert progress._bar.tasks[0].total == 300
    progress.finish(counts)
    assert progress._bar.tasks[0].total == 24
