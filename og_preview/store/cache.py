"""The cache: one SQLite file, one row per URL, the only module that writes SQLite.

Rules (SPEC "Cache"):

- `lookup` serves a `processed` row younger than `max_age`; error and pending
  rows are never served, so a failed URL is always tried again.
- `save_many` writes a batch in one short IMMEDIATE transaction. A failed
  refetch never overwrites a processed row: the good data stays, the failure
  goes to `last_error` / `last_attempt_at`, and the good record is returned.
- WAL, `synchronous=NORMAL` and a 30 s busy timeout, so several processes can
  share one file; a write that still finds the file locked is retried.

Every stored time has one shape (`cache_schema.iso_utc`), so a record's
`fetched_at` comes back from the cache in that shape even if it was saved as
`+02:00` or with microseconds; `save_many` returns records as stored.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .. import jsontext
from ..record import ErrorKind, Preview, Status
from . import schema as schema
from .query import DEFAULT_ORDER, ORDER_FIELDS, Query, QueryError, Stats, parse_order
from .schema import JSON_COLUMNS, RECORD_COLUMNS, TABLE, iso_utc, normalise_time

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

BUSY_TIMEOUT_S = 30.0
LOCK_RETRIES = 5
SQLITE_MAGIC = b"SQLite format 3\x00"

T = TypeVar("T")


class CacheError(Exception):
    """The cache file cannot be used; the message is one line saying what to do."""


def utc_now_iso() -> str:
    """Now, in the cache's time format (use it for `Preview.fetched_at`)."""
    return iso_utc(datetime.now(UTC))


_COLS = ", ".join(RECORD_COLUMNS)
_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(schema.ALL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in schema.ALL_COLUMNS)}) ON CONFLICT(url) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in schema.ALL_COLUMNS if c != "url")
)
_INSERT_PENDING = (
    f"INSERT INTO {TABLE} (url, status, host, last_attempt_at) VALUES (?, 'pending', ?, ?) "
    "ON CONFLICT(url) DO NOTHING"
)
_KINDS = frozenset(k.value for k in ErrorKind)
_SELECT_PROCESSED = f"SELECT {_COLS} FROM {TABLE} WHERE url = ? AND status = 'processed'"


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return jsontext.loads(text)
    except ValueError:
        return None


def _from_row(row: Sequence[Any]) -> Preview:
    data = dict(zip(RECORD_COLUMNS, row, strict=True))
    for column in JSON_COLUMNS:
        data[column] = _loads(data[column])
    if not isinstance(data["error"], dict) or data["error"].get("kind") not in _KINDS:
        data["error"] = None
    data["from_cache"] = True
    return Preview.from_dict(data)


_PLAIN = frozenset(RECORD_COLUMNS) - {"status", "error", *JSON_COLUMNS}


def _to_row(preview: Preview, now: str) -> tuple[Any, ...]:
    """The row for ALL_COLUMNS. Reads attributes directly: `to_dict()` deep-copies
    every nested value, which took two thirds of the time of a save."""
    error = schema.dumps(preview.error.to_dict()) if preview.error is not None else None
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


def _explain(exc: sqlite3.Error) -> str:
    """A sqlite3 error as a reason and what to do about it."""
    text = str(exc)
    if "not a database" in text:
        return "not a SQLite database (choose another --db or delete the file)"
    if "malformed" in text or "corrupt" in text:
        return "the file is corrupt (delete it to start a new cache, or choose another --db)"
    if "readonly" in text or "read-only" in text:
        return "the file is read-only (fix its permissions or choose another --db)"
    if "unable to open" in text:
        return "cannot create or open the file (check that its directory is writable)"
    if "locked" in text or "busy" in text:
        return "it is locked by another process for too long (try again)"
    if "disk" in text and "full" in text:
        return "the disk is full (free some space or choose another --db)"
    return f"{text} (choose another --db)"


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _retry_locked(action: Callable[[], T]) -> T:
    """Run `action`, retrying a few times if SQLite still says locked after the busy wait."""
    for attempt in range(LOCK_RETRIES):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """One short write transaction, taking the write lock up front (no upgrade deadlocks)."""
    _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    try:
        _retry_locked(conn.commit)
    except BaseException:
        conn.rollback()
        raise


