"""A cache row and its record: `to_row` (what `save_many` writes), `from_row` (what
every read returns), and the column lists the queries select."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import jsontext
from ..record import ErrorKind, Preview
from . import schema
from .schema import JSON_COLUMNS, RECORD_COLUMNS

#: The columns a read selects, in RECORD_COLUMNS order.
SELECT_COLUMNS = ", ".join(RECORD_COLUMNS)
#: The same without the JSON-LD text (NULL in its place), for `query(jsonld=False)`.
SELECT_WITHOUT_JSONLD = SELECT_COLUMNS.replace("jsonld", "NULL AS jsonld")

_KINDS = frozenset(k.value for k in ErrorKind)
_PLAIN = frozenset(RECORD_COLUMNS) - {"status", "error", *JSON_COLUMNS}


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return jsontext.loads(text)
    except ValueError:
        return None


def from_row(row: Mapping[str, Any]) -> Preview:
    """The record of a row ({column: value}, RECORD_COLUMNS at least), `from_cache`.

    JSON text that does not parse reads as empty, and an `error` without a known
    kind as none."""
    data = {column: row[column] for column in RECORD_COLUMNS}
    for column in JSON_COLUMNS:
        data[column] = _loads(data[column])
    if not isinstance(data["error"], dict) or data["error"].get("kind") not in _KINDS:
        data["error"] = None
    data["from_cache"] = True
    return Preview.from_dict(data)


def from_tuple(row: Sequence[Any]) -> Preview:
    """`from_row` of a plain sqlite3 row selected as SELECT_COLUMNS."""
    return from_row(dict(zip(RECORD_COLUMNS, row, strict=True)))


def error_json(preview: Preview) -> str | None:
    return schema.dumps(preview.error.to_dict()) if preview.error is not None else None


def to_row(preview: Preview, now: str) -> tuple[Any, ...]:
    """The row for ALL_COLUMNS. Reads attributes directly: `to_dict()` deep-copies
    every nested value, which took two thirds of the time of a save."""
    error = error_json(preview)
    values: list[Any] = []
    for column in RECORD_COLUMNS:
        if column in _PLAIN:
            values.append(getattr(preview, column))
        elif column == "status":
            values.append(preview.status.value)
        elif column == "error":
            values.append(error)
        else:
            values.append(schema.dumps(getattr(preview, column)))
    return (*values, schema.host_of(preview.url), error, now)
