"""The cache's SQLite schema, its version and the migrations between versions.

One table, `previews`, one row per normalised URL: a column for every record key
(in record order, `from_cache` excepted: it describes an answer, not a row), JSON
text for the nested values, and three bookkeeping columns:

- `host`: the lower-cased host of `url`, for `show --host` (indexed);
- `last_error`: JSON of the most recent failed attempt, or NULL when the most
  recent attempt succeeded (a processed row keeps its data when a refetch fails);
- `last_attempt_at`: ISO 8601 UTC time of the most recent attempt.

sqlite-utils creates the table and its indexes and runs the migrations
(`add_column`, `transform`, `convert`). The version lives in `PRAGMA user_version`.
Each migration moves one version up and runs inside the caller's write
transaction, so two processes opening an old file at once migrate it once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .. import jsontext
from ..record import RECORD_KEYS

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA_VERSION = 2
TABLE = "previews"

JSON_COLUMNS: tuple[str, ...] = ("images", "og", "twitter", "jsonld", "error")
INT_COLUMNS: tuple[str, ...] = ("http_status", "attempts")
#: The record's keys as stored, in record order.
RECORD_COLUMNS: tuple[str, ...] = tuple(k for k in RECORD_KEYS if k != "from_cache")
EXTRA_COLUMNS: tuple[str, ...] = ("host", "last_error", "last_attempt_at")
ALL_COLUMNS: tuple[str, ...] = RECORD_COLUMNS + EXTRA_COLUMNS
INDEXED: tuple[str, ...] = ("status", "fetched_at", "host")


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


def needs_setup(db: Database) -> bool:
    """Cheap check, outside any lock: is the file at the current version?"""
    return user_version(db) != SCHEMA_VERSION or not db.table(TABLE).exists()


def setup(db: Database) -> None:
    """Create or migrate the schema. Call inside a write (IMMEDIATE) transaction: the
    sqlite-utils calls below then run in savepoints of it, and commit with it."""
    version = user_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"it was written by a newer og-preview (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade og-preview or choose another --db"
        )
    table = db.table(TABLE)
    if not table.exists():
        create(db)
    elif "url" not in table.columns_dict:
        raise SchemaError(f"its `{TABLE}` table is not an og-preview cache (choose another --db)")
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


def _v1_to_v2(db: Database) -> None:
    """Version 1 had the record columns only: add host, last_error, last_attempt_at.

    Fills `host` from `url`, rewrites `fetched_at` in the one stored time format,
    takes `last_attempt_at` from it, and copies an error row's `error` to `last_error`.
    A record column the old table lacks is added too, and the columns are put back in
    ALL_COLUMNS order (columns of the user's own stay, after ours).
    """
    table = db.table(TABLE)
    have = table.columns_dict
    for column, kind in column_types().items():
        if column not in have:
            table.add_column(column, kind)
    if list(table.columns_dict)[: len(ALL_COLUMNS)] != list(ALL_COLUMNS):
        table.transform(column_order=list(ALL_COLUMNS))  # copies the table: rare
    table.convert("url", host_of, output="host")
    table.convert("fetched_at", normalise_time)
    db.execute(
        f"UPDATE {TABLE} SET last_attempt_at = fetched_at,"
        " last_error = CASE WHEN status = 'error' THEN error END"
    )


MIGRATIONS: dict[int, Callable[[Database], None]] = {1: _v1_to_v2}


def dumps(value: object) -> str:
    """JSON text as stored in the JSON columns (compact, UTF-8 kept readable)."""
    return jsontext.dumps(value)
