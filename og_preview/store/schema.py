"""The cache's SQLite schema, its version and the migrations between versions.

One table, `previews`, one row per normalised URL. Its columns, in table order:

- the record's keys from `url` to `fetched_at`, in record order (JSON text for the
  nested values): the columns of schema 1;
- `host`: the lower-cased host of `url`, for `show --host` (indexed);
- `last_error`: JSON of the most recent failed attempt (`error` as it was), or NULL when
  the most recent attempt succeeded (a processed row keeps its data when a refetch
  fails; the record's `last_error` is this one's kind and message, `at` its
  `last_attempt_at`);
- `last_attempt_at`: ISO 8601 UTC time of the most recent attempt;
- `changed`: the `changed` of the fetch that wrote the row (1, 0, or NULL on a first
  fetch); a record read from the cache says null, as the SPEC has it;
- `image_check`: the record's `image_check` (JSON);
- `error_kind` and `error_message`: `error`'s kind and message, flat, for faceting
  (`error_kind` indexed); kept in step with `error` by every write;
- `etag` and `last_modified`: the page's validators, sent back when a stale row is
  revalidated (`If-None-Match` / `If-Modified-Since`);
- `checked_at`: when the page was last fetched or revalidated by a `304` (on a full
  fetch, its `fetched_at`); `--max-age` is judged on it.

Columns are only ever added at the end, so a migration adds them in place
(`add_column`) and copies the table (`transform`) only for a file whose columns are out
of order. sqlite-utils creates the table and its indexes and runs the migrations
(`add_column`, `transform`, `convert`). The version lives in `PRAGMA user_version`.
Each migration moves one version up and runs inside the caller's write transaction, so
two processes opening an old file at once migrate it once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import jsontext
from ..record import RECORD_KEYS, ErrorKind

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA_VERSION = 3
TABLE = "previews"

#: The record's keys stored as they are, `url` to `fetched_at` (schema 1's columns).
RECORD_COLUMNS: tuple[str, ...] = RECORD_KEYS[: RECORD_KEYS.index("fetched_at") + 1]
#: Schema 2's bookkeeping.
V2_COLUMNS: tuple[str, ...] = ("host", "last_error", "last_attempt_at")
#: Schema 3's: the record's newer keys, flat errors, validators, the last check.
V3_COLUMNS: tuple[str, ...] = (
    "changed",
    "image_check",
    "error_kind",
    "error_message",
    "etag",
    "last_modified",
    "checked_at",
)
EXTRA_COLUMNS: tuple[str, ...] = V2_COLUMNS + V3_COLUMNS
ALL_COLUMNS: tuple[str, ...] = RECORD_COLUMNS + EXTRA_COLUMNS
JSON_COLUMNS: tuple[str, ...] = ("images", "og", "twitter", "jsonld", "error")
INT_COLUMNS: tuple[str, ...] = ("http_status", "attempts", "changed")
INDEXED: tuple[str, ...] = ("status", "fetched_at", "host", "error_kind")


class SchemaError(Exception):
    """The file holds something this version cannot use (message says why)."""


def column_types() -> dict[str, type]:
    """sqlite-utils column types: INTEGER for counts, TEXT (JSON or plain) otherwise."""
    return {c: int if c in INT_COLUMNS else str for c in ALL_COLUMNS}


# A URL as og-preview stores it (scheme://host[:port], then "/", "?", "#" or the end): no
# userinfo or IPv6 brackets, and a plain lower-case host, read without `urlsplit`.
_PLAIN_URL = re.compile(r"https?://([a-z0-9.\-]+)(?::\d*)?(?=[/?#]|\Z)", re.ASCII)


def host_of(url: str) -> str | None:
    """The lower-cased host of a URL (brackets dropped from IPv6), or None."""
    plain = _PLAIN_URL.match(url)
    if plain is not None:
        return plain.group(1).rstrip(".") or None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    host = (host or "").rstrip(".")
    return host or None


def iso_utc(when: datetime) -> str:
    """The one time format stored in the cache: `2026-03-01T10:00:00Z` (UTC, seconds).

    Every stored time has this exact shape, so text order is time order and
    `--since` / `--max-age` are plain string comparisons that use the index.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def normalise_time(text: str | None) -> str | None:
    """Any ISO 8601 time → `iso_utc` form; unparseable text is kept as written."""
    if not text:
        return None
    if _ISO_UTC.fullmatch(text):
        return text  # already in that form (every time og-preview writes)
    try:
        return iso_utc(datetime.fromisoformat(text))
    except ValueError:
        return text


