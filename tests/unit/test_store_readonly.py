"""`Cache(read_only=True)`, as `show` and `report` open a cache: any cache a user has
(read-only, of an older schema, empty) is read and never written to; a file that is not
an og-preview cache is refused in one line that never suggests deleting it."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from og_preview.record import ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache, CacheError, Query
from og_preview.store.schema import SCHEMA_VERSION, iso_utc
from tests.unit.test_cache_migration import write_v1, write_v2

NOW = datetime.now(UTC).replace(microsecond=0)


def fill(path: Path) -> None:
    with Cache(path) as cache:
        cache.save_many(
            [
                Preview(
                    url=f"https://a.example/{i}",
                    status=Status.PROCESSED,
                    title=f"Page {i}",
                    fetched_at=iso_utc(NOW - timedelta(hours=i)),
                )
                for i in range(5)
            ]
            + [error_preview("https://b.example/", ErrorKind.DNS, "no such host")]
        )


def fingerprint(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file of `directory`: its digest and modification time, but for the empty
    `-wal` and `-shm` files SQLite makes to read a WAL file in place."""
    found = {}
    for path in sorted(directory.iterdir()):
        if path.name.endswith(("-wal", "-shm")):
            if path.name.endswith("-wal"):
                assert path.stat().st_size == 0, f"{path.name} holds writes"
            continue
        found[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return found


def read_all(cache: Cache) -> list[Preview]:
    return list(cache.query(Query(order="url")))


def test_reads_what_a_writable_open_reads(db_path: Path) -> None:
    fill(db_path)
    with Cache(db_path) as cache:
        expected = read_all(cache)
    with Cache(db_path, read_only=True) as cache:
        assert read_all(cache) == expected
        assert cache.stats().by_error_kind == {"dns": 1}
        assert cache.count(Query(error_kind="dns")) == 1


def test_never_writes_to_the_file(db_path: Path) -> None:
    fill(db_path)
    before = fingerprint(db_path.parent)
    with Cache(db_path, read_only=True) as cache:
        read_all(cache)
        cache.stats()
    assert fingerprint(db_path.parent) == before


def test_reads_a_read_only_file(db_path: Path) -> None:
    fill(db_path)
    db_path.chmod(0o444)
    with Cache(db_path, read_only=True) as cache:
        assert len(read_all(cache)) == 6


def test_a_write_through_a_read_only_cache_is_a_cache_error(db_path: Path) -> None:
    fill(db_path)
    with Cache(db_path, read_only=True) as cache, pytest.raises(CacheError, match="read-only"):
        cache.save(Preview(url="https://c.example/", status=Status.PROCESSED))


def test_reads_while_a_writer_holds_the_write_lock(db_path: Path) -> None:
    fill(db_path)
    writer = sqlite3.connect(db_path)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM previews")
    try:
        with Cache(db_path, read_only=True) as cache:
            assert len(read_all(cache)) == 6  # the last committed state
    finally:
        writer.rollback()
        writer.close()


def test_falls_back_to_immutable_when_the_shm_file_cannot_be_made(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only directory does to `mode=ro` on a WAL file, faked: the first
    way to open fails as SQLite fails there."""
    from og_preview.store import readonly

    fill(db_path)
    opened: list[str] = []
    real_connect = sqlite3.connect

    def connect(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(database.split("?", 1)[1])
        if database.endswith("?mode=ro"):  # what SQLite says without a -shm it can make
            raise sqlite3.OperationalError("unable to open database file")
        connection: sqlite3.Connection = real_connect(database, *args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", connect)
    with Cache(db_path, read_only=True) as cache:
        assert len(read_all(cache)) == 6
    assert opened == list(readonly.OPEN_MODES)


def test_a_missing_file_is_a_cache_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="no such file"):
        Cache(tmp_path / "nope.db", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_reads_as_an_empty_cache(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Cache(path, read_only=True) as cache:
        assert (read_all(cache), cache.stats().total) == ([], 0)
    assert path.read_bytes() == b""


# --- older schemas: read as they are ----------------------------------------------------------


@pytest.mark.parametrize("write_old", [write_v1, write_v2], ids=["v1", "v2"])
def test_an_old_cache_reads_as_its_migrated_copy_without_being_migrated(
    db_path: Path, tmp_path: Path, write_old: object
) -> None:
    write_old(db_path)  # type: ignore[operator]
    copy = tmp_path / "copy.db"
    shutil.copy(db_path, copy)
    with Cache(copy) as migrated:
        expected = read_all(migrated)
        expected_stats = migrated.stats()
        hosts = {p.url: p.url for p in migrated.query(Query(host="gone.example"))}
    before = fingerprint(db_path.parent)
    with Cache(db_path, read_only=True) as cache:
        assert read_all(cache) == expected
        assert cache.stats() == expected_stats
        assert {p.url: p.url for p in cache.query(Query(host="gone.example"))} == hosts
        assert cache.count(Query(error_kind="dns")) == 1
    assert fingerprint(db_path.parent) == before
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION
    finally:
        conn.close()


# --- files that are not an og-preview cache ---------------------------------------------------


def another_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bookmarks (url TEXT, added TEXT)")
    conn.execute("INSERT INTO bookmarks VALUES ('https://a.example/', '2026-01-01')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
@pytest.mark.parametrize(
    "content",
    [b"https://a.example/\nhttps://b.example/\n", b"any text at all\n", b"\x00\x01\x02binary"],
    ids=["url-list", "text", "binary"],
)
def test_a_file_that_is_not_sqlite_is_refused_untouched(
    tmp_path: Path, read_only: bool, content: bytes
) -> None:
    path = tmp_path / "urls.txt"
    path.write_bytes(content)
    before = fingerprint(tmp_path)
    with pytest.raises(CacheError) as info:
        Cache(path, read_only=read_only)
    message = str(info.value)
    assert "not an og-preview cache" in message and "\n" not in message
    assert "delete" not in message.lower()
    assert fingerprint(tmp_path) == before


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
def test_another_sqlite_database_is_refused_untouched(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "bookmarks.db"
    another_database(path)
    before = fingerprint(tmp_path)
    with pytest.raises(CacheError) as info:
        Cache(path, read_only=read_only)
    message = str(info.value)
    assert "not an og-preview cache" in message and "\n" not in message
    assert "delete" not in message.lower()
    assert fingerprint(tmp_path) == before
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not made WAL
    finally:
        conn.close()


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
def test_a_corrupt_file_never_suggests_deleting_it(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "corrupt.db"
    fill(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * 3996
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError) as info:
        Cache(path, read_only=read_only)
    assert "corrupt" in str(info.value) and "delete" not in str(info.value).lower()


def test_a_newer_cache_is_refused_read_only_too(db_path: Path) -> None:
    fill(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CacheError, match="newer og-preview"):
        Cache(db_path, read_only=True)


def test_an_empty_sqlite_database_becomes_a_cache(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    sqlite3.connect(path).close()
    with Cache(path) as cache:
        cache.save(Preview(url="https://a.example/", status=Status.PROCESSED))
        assert cache.get("https://a.example/") is not None
