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


# --- version 2 → 3 ------------------------------------------------------------------------
#
# Schema 2 as og-preview wrote it (sqlite-utils' SQL, frozen here on purpose): the record
# columns, then host, last_error and last_attempt_at; no flat errors, validators,
# image_check, changed or checked_at.

V2_SCHEMA = """
CREATE TABLE "previews" (
   "url" TEXT PRIMARY KEY NOT NULL, "final_url" TEXT, "status" TEXT NOT NULL,
   "http_status" INTEGER, "content_type" TEXT, "title" TEXT, "description" TEXT,
   "image" TEXT, "images" TEXT, "site_name" TEXT, "type" TEXT, "canonical_url" TEXT,
   "locale" TEXT, "lang" TEXT, "author" TEXT, "published" TEXT, "icon" TEXT, "og" TEXT,
   "twitter" TEXT, "jsonld" TEXT, "error" TEXT, "attempts" INTEGER, "fetched_at" TEXT,
   "host" TEXT, "last_error" TEXT, "last_attempt_at" TEXT
);
CREATE INDEX "idx_previews_status" ON "previews" ("status");
CREATE INDEX "idx_previews_fetched_at" ON "previews" ("fetched_at");
CREATE INDEX "idx_previews_host" ON "previews" ("host");
"""
V2_FETCHED = FETCHED.strftime("%Y-%m-%dT%H:%M:%SZ")
V2_ATTEMPT = (FETCHED + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
TIMEOUT_ERROR = {"kind": "timeout", "message": "timed out after 10s", "http_status": None}


def write_v2(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V2_SCHEMA)
    conn.execute("PRAGMA journal_mode = wal")
    rows = [
        # a good row whose latest refetch failed: the failure beside the data
        ("https://good.example/", "processed", "Still good", None, json.dumps(TIMEOUT_ERROR)),
        ("https://gone.example/", "error", None, json.dumps(DNS_ERROR), json.dumps(DNS_ERROR)),
        ("https://odd.example/", "error", None, "not json at all", "not json at all"),
    ]
    for url, status, title, error, last_error in rows:
        conn.execute(
            "INSERT INTO previews (url, final_url, status, http_status, title, images, og,"
            " twitter, jsonld, error, attempts, fetched_at, host, last_error, last_attempt_at)"
            " VALUES (?, ?, ?, 200, ?, '[]', '{}', '{}', '[]', ?, 1, ?, ?, ?, ?)",
            (url, url, status, title, error, V2_FETCHED, url[8:-1], last_error, V2_ATTEMPT),
        )
    conn.execute(
        "INSERT INTO previews (url, status, host)"
        " VALUES ('https://p.example/', 'pending', 'p.example')"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


@pytest.fixture
def v2_cache(db_path: Path) -> Path:
    write_v2(db_path)
    return db_path


def table_rootpage(path: Path) -> object:
    return scalar(path, "SELECT rootpage FROM sqlite_master WHERE name = 'previews'")


def test_v2_fixture_really_is_schema_2(v2_cache: Path) -> None:
    assert column_names(v2_cache)[-3:] == ["host", "last_error", "last_attempt_at"]
    assert scalar(v2_cache, "PRAGMA user_version") == 2


def test_v2_migration_adds_the_new_columns_in_order(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    assert column_names(v2_cache) == list(ALL_COLUMNS)
    assert scalar(v2_cache, "PRAGMA user_version") == SCHEMA_VERSION == 3


def test_v2_migration_adds_columns_in_place_without_copying_the_table(v2_cache: Path) -> None:
    before = table_rootpage(v2_cache)
    Cache(v2_cache).close()
    assert table_rootpage(v2_cache) == before


def test_v2_migrated_cache_has_the_schema_of_a_new_one(v2_cache: Path, tmp_path: Path) -> None:
    Cache(v2_cache).close()
    Cache(tmp_path / "new.db").close()
    assert schema_of(v2_cache) == schema_of(tmp_path / "new.db")


def test_v2_migration_fills_the_flat_error_columns(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    conn = sqlite3.connect(v2_cache)
    try:
        rows = conn.execute("SELECT url, error_kind, error_message FROM previews ORDER BY url")
        flat = {url: (kind, message) for url, kind, message in rows}
    finally:
        conn.close()
    assert flat == {
        "https://gone.example/": ("dns", "no such host"),
        "https://good.example/": (None, None),
        "https://odd.example/": (None, None),  # an error that does not parse: no kind
        "https://p.example/": (None, None),
    }


def test_v2_migration_indexes_error_kind(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    assert (
        scalar(
            v2_cache, "SELECT count(*) FROM sqlite_master WHERE name = 'idx_previews_error_kind'"
        )
        == 1
    )


def test_v2_migration_takes_checked_at_from_fetched_at(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    assert (
        scalar(v2_cache, "SELECT checked_at FROM previews WHERE url = 'https://good.example/'")
        == V2_FETCHED
    )
    assert scalar(v2_cache, "SELECT checked_at FROM previews WHERE status = 'pending'") is None


def test_v2_migration_keeps_last_error_and_the_rows(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    assert scalar(v2_cache, "SELECT count(*) FROM previews") == 4
    last = scalar(v2_cache, "SELECT last_error FROM previews WHERE url = 'https://good.example/'")
    assert isinstance(last, str) and json.loads(last) == TIMEOUT_ERROR


def test_v2_migrated_good_row_reads_with_its_last_error(v2_cache: Path) -> None:
    with Cache(v2_cache) as cache:
        hit = cache.lookup("https://good.example/", max_age=timedelta(days=1))
    assert hit is not None and hit.title == "Still good"
    assert hit.last_error == {"kind": "timeout", "message": "timed out after 10s", "at": V2_ATTEMPT}
    assert (hit.changed, hit.image_check, hit.etag) == (None, None, None)


def test_v2_migrated_cache_is_queried_by_error_kind(v2_cache: Path) -> None:
    from og_preview.store.cache import Query

    with Cache(v2_cache) as cache:
        assert [p.url for p in cache.query(Query(error_kind="dns"))] == ["https://gone.example/"]
        assert cache.stats().by_error_kind == {"dns": 1, "unknown": 1}


def test_v2_migrated_rows_equal_the_same_rows_saved_to_a_new_cache(
    v2_cache: Path, tmp_path: Path
) -> None:
    with Cache(v2_cache) as old:
        migrated = [old.get(url) for url in ("https://good.example/", "https://gone.example/")]
    with Cache(tmp_path / "new.db") as new:
        for record in migrated:
            assert record is not None
            new.save(record.with_changes(from_cache=False, last_error=None))
        for record in migrated:
            assert record is not None
            again = new.get(record.url)
            assert again == record.with_changes(last_error=None)


def test_v2_migration_twice_is_harmless(v2_cache: Path) -> None:
    Cache(v2_cache).close()
    Cache(v2_cache).close()
    assert scalar(v2_cache, "SELECT count(*) FROM previews") == 4