def _check_path(path: Path) -> None:
    """Refuse before SQLite touches anything that is not ours to write."""
    where = f"cannot open cache {path}"
    if path.is_dir():
        raise CacheError(f"{where}: it is a directory (give a file path to --db)")
    if path.exists():
        if not path.is_file():  # a FIFO, a device (/dev/null), a socket: never ours
            raise CacheError(f"{where}: not a regular file (give a file path to --db)")
        try:
            with path.open("rb") as handle:
                head = handle.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise CacheError(
                f"{where}: {exc.strerror} (fix its permissions or choose another --db)"
            ) from None
        if head and head != SQLITE_MAGIC:
            raise CacheError(
                f"{where}: not a SQLite database (choose another --db or delete the file)"
            )
        return
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CacheError(f"{where}: {parent} is not a directory (choose another --db)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"{where}: cannot create {path.parent}: {exc.strerror} (choose another --db)"
        ) from None


def _connect(path: Path) -> sqlite3.Connection:
    _check_path(path)
    conn: sqlite3.Connection | None = None
    try:
        conn = opened = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        _retry_locked(lambda: _enable_wal(opened))
        conn.execute("PRAGMA synchronous = NORMAL")
        if schema.needs_setup(conn):
            with _write(conn):
                schema.setup(conn)
        return conn
    except schema.SchemaError as exc:
        if conn is not None:
            conn.close()
        raise CacheError(f"cannot use cache {path}: {exc}") from None
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise CacheError(f"cannot open cache {path}: {_explain(exc)}") from None


def _enable_wal(conn: sqlite3.Connection) -> None:
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        with conn:
            conn.execute("PRAGMA journal_mode = wal")


