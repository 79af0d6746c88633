"""A cache row and its record: `to_row` (what `save_many` writes), `from_row` (what
every read returns), and the column lists the queries select."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import jsontext
from ..record import ErrorKind, Preview, Status
from . import schema
from .schema import JSON_COLUMNS, RECORD_COLUMNS

#: The columns a read selects: the record's, then what `from_row` makes the rest of it of.
READ_COLUMNS: tuple[str, ...] = (
    *RECORD_COLUMNS,
    "image_check",
    "last_error",
    "last_attempt_at",
    "etag",
    "last_modified",
)
SELECT_COLUMNS = ", ".join(READ_COLUMNS)
#: The same without the JSON-LD text (NULL in its place), for `query(jsonld=False)`.
SELECT_WITHOUT_JSONLD = SELECT_COLUMNS.replace("jsonld", "NULL AS jsonld")

_KINDS = frozenset(k.value for k in ErrorKind)
_PLAIN = frozenset(RECORD_COLUMNS) - {"status", "error", *JSON_COLUMNS}
_PROCESSED = Status.PROCESSED.value


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return jsontext.loads(text)
    except ValueError:
        return None


def _known_error(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") in _KINDS


def from_row(row: Mapping[str, Any]) -> Preview:
    """The record of a row ({column: value}, READ_COLUMNS at least), `from_cache`.

    JSON text that does not parse reads as empty, and an `error` without a known kind
    as none. A processed row's `last_error` column (a refetch that failed) is the
    record's `last_error`, `at` its `last_attempt_at`; `changed` is null from the cache.
    """
    data = {column: row[column] for column in RECORD_COLUMNS}
    for column in JSON_COLUMNS:
        data[column] = _loads(data[column])
    if not _known_error(data["error"]):
        data["error"] = None
    data["image_check"] = _loads(row["image_check"])
    if data["status"] == _PROCESSED and row["last_error"]:
        failure = _loads(row["last_error"])
        if _known_error(failure):
            data["last_error"] = {
                "kind": failure["kind"],
                "message": str(failure.get("message") or ""),
                "at": row["last_attempt_at"],
            }
    data["etag"] = row["etag"]
    data["last_modified"] = row["last_modified"]
    data["from_cache"] = True
    return Preview.from_dict(data)


def from_tuple(row: Sequence[Any]) -> Preview:
    """`from_row` of a plain sqlite3 row selected as SELECT_COLUMNS."""
    return from_row(dict(zip(READ_COLUMNS, row, strict=True)))


def error_json(preview: Preview) -> str | None:
    return schema.dumps(preview.error.to_dict()) if preview.error is not None else None


def to_row(preview: Preview, now: str) -> tuple[Any, ...]:
    """The row, ALL_COLUMNS in order (`now`: the attempt time; `checked_at` is the record's
    `fetched_at`). Reads attributes directly: `to_dict()` deep-copies every nested
    value, which took two thirds of the time of a save."""
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
    check = preview.image_check
    return (
        *values,
        schema.host_of(preview.url),
        error,  # last_error: this attempt's failure, or NULL when it succeeded
        now,  # last_attempt_at
        preview.changed,
        schema.dumps(check) if check is not None else None,
        preview.error.kind.value if preview.error is not None else None,
        preview.error.message if preview.error is not None else None,
        preview.etag,
        preview.last_modified,
        preview.fetched_at,  # checked_at
    )
