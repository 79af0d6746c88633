"""An older cache file opens, migrates to the current schema and keeps its rows.

The fixture is schema version 1 written with plain SQL, frozen here on purpose:
the record columns only (no `host`, `last_error`, `last_attempt_at`, no host
index) and times written with `+00:00` offsets.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from og_preview.record import ErrorKind, Status
from og_preview.store.cache import Cache
from og_preview.store.schema import ALL_COLUMNS, SCHEMA_VERSION

V1_SCHEMA = """
CREATE TABLE previews (
   url TEXT PRIMARY KEY NOT NULL, final_url TEXT, status TEXT NOT NULL, http_status INTEGER,
   content_type TEXT, title TEXT, description TEXT, image TEXT, images TEXT, site_name TEXT,
   type TEXT, canonical_url TEXT, locale TEXT, lang TEXT, author TEXT, published TEXT,
   icon TEXT, og TEXT, twitter TEXT, jsonld TEXT, error TEXT, attempts INTEGER,
   fetched_at TEXT
);
CREATE INDEX idx_previews_status ON previews (status);
CREATE INDEX idx_previews_fetched_at ON previews (fetched_at);
"""
FETCHED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
DNS_ERROR = {"kind": "dns", "message": "no such host", "http_status": None}


def write_v1(path: Path, *, version: int = 1, schema: str = V1_SCHEMA) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute(
        "INSERT INTO previews (url, final_url, status, http_status, title, images, og,"
        " twitter, jsonld, error, attempts, fetched_at)"
        " VALUES (?, ?, 'processed', 200, ?, ?, ?, ?, ?, NULL, 1, ?)",
        (
            "https://Old.Example/page",
            "https://old.example/page",
            "Old but good",
            json.dumps([{"url": "https://old.example/i.png"}]),
            json.dumps({"og:title": "Old but good"}),
            json.dumps({}),
            json.dumps([{"@type": "WebPage"}]),
            FETCHED.isoformat(),
        ),
    )
    conn.execute(
        "INSERT INTO previews (url, status, images, og, twitter, jsonld, error, attempts,"
        " fetched_at) VALUES ('https://gone.example/', 'error', '[]', '{}', '{}', '[]', ?, 4, ?)",
        (json.dumps(DNS_ERROR), FETCHED.isoformat()),
    )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def column_names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(previews)")]
    finally:
        conn.close()


def scalar(path: Path, sql: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def old_cache(db_path: Path) -> Path:
    write_v1(db_path)
    return db_path


def test_fixture_really_is_the_old_schema(old_cache: Path) -> None:
    assert "host" not in column_names(old_cache)


def test_migration_adds_the_new_columns_in_order(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert column_names(old_cache) == list(ALL_COLUMNS)


def test_migration_sets_the_current_version(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert scalar(old_cache, "PRAGMA user_version") == SCHEMA_VERSION


def test_migration_keeps_every_row(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert scalar(old_cache, "SELECT count(*) FROM previews") == 2


def test_migration_fills_host(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert (
        scalar(old_cache, "SELECT host FROM previews WHERE title = 'Old but good'") == "old.example"
    )


def test_migration_indexes_host(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert (
        scalar(old_cache, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_previews_host'")
        == 1
    )


def test_migration_rewrites_times_in_the_stored_format(old_cache: Path) -> None:
    Cache(old_cache).close()
    assert scalar(old_cache, "SELECT min(fetched_at) FROM previews") == FETCHED.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_migration_copies_an_error_rows_error_to_last_error(old_cache: Path) -> None:
    Cache(old_cache).close()
    last = scalar(old_cache, "SELECT last_error FROM previews WHERE status = 'error'")
    assert isinstance(last, str) and json.loads(last) == DNS_ERROR


def test_migrated_good_row_is_served_by_lookup(old_cache: Path) -> None:
    with Cache(old_cache) as cache:
        hit = cache.lookup("https://Old.Example/page", max_age=timedelta(days=1))
    assert hit is not None and (hit.title, hit.og) == ("Old but good", {"og:title": "Old but good"})


def test_migrated_error_row_reads_back_as_an_error(old_cache: Path) -> None:
    with Cache(old_cache) as cache:
        row = cache.get("https://gone.example/")
    assert row is not None and row.status is Status.ERROR and row.error is not None
    assert row.error.kind is ErrorKind.DNS


def test_migrated_cache_can_be_queried_by_host(old_cache: Path) -> None:
    from og_preview.store.cache import Query

    with Cache(old_cache) as cache:
        assert [p.url for p in cache.query(Query(host="old.example"))] == [
            "https://Old.Example/page"
        ]


def test_unversioned_old_table_is_taken_as_version_1(db_path: Path) -> None:
    write_v1(db_path, version=0)
    Cache(db_path).close()
    assert column_names(db_path) == list(ALL_COLUMNS)


def test_migrating_twice_is_harmless(old_cache: Path) -> None:
    Cache(old_cache).close()
    Cache(old_cache).close()
    assert scalar(old_cache, "SELECT count(*) FROM previews") == 2


def schema_of(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, object]]]:
    """The table's columns (name, type, not null, default, primary key) and its indexes
    (name, column): what a cache's schema is, whatever SQL text made it."""
    conn = sqlite3.connect(path)
    try:
        columns: list[tuple[object, ...]] = [
            tuple(row[1:]) for row in conn.execute("PRAGMA table_info(previews)")
        ]
        indexes: list[tuple[object, object]] = [
            (name, conn.execute(f"PRAGMA index_info({name!r})").fetchone()[2])
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                " ORDER BY name"
            )
        ]
        return columns, indexes
    finally:
        conn.close()


def test_migrated_cache_has_the_schema_of_a_new_one(old_cache: Path, tmp_path: Path) -> None:
    Cache(old_cache).close()
    Cache(tmp_path / "new.db").close()
    assert schema_of(old_cache) == schema_of(tmp_path / "new.db")


def test_a_missing_record_column_is_added_in_its_place(db_path: Path, tmp_path: Path) -> None:
    """A table from before `icon` was a record key: the column goes where it belongs."""
    write_v1(db_path, schema=V1_SCHEMA.replace(" icon TEXT,", ""))
    assert "icon" not in column_names(db_path)
    Cache(db_path).close()
    Cache(tmp_path / "new.db").close()
    assert schema_of(db_path) == schema_of(tmp_path / "new.db")
    with Cache(db_path) as cache:
        row = cache.get("https://Old.Example/page")
        assert row is not None and (row.title, row.icon) == ("Old but good", None)
        cache.save(row.with_changes(icon="https://old.example/i.ico", from_cache=False))
        again = cache.get("https://Old.Example/page")
    assert again is not None and again.icon == "https://old.example/i.ico"
    assert scalar(db_path, "SELECT count(*) FROM previews") == 2


def test_a_column_of_the_users_own_is_kept(old_cache: Path) -> None:
    conn = sqlite3.connect(old_cache)
    conn.execute("ALTER TABLE previews ADD COLUMN my_note TEXT")
    conn.execute("UPDATE previews SET my_note = 'mine' WHERE status = 'processed'")
    conn.commit()
    conn.close()
    Cache(old_cache).close()
    assert column_names(old_cache) == [*ALL_COLUMNS, "my_note"]
    assert scalar(old_cache, "SELECT my_note FROM previews WHERE status = 'processed'") == "mine"
