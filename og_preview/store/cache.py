"""The cache: one SQLite file, one row per URL. `store` is the only package that writes SQLite.

Rules (SPEC "Cache"):

- `lookup` serves a `processed` row checked (fetched, or revalidated by a `304`) less
  than `max_age` ago; error and pending rows are never served, so a failed URL is
  always tried again. `stale_many` gives the older ones, with their validators, to
  revalidate.
- `save_many` writes a batch in one short IMMEDIATE transaction. A failed
  refetch never overwrites a processed row: the good data stays, the failure
  goes to `last_error` / `last_attempt_at`, and the good record is returned.
- WAL, `synchronous=NORMAL` and a 30 s busy timeout, so several processes can
  share one file; a write that still finds the file locked is retried.

Every stored time has one shape (`schema.iso_utc`), so a record's `fetched_at`
comes back from the cache in that shape even if it was saved as `+02:00` or with
microseconds; `save_many` returns records as stored.

The modules behind it: `connection` (opening, locking, errors), `schema` (the
table, created and migrated by sqlite-utils), `readonly` (opening a cache read-only),
`reads` and `writes`, `rows` (a row and its record), `query` (`show`'s filters).

A write that fails (the disk is full, an I/O error) rolls its batch back and raises
CacheError, one line: the records of that batch are not in the cache.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ..record import Preview
from . import reads, writes
from . import schema as schema
from .connection import CacheError, connect, explain, write
from .query import DEFAULT_ORDER, ORDER_FIELDS, Query, QueryError, Stats, parse_order
from .schema import iso_utc

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = [
    "DEFAULT_ORDER",
    "ORDER_FIELDS",
    "Cache",
    "CacheError",
    "Query",
    "QueryError",
    "Stats",
    "parse_order",
    "utc_now_iso",
]


def utc_now_iso() -> str:
    """Now, in the cache's time format (use it for `Preview.fetched_at`)."""
    return iso_utc(datetime.now(UTC))


class Cache:
    """The SQLite cache. Use from one thread; close it (or use `with`).

    `read_only=True` opens an existing cache to read it only (`show`, `report`): it
    never writes to the file, works on a read-only file, directory or medium, and reads
    a cache of an older schema as it is (no migration); a write raises CacheError."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self._db = connect(self.path, read_only=read_only)
        self._conn = self._db.conn

    @property
    def db(self) -> Database:
        """The sqlite-utils Database the cache reads through, for ad-hoc queries too
        (`cache.db["previews"].count`)."""
        return self._db

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise CacheError(f"cache {self.path}: {explain(exc)}") from None

    # --- reads -------------------------------------------------------------------

    def lookup(
        self, url: str, *, max_age: timedelta, now: datetime | None = None
    ) -> Preview | None:
        """The processed row for `url` if fetched less than `max_age` ago, else None."""
        return self.lookup_many([url], max_age=max_age, now=now).get(url)

    def lookup_many(
        self, urls: Sequence[str], *, max_age: timedelta, now: datetime | None = None
    ) -> dict[str, Preview]:
        """`lookup` of many URLs at once: {url: its fresh processed row} for those that have
        one (a query per 500 URLs rather than one per URL). Fresh: fetched or revalidated
        (`checked_at`) less than `max_age` ago."""
        cutoff = iso_utc((now or datetime.now(UTC)) - max_age)
        with self._guard():
            return reads.fresh_processed(self._db, urls, cutoff)

    def stale_many(
        self, urls: Sequence[str], *, max_age: timedelta, now: datetime | None = None
    ) -> dict[str, Preview]:
        """{url: its processed row} for those of `urls` whose processed row is `max_age`
        old or older (last fetched or revalidated then): what `lookup_many` leaves out,
        with the page's `etag` / `last_modified` set for a conditional refetch."""
        cutoff = iso_utc((now or datetime.now(UTC)) - max_age)
        with self._guard():
            return reads.stale_processed(self._db, urls, cutoff)

    def get(self, url: str) -> Preview | None:
        """The stored row for `url`, whatever its status or age."""
        with self._guard():
            return reads.get(self._db, url)

    def query(self, q: Query | None = None, *, jsonld: bool = True) -> Iterator[Preview]:
        """Stream the rows matching `q` (without reading `jsonld` when `jsonld=False`)."""
        with self._guard():
            yield from reads.query(self._db, q or Query(), jsonld=jsonld)

    def count(self, q: Query | None = None) -> int:
        """How many rows `query(q)` yields."""
        with self._guard():
            return reads.count(self._db, q or Query())

    def stats(self, q: Query | None = None) -> Stats:
        """Counts by status (pending included) and by error kind, over rows matching `q`."""
        with self._guard():
            return reads.stats(self._db, q or Query())

    # --- writes ------------------------------------------------------------------

    def save(self, preview: Preview) -> Preview:
        return self.save_many([preview])[0]

    def save_many(self, previews: Sequence[Preview]) -> list[Preview]:
        """Write a batch in one transaction; return the record to report for each input.

        - processed: the row is replaced, `last_error` cleared; the record returned
          says whether it `changed` from the previous processed row (None: a first);
        - revalidated (a 304): the stored record stands, `checked_at` (and the
          validators sent) move on; the stored record is returned, `changed` false;
        - error, over a processed row: the good data stays, the failure goes to
          `last_error`/`last_attempt_at`, and the cached record is returned with it
          as `last_error`;
        - error otherwise: stored as an error row;
        - pending: inserted only where the URL has no row yet;
        - `from_cache` records are not written again.
        """
        now = utc_now_iso()
        with self._guard(), write(self._conn):
            return writes.save_many(self._conn, previews, now)

    def mark_pending(self, urls: Iterable[str]) -> int:
        """Record `urls` as `pending` where they have no row yet; return how many were new.

        Pending rows are never served by `lookup` and are hidden from `query`
        unless asked for; a result saved later replaces them.
        """
        now = utc_now_iso()
        with self._guard(), write(self._conn):
            return writes.mark_pending(self._conn, urls, now)
