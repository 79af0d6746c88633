"""Opening a cache to read it only (`show`, `report`), whatever cache a user has: a
read-only file, one in a read-only directory or on read-only media, one an older
og-preview wrote. Nothing here writes to the file.

- The file is opened with SQLite's URI `mode=ro`. A cache in WAL mode is read through
  its `-shm` and `-wal` files (SQLite makes them, empty, where they are missing and
  the directory allows: the cache file itself is never written); where they cannot be
  made (a read-only directory or medium: no og-preview can be writing there either)
  the file is opened `immutable=1` instead, which reads it as it lies.
- A cache of an older schema cannot be migrated without writing, so this connection
  sees it through a TEMP VIEW named `previews`, which hides the table (SQLite looks in
  `temp` first): the columns the old table lacks are computed as the migration would
  fill them (`host` from `url`, `error_kind` / `error_message` from `error`,
  `last_attempt_at` and `checked_at` from `fetched_at`), or NULL. An empty file (or a
  database without tables) reads as an empty cache the same way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from . import schema
from .schema import ALL_COLUMNS, TABLE

if TYPE_CHECKING:
    from sqlite_utils import Database

#: The ways to open a file read-only, in order: the second when the first cannot read it.
OPEN_MODES = ("mode=ro", "mode=ro&immutable=1")


def _cannot_read_in_place(exc: sqlite3.OperationalError) -> bool:
    """Is this `mode=ro` failing for want of a writable `-shm` / `-wal` file?"""
    text = str(exc)
    return "unable to open" in text or "readonly" in text or "read-only" in text


def open_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write to `path`: `mode=ro`, else `immutable=1`."""
    uri = path.absolute().as_uri()
    for query in OPEN_MODES:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(f"{uri}?{query}", uri=True, timeout=timeout)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            if query == OPEN_MODES[-1] or not _cannot_read_in_place(exc):
                raise
            continue
        return conn
    raise AssertionError("unreachable")  # pragma: no cover


def _column(column: str, have: set[str], version: int) -> str:
    """The SQL of `column` in the view: the table's own, else what a migration fills in."""
    if column in have and column != "fetched_at":
        return column
    fetched_at = "NULL"
    if "fetched_at" in have:
        fetched_at = "og_time(fetched_at)" if version < 2 else "fetched_at"
    error = "error" if "error" in have else "NULL"
    filled = {
        "fetched_at": fetched_at,
        "host": "og_host(url)",
        "last_error": f"CASE WHEN status = 'error' THEN {error} END",
        "last_attempt_at": fetched_at,
        "error_kind": f"og_error_kind({error})",
        "error_message": f"og_error_message({error})",
        "checked_at": fetched_at,
    }
    return filled.get(column, "NULL")


def shadow_old_schema(db: Database) -> None:
    """Show this connection an old or empty cache as one of the current schema (a TEMP
    VIEW over the table); a current cache is left as it is."""
    table = db.table(TABLE)
    exists = table.exists()
    have = set(table.columns_dict) if exists else set()
    version = max(schema.user_version(db), 1)
    if exists and version == schema.SCHEMA_VERSION and have.issuperset(ALL_COLUMNS):
        return
    conn = db.conn
    conn.create_function("og_host", 1, schema.host_of, deterministic=True)
    conn.create_function("og_time", 1, schema.normalise_time, deterministic=True)
    conn.create_function("og_error_kind", 1, schema.error_kind_of, deterministic=True)
    conn.create_function("og_error_message", 1, schema.error_message_of, deterministic=True)
    if exists:
        columns = [f"{_column(c, have, version)} AS {c}" for c in ALL_COLUMNS]
        source = f" FROM main.{TABLE}"
    else:
        columns = [f"NULL AS {c}" for c in ALL_COLUMNS]
        source = " WHERE 0"
    conn.execute(f"CREATE TEMP VIEW {TABLE} AS SELECT {', '.join(columns)}{source}")
