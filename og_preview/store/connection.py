"""The cache file's connection: checks before opening, WAL, locking, errors.

- `connect` refuses anything that is not ours to write (a directory, a FIFO, a file
  that is not SQLite) before SQLite touches it, and a SQLite database that is not an
  og-preview cache before anything is written to it (`schema.check`); then opens it as
  a sqlite-utils `Database` with WAL, `synchronous=NORMAL` and a 30 s busy timeout, and
  creates or migrates the schema (`schema.setup`).
- `connect(read_only=True)` opens an existing cache without ever writing to it
  (`readonly`: `mode=ro`, else `immutable=1`; an old schema seen through a view).
- `write` is one short IMMEDIATE transaction: the write lock is taken up front, so
  two processes never deadlock upgrading a read lock.
- A write that still finds the file locked after the busy wait is retried.
- Every `sqlite3.Error` becomes a one-line `CacheError` saying what to do.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from . import readonly, schema

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_S = 30.0
LOCK_RETRIES = 5
SQLITE_MAGIC = b"SQLite format 3\x00"

T = TypeVar("T")


class CacheError(Exception):
    """The cache file cannot be used; the message is one line saying what to do."""


def explain(exc: sqlite3.Error) -> str:
    """A sqlite3 error as a reason and what to do about it."""
    text = str(exc)
    if "not a database" in text:
        return "not a SQLite database, so not an og-preview cache (choose another --db)"
    if "malformed" in text or "corrupt" in text:
        return (
            "the file is corrupt or not an og-preview cache (choose another --db; to start "
            "a new cache there, move the file aside first)"
        )
    if "readonly" in text or "read-only" in text:
        return "the file is read-only (fix its permissions or choose another --db)"
    if "unable to open" in text:
        return "cannot create or open the file (check that its directory is writable)"
    if "locked" in text or "busy" in text:
        return "it is locked by another process for too long (try again)"
    if "disk" in text and "full" in text:
        return "the disk is full (free some space or choose another --db)"
    if "I/O error" in text:
        return "the disk failed to read or write it (check the disk, or choose another --db)"
    return f"{text} (choose another --db)"


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def retry_locked(action: Callable[[], T]) -> T:
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
def write(conn: sqlite3.Connection) -> Iterator[None]:
    """One short write transaction, taking the write lock up front (no upgrade deadlocks).

    Not sqlite-utils' `Database.atomic()`: that begins a deferred transaction, whose
    lock upgrade fails at once (no busy wait) when another process writes."""
    retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    try:
        retry_locked(conn.commit)
    except BaseException:
        conn.rollback()
        raise


def _check_path(path: Path, *, read_only: bool) -> None:
    """Refuse before SQLite touches anything that is not ours to write (or to read)."""
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
                f"{where}: not a SQLite database, so not an og-preview cache (choose another --db)"
            )
        return
    if read_only:
        raise CacheError(f"{where}: there is no such file (choose another --db)")
    parent = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CacheError(f"{where}: {parent} is not a directory (choose another --db)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"{where}: cannot create {path.parent}: {exc.strerror} (choose another --db)"
        ) from None


def connect(path: Path, *, read_only: bool = False) -> Database:
    """The cache at `path`, opened, its schema current (`read_only`: as it is, never
    written to; the file must exist).

    sqlite-utils is imported here, not with the package (40-70 ms of a process's
    start): commands that never open a cache (`parse`, `--help`) do without it."""
    from sqlite_utils import Database

    _check_path(path, read_only=read_only)
    conn: sqlite3.Connection | None = None
    try:
        if read_only:
            conn = readonly.open_read_only(path, BUSY_TIMEOUT_S)
        else:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
        db = Database(conn, execute_plugins=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        schema.check(db)  # reads only: a file that is not ours is refused untouched
        if read_only:
            readonly.shadow_old_schema(db)
            return db
        retry_locked(db.enable_wal)
        conn.execute("PRAGMA synchronous = NORMAL")
        if schema.needs_setup(db):
            with write(conn):
                schema.setup(db)
        return db
    except schema.SchemaError as exc:
        if conn is not None:
            conn.close()
        raise CacheError(f"cannot use cache {path}: {exc}") from None
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise CacheError(f"cannot open cache {path}: {explain(exc)}") from None
