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


def write_v1(path: Path, *, version: int = 1) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
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