def user_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def check(db: Database) -> None:
    """Refuse, reading only, a file this version must not write to or cannot read: a
    SQLite database that is not an og-preview cache (a `previews` table of someone
    else's, or tables and no `previews` at all), or a cache of a newer og-preview. An
    empty database is fine: it becomes a cache."""
    # (the names in one read: another process may be creating the cache meanwhile)
    names = {
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite%'"
        )
    }
    if TABLE in names:
        if not {"url", "status"} <= set(db.table(TABLE).columns_dict):
            raise SchemaError(
                f"its `{TABLE}` table is not an og-preview cache (choose another --db)"
            )
    elif names:
        raise SchemaError(
            f"a SQLite database without og-preview's `{TABLE}` table is not an og-preview "
            "cache (choose another --db)"
        )
    version = user_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"it was written by a newer og-preview (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade og-preview or choose another --db"
        )


def needs_setup(db: Database) -> bool:
    """Cheap check, outside any lock: is the file at the current version?"""
    return user_version(db) != SCHEMA_VERSION or not db.table(TABLE).exists()


def setup(db: Database) -> None:
    """Create or migrate the schema. Call inside a write (IMMEDIATE) transaction: the
    sqlite-utils calls below then run in savepoints of it, and commit with it."""
    check(db)
    version = user_version(db)
    table = db.table(TABLE)
    if not table.exists():
        create(db)
    else:
        # A table without a version predates versioning: that is version 1.
        for step in range(max(version, 1), SCHEMA_VERSION):
            MIGRATIONS[step](db)
    ensure_indexes(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def create(db: Database) -> None:
    """The table of a new cache: `column_types()` in ALL_COLUMNS order, `url` the key."""
    db.table(TABLE).create(
        column_types(),
        pk="url",
        not_null={"url", "status"},
        column_order=list(ALL_COLUMNS),
        if_not_exists=True,
    )


def ensure_indexes(db: Database) -> None:
    table = db.table(TABLE)
    for column in INDEXED:
        table.create_index([column], find_unique_name=False, if_not_exists=True)


def _add_missing_columns(db: Database) -> None:
    """Add every column of ALL_COLUMNS the table lacks, then put the columns back in
    ALL_COLUMNS order if they are not (columns of the user's own stay, after ours)."""
    table = db.table(TABLE)
    have = table.columns_dict
    for column, kind in column_types().items():
        if column not in have:
            table.add_column(column, kind)
    if list(table.columns_dict)[: len(ALL_COLUMNS)] != list(ALL_COLUMNS):
        table.transform(column_order=list(ALL_COLUMNS))  # copies the table: rare


def _v1_to_v2(db: Database) -> None:
    """Version 1 had the record columns only: add host, last_error, last_attempt_at.

    Fills `host` from `url`, rewrites `fetched_at` in the one stored time format,
    takes `last_attempt_at` from it, and copies an error row's `error` to `last_error`.
    A record column the old table lacks is added too (with the later versions' columns:
    `_v2_to_v3` fills those).
    """
    _add_missing_columns(db)
    table = db.table(TABLE)
    table.convert("url", host_of, output="host")
    table.convert("fetched_at", normalise_time)
    db.execute(
        f"UPDATE {TABLE} SET last_attempt_at = fetched_at,"
        " last_error = CASE WHEN status = 'error' THEN error END"
    )


def _v2_to_v3(db: Database) -> None:
    """Version 3 adds changed, image_check, error_kind, error_message, etag,
    last_modified and checked_at, after the others (`add_column`: no copy of the table).

    Fills `error_kind` / `error_message` from the rows' `error` JSON (none where it does
    not parse or names no known kind) and `checked_at` from `fetched_at`; the rest stay
    NULL: no validators, no image check, no `changed` yet."""
    _add_missing_columns(db)
    table = db.table(TABLE)
    table.convert("error", error_kind_of, output="error_kind", where="error IS NOT NULL")
    table.convert("error", error_message_of, output="error_message", where="error IS NOT NULL")
    db.execute(f"UPDATE {TABLE} SET checked_at = fetched_at WHERE checked_at IS NULL")


MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _v1_to_v2, 2: _v2_to_v3}

_KINDS = frozenset(k.value for k in ErrorKind)


def _error_dict(text: Any) -> dict[str, Any] | None:
    """An `error` column's JSON as a dict with a known kind, else None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        data = jsontext.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") not in _KINDS:
        return None
    return data


def error_kind_of(text: Any) -> str | None:
    """The `error_kind` column of an `error` JSON text."""
    data = _error_dict(text)
    return str(data["kind"]) if data is not None else None


def error_message_of(text: Any) -> str | None:
    """The `error_message` column of an `error` JSON text."""
    data = _error_dict(text)
    if data is None or data.get("message") is None:
        return None
    return str(data["message"])


def dumps(value: object) -> str:
    """JSON text as stored in the JSON columns (compact, UTF-8 kept readable)."""
    return jsontext.dumps(value)
