"""Writing the cache: a batch's records (`save_many`) and its pending URLs.

Rules (SPEC "Cache"), record by record in the order given, in one transaction:

- processed: the row is replaced, `last_error` cleared;
- error, over a processed row: the good data stays, the failure goes to
  `last_error` / `last_attempt_at`, and the cached record is returned;
- error otherwise: stored as an error row;
- pending: inserted only where the URL has no row yet;
- `from_cache` records are not written again.

Both keep their own SQL, on the connection, for speed: they write every record of
every batch. Measured in CPU time on the commit-rate bench's records (10,000, in
groups of 256): an `INSERT ... ON CONFLICT(url) DO UPDATE` a record commits ~28,000
records/s; sqlite-utils' `upsert_all` of the same rows ~19,000 (~16,500 given dicts;
it copies each row, JSON-checking every value), `upsert` a record at a time ~4,800.
`mark_pending`'s `executemany` inserts 100,000 URLs in 0.8-1.1 s, sqlite-utils'
`insert_all(ignore=True)` in 1.6-1.8 s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..record import Preview, Status
from .rows import SELECT_COLUMNS, error_json, from_tuple, to_row
from .schema import ALL_COLUMNS, TABLE, host_of, normalise_time

_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(ALL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ALL_COLUMNS)}) ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ALL_COLUMNS if c != "url")
)
_INSERT_PENDING = (
    f"INSERT INTO {TABLE} (url, status, host, last_attempt_at) VALUES (?, 'pending', ?, ?) "
    "ON CONFLICT(url) DO NOTHING"
)
_SELECT_PROCESSED = f"SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE url = ? AND status = 'processed'"
_RECORD_FAILURE = f"UPDATE {TABLE} SET last_error = ?, last_attempt_at = ? WHERE url = ?"


def save_many(conn: sqlite3.Connection, previews: Sequence[Preview], now: str) -> list[Preview]:
    """Write `previews` (inside the caller's transaction); return the record to report
    for each, in order. `now` is the attempt time (and `fetched_at` where missing)."""
    return [_save_one(conn, preview, now) for preview in previews]


def _save_one(conn: sqlite3.Connection, preview: Preview, now: str) -> Preview:
    if preview.from_cache:
        return preview
    if preview.status is Status.PENDING:
        conn.execute(_INSERT_PENDING, (preview.url, host_of(preview.url), now))
        return preview
    fetched_at = normalise_time(preview.fetched_at) or now
    if fetched_at != preview.fetched_at:
        preview = preview.with_changes(fetched_at=fetched_at)
    if preview.status is Status.ERROR:
        good = conn.execute(_SELECT_PROCESSED, (preview.url,)).fetchone()
        if good is not None:
            conn.execute(_RECORD_FAILURE, (error_json(preview), now, preview.url))
            return from_tuple(good)
    conn.execute(_UPSERT, to_row(preview, now))
    return preview


def mark_pending(conn: sqlite3.Connection, urls: Iterable[str], now: str) -> int:
    """Insert `urls` as `pending` where they have no row yet (inside the caller's
    transaction); return how many were new."""
    cursor = conn.executemany(_INSERT_PENDING, ((url, host_of(url), now) for url in urls))
    return max(cursor.rowcount, 0)
