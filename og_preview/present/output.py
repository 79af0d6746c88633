"""Writers: how records reach stdout (jsonl, json, csv, urls, table, card)."""

from __future__ import annotations

import csv
from typing import IO, Any, Protocol

from .. import jsontext
from ..record import Preview

FORMATS = ("auto", "jsonl", "json", "csv", "table", "card", "urls")

CSV_COLUMNS = (
    "url",
    "final_url",
    "status",
    "http_status",
    "content_type",
    "title",
    "description",
    "image",
    "site_name",
    "type",
    "canonical_url",
    "locale",
    "lang",
    "author",
    "published",
    "icon",
    "error_kind",
    "error_message",
    "attempts",
    "fetched_at",
    "from_cache",
)


class Writer(Protocol):
    def write(self, preview: Preview) -> None: ...
    def close(self) -> None: ...


def dumps(preview: Preview, *, indent: bool = False) -> str:
    """The record as JSON text: one compact line, or indented by two spaces."""
    return jsontext.dumps(preview.to_dict(), indent=indent)


def flat_row(preview: Preview) -> dict[str, Any]:
    """The record as flat spreadsheet columns."""
    data = preview.to_dict()
    row = {key: data.get(key) for key in CSV_COLUMNS}
    row["error_kind"] = preview.error.kind.value if preview.error else None
    row["error_message"] = preview.error.message if preview.error else None
    for key, value in row.items():  # true/false as in the JSON, not Python's True/False
        if isinstance(value, bool):
            row[key] = "true" if value else "false"
    return row


class JsonLinesWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, preview: Preview) -> None:
        self.stream.write(dumps(preview) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonWriter:
    """One object for a single result (`single=True`), else a streamed array."""

    def __init__(self, stream: IO[str], *, single: bool) -> None:
        self.stream = stream
        self.single = single
        self.count = 0

    def write(self, preview: Preview) -> None:
        if self.single:
            self.stream.write(dumps(preview, indent=True) + "\n")
        else:
            self.stream.write(("[\n" if self.count == 0 else ",\n") + dumps(preview))
        self.count += 1
        self.stream.flush()

    def close(self) -> None:
        if not self.single:
            self.stream.write("[]\n" if self.count == 0 else "\n]\n")
        self.stream.flush()


class CsvWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        self.writer.writeheader()

    def write(self, preview: Preview) -> None:
        self.writer.writerow(flat_row(preview))
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class UrlsWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, preview: Preview) -> None:
        self.stream.write(preview.url + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class NullWriter:
    def write(self, preview: Preview) -> None:
        pass

    def close(self) -> None:
        pass


class TableWriter:
    """A Rich table for people, printed when the results are complete."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.rows: list[Preview] = []

    def write(self, preview: Preview) -> None:
        self.rows.append(preview)

    def close(self) -> None:
        from .render import records_table, stdout_console

        console = stdout_console(self.stream)
        console.print(records_table(self.rows, console.width))


class CardWriter:
    """A readable Rich card per record, printed as each arrives."""

    def __init__(self, stream: IO[str]) -> None:
        from .render import stdout_console

        self.console = stdout_console(stream)

    def write(self, preview: Preview) -> None:
        from .render import card

        self.console.print(card(preview))

    def close(self) -> None:
        pass


class WithoutJsonld:
    """`--no-jsonld`: records are written with `jsonld` empty (the cache keeps it)."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def write(self, preview: Preview) -> None:
        self.writer.write(preview.with_changes(jsonld=[]) if preview.jsonld else preview)

    def close(self) -> None:
        self.writer.close()


def writer_for(fmt: str, stream: IO[str], *, single: bool = False, jsonld: bool = True) -> Writer:
    """A writer for an explicit format (the CLI resolves `auto` first)."""
    writer = _writer(fmt, stream, single)
    return writer if jsonld else WithoutJsonld(writer)


def _writer(fmt: str, stream: IO[str], single: bool) -> Writer:
    if fmt == "jsonl":
        return JsonLinesWriter(stream)
    if fmt == "json":
        return JsonWriter(stream, single=single)
    if fmt == "csv":
        return CsvWriter(stream)
    if fmt == "urls":
        return UrlsWriter(stream)
    if fmt == "table":
        return TableWriter(stream)
    if fmt == "card":
        return CardWriter(stream)
    if fmt == "none":
        return NullWriter()
    raise ValueError(f"unknown format {fmt!r}")
