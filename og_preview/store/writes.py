"""Writing the cache: a batch's records (`save_many`) and its pending URLs.

Rules (SPEC "Cache"), record by record in the order given, in one transaction:

- processed: the row is replaced, `last_error` cleared; the record returned says
  whether title, description, image, site_name, type or canonical_url `changed` from
  the row's previous processed version (None when there was none);
- revalidated (a `304` answered the conditional refetch): the stored record stands;
  only `checked_at` (and the validators the `304` sent) move on, and the stored record
  is returned (`from_cache`, `changed` false);
- error, over a processed row: the good data stays, the failure goes to
  `last_error` / `last_attempt_at`, and the cached record is returned with it as its
  `last_error`;
- error otherwise: stored as an error row;
- pending: inserted only where the URL has no row yet;
- `from_cache` records are not written again.

`error_kind` / `error_message` are written with `error`, from the same record, so they
never disagree. Both functions keep their own SQL, on the connection, for speed: they
write every record of every batch. Measured in CPU time on the commit-rate bench's
records (10,000, in groups of 256): an `INSERT ... ON CONFLICT(url) DO UPDATE` a record
commits ~28,000 records/s; sqlite-utils' `upsert_all` of the same rows ~19,000
(~16,500 given dicts; it copies each row, JSON-checking every value), `upsert` a record
at a time ~4,800. `mark_pending`'s `executemany` inserts 100,000 URLs in 0.8-1.1 s,
sqlite-utils' `insert_all(ignore=True)` in 1.6-1.8 s. Working out `changed` costs a
SELECT by key and a copy of the record (`with_changes`) for a row replaced: 10,000
records in groups of 256 replaced ~30,000 records/s where schema 2 did ~42,000 (and
inserted ~46,000/s either way); the copy is most of it. Asking SQLite for it in the
upsert (`RETURNING`) measured no faster.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from ..record import ErrorKind, Preview, Status, error_preview, last_error_of
from .rows import SELECT_COLUMNS, error_json, from_tuple, to_row
from .schema import ALL_COLUMNS, TABLE, host_of, normalise_time

#: The record keys whose difference makes a fetched record `changed`.
CHANGE_KEYS: tuple[str, ...] = (
    "title",
    "description",
    "image",
    "site_name",
    "type",
    "canonical_url",
)

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
_SELECT_PREVIOUS = (
    f"SELECT {', '.join(CHANGE_KEYS)} FROM {TABLE} WHERE url = ? AND status = 'processed'"
)
_RECORD_FAILURE = f"UPDATE {TABLE} SET last_error = ?, last_attempt_at = ? WHERE url = ?"
_REVALIDATE = (
    f"UPDATE {TABLE} SET checked_at = ?, last_attempt_at = ?, last_error = NULL,"
    " etag = coalesce(?, etag), last_modified = coalesce(?, last_modified) WHERE url = ?"
)


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
    if preview.revalidated:
        return _revalidate(conn, preview, now)
    if preview.status is Status.ERROR:
        good = conn.execute(_SELECT_PROCESSED, (preview.url,)).fetchone()
        if good is not None:
            conn.execute(_RECORD_FAILURE, (error_json(preview), now, preview.url))
            failure = last_error_of(preview.error, now) if preview.error is not None else None
            return from_tuple(good).with_changes(last_error=failure)
        changed = None
    else:
        previous = conn.execute(_SELECT_PREVIOUS, (preview.url,)).fetchone()
        changed = None if previous is None else previous != _change_values(preview)
    if changed != preview.changed:
        preview = preview.with_changes(changed=changed)
    conn.execute(_UPSERT, to_row(preview, now))
    return preview


def _change_values(preview: Preview) -> tuple[object, ...]:
    return tuple(getattr(preview, key) for key in CHANGE_KEYS)


def _revalidate(conn: sqlite3.Connection, preview: Preview, now: str) -> Preview:
    """A `304`: the stored record stands, checked again at the record's `fetched_at`."""
    good = conn.execute(_SELECT_PROCESSED, (preview.url,)).fetchone()
    if good is None:  # nothing to keep (the row went since it was read): fetch again later
        failed = error_preview(
            preview.url,
            ErrorKind.HTTP,
            "HTTP 304 Not Modified, but the cache holds no preview of this URL to keep"
            " (it is fetched again next time)",
            http_status=304,
            final_url=preview.final_url,
            attempts=preview.attempts,
            fetched_at=preview.fetched_at,
        )
        conn.execute(_UPSERT, to_row(failed, now))
        return failed
    conn.execute(
        _REVALIDATE,
        (preview.fetched_at, now, preview.etag, preview.last_modified, preview.url),
    )
    stored = from_tuple(good)
    return stored.with_changes(
        changed=False,
        last_error=None,
        revalidated=True,
        etag=preview.etag or stored.etag,
        last_modified=preview.last_modified or stored.last_modified,
    )


def mark_pending(conn: sqlite3.Connection, urls: Iterable[str], now: str) -> int:
    """Insert `urls` as `pending` where they have no row yet (inside the caller's
    transaction); return how many were new."""
    cursor = conn.executemany(_INSERT_PENDING, ((url, host_of(url), now) for url in urls))
    return max(cursor.rowcount, 0)