class Cache:
    """The SQLite cache. Use from one thread; close it (or use `with`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._conn = _connect(self.path)
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        """The sqlite-utils Database, for ad-hoc queries (`cache.db["previews"].count`)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self._conn, execute_plugins=False)
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
            raise CacheError(f"cache {self.path}: {_explain(exc)}") from None

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
        one (a query per 500 URLs rather than one per URL)."""
        cutoff = iso_utc((now or datetime.now(UTC)) - max_age)
        found: dict[str, Preview] = {}
        with self._guard():
            for start in range(0, len(urls), 500):
                part = urls[start : start + 500]
                marks = ", ".join("?" * len(part))
                sql = (
                    f"SELECT {_COLS} FROM {TABLE} WHERE url IN ({marks})"
                    " AND status = 'processed' AND fetched_at > ?"
                )
                for row in self._conn.execute(sql, (*part, cutoff)):
                    found[row[0]] = _from_row(row)
        return found

    def get(self, url: str) -> Preview | None:
        """The stored row for `url`, whatever its status or age."""
        with self._guard():
            found = self._conn.execute(
                f"SELECT {_COLS} FROM {TABLE} WHERE url = ?", (url,)
            ).fetchone()
        return _from_row(found) if found is not None else None

    def query(self, q: Query | None = None, *, jsonld: bool = True) -> Iterator[Preview]:
        """Stream the rows matching `q` (without reading `jsonld` when `jsonld=False`)."""
        q = q or Query()
        where, params = q.where()
        columns = _COLS if jsonld else _COLS.replace("jsonld", "NULL")
        sql = f"SELECT {columns} FROM {TABLE}{where}{q.order_by()}"
        if q.limit is not None:
            sql += f" LIMIT {int(q.limit)}"
        with self._guard():
            for row in self._conn.execute(sql, params):
                yield _from_row(row)

    def count(self, q: Query | None = None) -> int:
        """How many rows `query(q)` yields."""
        q = q or Query()
        where, params = q.where()
        with self._guard():
            total = int(
                self._conn.execute(f"SELECT count(*) FROM {TABLE}{where}", params).fetchone()[0]
            )
        return total if q.limit is None else min(total, q.limit)

    def stats(self, q: Query | None = None) -> Stats:
        """Counts by status (pending included) and by error kind, over rows matching `q`."""
        q = q or Query()
        where, params = q.where(hide_pending=False)
        also = " AND " if where else " WHERE "
        with self._guard():
            by_status = {s.value: 0 for s in (Status.PROCESSED, Status.ERROR, Status.PENDING)}
            for status, n in self._conn.execute(
                f"SELECT status, count(*) FROM {TABLE}{where} GROUP BY status", params
            ):
                by_status[str(status)] = int(n)
            kinds = self._conn.execute(
                f"SELECT coalesce(json_extract(error, '$.kind'), 'unknown') AS kind, count(*) AS n"
                f" FROM {TABLE}{where}{also}status = 'error' GROUP BY kind ORDER BY n DESC, kind",
                params,
            ).fetchall()
            oldest, newest = self._conn.execute(
                f"SELECT (SELECT min(fetched_at) FROM {TABLE}{where}),"
                f" (SELECT max(fetched_at) FROM {TABLE}{where})",
                params + params,
            ).fetchone()
        return Stats(
            total=sum(by_status.values()),
            by_status=by_status,
            by_error_kind={str(k): int(n) for k, n in kinds},
            oldest_fetched_at=oldest,
            newest_fetched_at=newest,
        )

    # --- writes ------------------------------------------------------------------

    def save(self, preview: Preview) -> Preview:
        return self.save_many([preview])[0]

    def save_many(self, previews: Sequence[Preview]) -> list[Preview]:
        """Write a batch in one transaction; return the record to report for each input.

        - processed: the row is replaced, `last_error` cleared;
        - error, over a processed row: the good data stays, the failure goes to
          `last_error`/`last_attempt_at`, and the cached record is returned;
        - error otherwise: stored as an error row;
        - pending: inserted only where the URL has no row yet;
        - `from_cache` records are not written again.
        """
        now = utc_now_iso()
        report: list[Preview] = []
        with self._guard(), _write(self._conn):
            for preview in previews:
                report.append(self._save_one(preview, now))
        return report

    def _save_one(self, preview: Preview, now: str) -> Preview:
        conn = self._conn
        if preview.from_cache:
            return preview
        if preview.status is Status.PENDING:
            conn.execute(_INSERT_PENDING, (preview.url, schema.host_of(preview.url), now))
            return preview
        fetched_at = normalise_time(preview.fetched_at) or now
        if fetched_at != preview.fetched_at:
            preview = preview.with_changes(fetched_at=fetched_at)
        if preview.status is Status.ERROR:
            good = conn.execute(_SELECT_PROCESSED, (preview.url,)).fetchone()
            if good is not None:
                error = schema.dumps(preview.error.to_dict()) if preview.error else None
                conn.execute(
                    f"UPDATE {TABLE} SET last_error = ?, last_attempt_at = ? WHERE url = ?",
                    (error, now, preview.url),
                )
                return _from_row(good)
        conn.execute(_UPSERT, _to_row(preview, now))
        return preview

    def mark_pending(self, urls: Iterable[str]) -> int:
        """Record `urls` as `pending` where they have no row yet; return how many were new.

        Pending rows are never served by `lookup` and are hidden from `query`
        unless asked for; a result saved later replaces them.
        """
        now = utc_now_iso()
        with self._guard(), _write(self._conn):
            cursor = self._conn.executemany(
                _INSERT_PENDING, ((url, schema.host_of(url), now) for url in urls)
            )
            return max(cursor.rowcount, 0)
