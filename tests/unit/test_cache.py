"""The cache on real temporary SQLite files: freshness, save rules, queries, errors."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from og_preview.record import RECORD_KEYS, ErrorInfo, ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache, CacheError, Query, QueryError, parse_order, utc_now_iso
from og_preview.store.schema import (
    ALL_COLUMNS,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    TABLE,
    host_of,
    iso_utc,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def good(
    url: str = "https://a.example/", *, title: str = "A", age: timedelta = timedelta(0)
) -> Preview:
    return Preview(
        url=url,
        final_url=url,
        status=Status.PROCESSED,
        http_status=200,
        content_type="text/html",
        title=title,
        images=[{"url": url + "i.png", "width": 10, "alt": "é"}],
        og={"og:title": title, "og:image": [url + "i.png"]},
        twitter={"twitter:card": "summary"},
        jsonld=[{"@type": "Article", "headline": title}],
        attempts=1,
        fetched_at=iso_utc(NOW - age),
    )


def bad(url: str = "https://a.example/", kind: ErrorKind = ErrorKind.TIMEOUT) -> Preview:
    return error_preview(url, kind, f"{kind.value} happened", attempts=4, fetched_at=iso_utc(NOW))


@pytest.fixture
def cache(db_path: Path) -> Iterator[Cache]:
    with Cache(db_path) as opened:
        yield opened


def raw(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --- opening -----------------------------------------------------------------------


def test_open_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "cache.db"
    Cache(path).close()
    assert path.is_file()


def test_open_sets_wal_mode(cache: Cache, db_path: Path) -> None:
    assert raw(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_open_sets_schema_version(cache: Cache, db_path: Path) -> None:
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_columns_are_integer_for_counts_and_text_otherwise(cache: Cache, db_path: Path) -> None:
    types = {row[1]: row[2] for row in raw(db_path, "PRAGMA table_info(previews)")}
    counts = ("http_status", "attempts", "changed")
    assert types == {c: "INTEGER" if c in counts else "TEXT" for c in types}


def test_url_and_status_are_not_null(cache: Cache, db_path: Path) -> None:
    not_null = {row[1] for row in raw(db_path, "PRAGMA table_info(previews)") if row[3]}
    assert not_null == {"url", "status"}


def test_db_is_a_sqlite_utils_database_on_the_cache(cache: Cache) -> None:
    cache.save_many([good("https://a.example/"), bad("https://b.example/")])
    table = cache.db.table(TABLE)
    assert (table.count, table.pks) == (2, ["url"])
    assert table.count_where("status = ?", ["error"]) == 1


def test_table_has_record_columns_in_order_then_bookkeeping(cache: Cache, db_path: Path) -> None:
    columns = [row[1] for row in raw(db_path, "PRAGMA table_info(previews)")]
    assert columns == [
        *RECORD_KEYS[: RECORD_KEYS.index("fetched_at") + 1],
        "host",
        "last_error",
        "last_attempt_at",
        "changed",
        "image_check",
        "error_kind",
        "error_message",
        "etag",
        "last_modified",
        "checked_at",
    ]


def test_every_record_key_but_from_cache_has_a_column(cache: Cache, db_path: Path) -> None:
    columns = {row[1] for row in raw(db_path, "PRAGMA table_info(previews)")}
    assert set(RECORD_KEYS) - columns == {"from_cache"}


def test_url_is_the_primary_key(cache: Cache, db_path: Path) -> None:
    pk = [row[1] for row in raw(db_path, "PRAGMA table_info(previews)") if row[5]]
    assert pk == ["url"]


def test_indexes_on_status_fetched_at_host_and_error_kind(cache: Cache, db_path: Path) -> None:
    indexed = {
        raw(db_path, f"PRAGMA index_info({name!r})")[0][2]
        for (name,) in raw(
            db_path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    assert indexed == {"status", "fetched_at", "host", "error_kind"}


def test_reopening_keeps_rows(db_path: Path) -> None:
    with Cache(db_path) as first:
        first.save(good())
    with Cache(db_path) as second:
        assert second.get("https://a.example/") is not None


def test_not_sqlite_file_is_a_cache_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my precious notes\n")
    with pytest.raises(CacheError, match="not a SQLite database"):
        Cache(path)


def test_not_sqlite_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "random.db"
    content = os.urandom(4096)
    path.write_bytes(content)
    with pytest.raises(CacheError):
        Cache(path)
    assert path.read_bytes() == content and not Path(f"{path}-wal").exists()


def test_corrupt_sqlite_file_is_a_cache_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    with pytest.raises(CacheError, match=r"cannot open cache .*corrupt\.db"):
        Cache(path)


def test_damaged_cache_is_a_cache_error_saying_corrupt(db_path: Path) -> None:
    with Cache(db_path) as cache:
        cache.save_many([good(f"https://a.example/{i}") for i in range(200)])
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xa5" * 3996  # the first page's b-tree, after the file header
    db_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="corrupt"):
        Cache(db_path)


def test_parent_that_is_a_file_is_a_cache_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match="is not a directory"):
        Cache(tmp_path / "file" / "sub" / "cache.db")


def test_directory_is_a_cache_error(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="is a directory"):
        Cache(tmp_path)


def test_unwritable_location_is_a_cache_error() -> None:
    with pytest.raises(CacheError, match=r"cannot open cache /proc/og-preview-test\.db"):
        Cache("/proc/og-preview-test.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_a_cache_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(CacheError):
            Cache(locked / "cache.db")
    finally:
        locked.chmod(0o700)


def test_cache_error_message_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_text("hello")
    with pytest.raises(CacheError) as info:
        Cache(path)
    assert "\n" not in str(info.value)


def test_newer_schema_is_refused(db_path: Path) -> None:
    Cache(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CacheError, match="newer og-preview"):
        Cache(db_path)


def test_foreign_previews_table_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE previews (id INTEGER PRIMARY KEY, body TEXT)")
    conn.close()
    with pytest.raises(CacheError, match="not an og-preview cache"):
        Cache(db_path)


# --- lookup: freshness ---------------------------------------------------------------


def test_lookup_serves_a_fresh_processed_row(cache: Cache) -> None:
    cache.save(good(age=timedelta(hours=1)))
    assert cache.lookup("https://a.example/", max_age=timedelta(days=1), now=NOW) is not None


def test_lookup_marks_the_answer_from_cache(cache: Cache) -> None:
    cache.save(good())
    hit = cache.lookup("https://a.example/", max_age=timedelta(days=1), now=NOW)
    assert hit is not None and hit.from_cache


def test_lookup_skips_a_row_older_than_max_age(cache: Cache) -> None:
    cache.save(good(age=timedelta(days=8)))
    assert cache.lookup("https://a.example/", max_age=timedelta(days=7), now=NOW) is None


def test_lookup_with_zero_max_age_serves_nothing(cache: Cache) -> None:
    cache.save(good())
    assert cache.lookup("https://a.example/", max_age=timedelta(0), now=NOW) is None


def test_lookup_never_serves_an_error_row(cache: Cache) -> None:
    cache.save(bad())
    assert cache.lookup("https://a.example/", max_age=timedelta(days=365), now=NOW) is None


def test_lookup_never_serves_a_pending_row(cache: Cache) -> None:
    cache.mark_pending(["https://a.example/"])
    assert cache.lookup("https://a.example/", max_age=timedelta(days=365)) is None


def test_lookup_of_unknown_url_is_none(cache: Cache) -> None:
    assert cache.lookup("https://nowhere.example/", max_age=timedelta(days=1)) is None


def test_lookup_many_answers_as_lookup_does(cache: Cache) -> None:
    urls = [f"https://h{i}.example/" for i in range(1200)]  # more than one query's worth
    cache.save_many([good(u, title=u, age=timedelta(hours=1)) for u in urls[::3]])
    cache.save_many([good(u, age=timedelta(days=30)) for u in urls[1::3]])  # stale
    cache.save_many([bad(u) for u in urls[2::30]])
    cache.mark_pending(["https://pending.example/"])
    asked = [*urls, "https://pending.example/", "https://unknown.example/"]
    found = cache.lookup_many(asked, max_age=timedelta(days=1), now=NOW)
    assert sorted(found) == sorted(urls[::3])
    assert all(hit.from_cache and hit.title == url for url, hit in found.items())
    for url in asked[:60]:
        one = cache.lookup(url, max_age=timedelta(days=1), now=NOW)
        assert one == found.get(url)
    assert cache.lookup_many([], max_age=timedelta(days=1)) == {}


def test_get_returns_a_row_regardless_of_age(cache: Cache) -> None:
    cache.save(good(age=timedelta(days=400)))
    assert cache.get("https://a.example/") is not None


# --- round trip ----------------------------------------------------------------------


def test_processed_record_round_trips(cache: Cache) -> None:
    original = good()
    cache.save(original)
    assert cache.get(original.url) == original.with_changes(from_cache=True)


def test_error_record_round_trips(cache: Cache) -> None:
    original = error_preview(
        "https://b.example/",
        ErrorKind.HTTP,
        "404 Not Found",
        http_status=404,
        fetched_at=iso_utc(NOW),
    )
    cache.save(original)
    assert cache.get(original.url) == original.with_changes(from_cache=True)


def test_json_columns_hold_json_text(cache: Cache, db_path: Path) -> None:
    cache.save(bad("https://b.example/", ErrorKind.DNS))
    (error,) = raw(db_path, "SELECT json_extract(error, '$.kind') FROM previews")[0]
    assert error == "dns"


def test_processed_row_stores_null_error(cache: Cache, db_path: Path) -> None:
    cache.save(good())
    assert raw(db_path, "SELECT error FROM previews") == [(None,)]


def test_host_column_is_the_lower_cased_host(cache: Cache, db_path: Path) -> None:
    cache.save(good("https://WWW.Example.COM:8443/x"))
    assert raw(db_path, "SELECT host FROM previews") == [("www.example.com",)]


def test_fetched_at_is_stored_in_one_utc_format(cache: Cache) -> None:
    saved = cache.save(good().with_changes(fetched_at="2026-03-01T14:00:00.123456+02:00"))
    assert saved.fetched_at == "2026-03-01T12:00:00Z"


def test_error_without_fetched_at_gets_the_attempt_time(cache: Cache) -> None:
    saved = cache.save(error_preview("garbage", ErrorKind.INVALID_URL, "not a URL"))
    assert saved.fetched_at is not None and saved.fetched_at <= utc_now_iso()


# --- save rules ----------------------------------------------------------------------


def test_save_many_returns_one_record_per_input_in_order(cache: Cache) -> None:
    batch = [good("https://c.example/"), bad("https://a.example/"), good("https://b.example/")]
    assert [p.url for p in cache.save_many(batch)] == [p.url for p in batch]


def test_save_many_of_nothing_is_nothing(cache: Cache) -> None:
    assert cache.save_many([]) == []


def test_processed_replaces_an_older_processed_row(cache: Cache) -> None:
    cache.save(good(title="old"))
    cache.save(good(title="new"))
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.title == "new"


def test_processed_replaces_an_error_row(cache: Cache) -> None:
    cache.save(bad())
    cache.save(good())
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.status is Status.PROCESSED


def test_failed_refetch_keeps_the_good_data(cache: Cache) -> None:
    cache.save(good(title="keep me"))
    cache.save(bad())
    stored = cache.get("https://a.example/")
    assert stored is not None and (stored.status, stored.title) == (Status.PROCESSED, "keep me")


def test_failed_refetch_reports_the_good_record_from_cache(cache: Cache) -> None:
    cache.save(good(title="keep me"))
    reported = cache.save(bad())
    assert (reported.status, reported.title, reported.from_cache) == (
        Status.PROCESSED,
        "keep me",
        True,
    )


def test_failed_refetch_records_last_error_and_time(cache: Cache, db_path: Path) -> None:
    cache.save(good())
    before = utc_now_iso()
    cache.save(bad(kind=ErrorKind.CONNECT))
    kind, attempt = raw(
        db_path, "SELECT json_extract(last_error, '$.kind'), last_attempt_at FROM previews"
    )[0]
    assert kind == "connect" and isinstance(attempt, str) and attempt >= before


def test_successful_refetch_clears_last_error(cache: Cache, db_path: Path) -> None:
    cache.save(good())
    cache.save(bad())
    cache.save(good())
    assert raw(db_path, "SELECT last_error FROM previews") == [(None,)]


def test_error_replaces_an_older_error(cache: Cache) -> None:
    cache.save(bad(kind=ErrorKind.DNS))
    cache.save(bad(kind=ErrorKind.TLS))
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.error == ErrorInfo(
        kind=ErrorKind.TLS, message="tls happened"
    )


def test_failed_refetch_within_one_batch_keeps_the_good_data(cache: Cache) -> None:
    reported = cache.save_many([good(title="first"), bad()])
    assert reported[1].title == "first" and reported[1].status is Status.PROCESSED


def test_from_cache_records_are_not_written(cache: Cache, db_path: Path) -> None:
    cache.save(good(title="stored"))
    cache.save(good(title="changed in memory").with_changes(from_cache=True))
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.title == "stored"


def test_from_cache_records_are_returned_as_is(cache: Cache) -> None:
    served = good().with_changes(from_cache=True)
    assert cache.save(served) is served


def test_failed_save_rolls_back_the_whole_batch(cache: Cache, db_path: Path) -> None:
    poisoned = good("https://b.example/").with_changes(og={"bad": object()})
    with pytest.raises(TypeError):
        cache.save_many([good("https://a.example/"), poisoned])
    assert raw(db_path, "SELECT count(*) FROM previews") == [(0,)]


# --- pending ---------------------------------------------------------------------------


def test_mark_pending_inserts_only_new_urls(cache: Cache) -> None:
    cache.save(good())
    assert (
        cache.mark_pending(["https://a.example/", "https://b.example/", "https://c.example/"]) == 2
    )


def test_mark_pending_does_not_touch_existing_rows(cache: Cache) -> None:
    cache.save(good())
    cache.mark_pending(["https://a.example/"])
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.status is Status.PROCESSED


def test_a_result_replaces_a_pending_row(cache: Cache) -> None:
    cache.mark_pending(["https://a.example/"])
    cache.save(bad())
    stored = cache.get("https://a.example/")
    assert stored is not None and stored.status is Status.ERROR


# --- queries ---------------------------------------------------------------------------


@pytest.fixture
def filled(cache: Cache) -> Cache:
    cache.save_many(
        [
            good("https://a.example/one", title="Alpha news", age=timedelta(days=3)),
            good("https://b.example/two", title="beta", age=timedelta(days=1)),
            good("https://a.example/three", title="Gamma", age=timedelta(hours=1)),
            bad("https://c.example/", ErrorKind.DNS),
            bad("https://d.example/", ErrorKind.TIMEOUT),
        ]
    )
    cache.mark_pending(["https://e.example/"])
    return cache


def urls(cache: Cache, **filters: object) -> list[str]:
    return [p.url for p in cache.query(Query(**filters))]  # type: ignore[arg-type]


def test_query_default_hides_pending_rows(filled: Cache) -> None:
    assert "https://e.example/" not in urls(filled)


def test_query_default_order_is_newest_first(filled: Cache) -> None:
    assert urls(filled, status="processed") == [
        "https://a.example/three",
        "https://b.example/two",
        "https://a.example/one",
    ]


def test_query_status_pending(filled: Cache) -> None:
    assert urls(filled, status="pending") == ["https://e.example/"]


def test_query_status_error(filled: Cache) -> None:
    assert sorted(urls(filled, status="error")) == ["https://c.example/", "https://d.example/"]


def test_query_host(filled: Cache) -> None:
    assert sorted(urls(filled, host="A.example")) == [
        "https://a.example/one",
        "https://a.example/three",
    ]


def test_query_search_matches_title_case_insensitively(filled: Cache) -> None:
    assert urls(filled, search="ALPHA") == ["https://a.example/one"]


def test_query_search_matches_url(filled: Cache) -> None:
    assert urls(filled, search="/two") == ["https://b.example/two"]


def test_query_search_treats_like_wildcards_literally(filled: Cache) -> None:
    assert urls(filled, search="%") == []


def test_query_since(filled: Cache) -> None:
    assert urls(filled, status="processed", since=NOW - timedelta(hours=2)) == [
        "https://a.example/three"
    ]


def test_query_error_kind(filled: Cache) -> None:
    assert urls(filled, error_kind="dns") == ["https://c.example/"]


def test_query_limit(filled: Cache) -> None:
    assert len(urls(filled, limit=2)) == 2


def test_query_order_by_title_ignores_case(filled: Cache) -> None:
    assert urls(filled, status="processed", order="title") == [
        "https://a.example/one",
        "https://b.example/two",
        "https://a.example/three",
    ]


def test_query_order_url_descending(filled: Cache) -> None:
    got = urls(filled, order="url desc")
    assert got == sorted(got, reverse=True)


def test_query_without_jsonld_reads_no_jsonld(filled: Cache) -> None:
    assert all(p.jsonld == [] for p in filled.query(Query(), jsonld=False))


def test_query_yields_records_from_cache(filled: Cache) -> None:
    assert all(p.from_cache for p in filled.query(Query()))


def test_count_matches_query(filled: Cache) -> None:
    assert filled.count(Query(host="a.example")) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("url", ("url", False)),
        ("-fetched_at", ("fetched_at", True)),
        ("Title DESC", ("title", True)),
    ],
)
def test_parse_order(text: str, expected: tuple[str, bool]) -> None:
    assert parse_order(text) == expected


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "done"},
        {"error_kind": "nope"},
        {"limit": -1},
        {"order": "size"},
        {"order": "-url desc"},
    ],
)
def test_bad_query_values_are_query_errors(filters: dict[str, object]) -> None:
    with pytest.raises(QueryError):
        Query(**filters)  # type: ignore[arg-type]


# --- stats -------------------------------------------------------------------------------


def test_stats_counts_by_status(filled: Cache) -> None:
    assert filled.stats().by_status == {"processed": 3, "error": 2, "pending": 1}


def test_stats_counts_by_error_kind(filled: Cache) -> None:
    assert filled.stats().by_error_kind == {"dns": 1, "timeout": 1}


def test_stats_total(filled: Cache) -> None:
    assert filled.stats().total == 6


def test_stats_time_range(filled: Cache) -> None:
    stats = filled.stats()
    assert (stats.oldest_fetched_at, stats.newest_fetched_at) == (
        iso_utc(NOW - timedelta(days=3)),
        iso_utc(NOW),
    )


def test_stats_honour_filters(filled: Cache) -> None:
    assert filled.stats(Query(host="a.example")).total == 2


def test_stats_of_empty_cache(cache: Cache) -> None:
    assert cache.stats().total == 0


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Ex.COM/a", "ex.com"),
        ("http://[::1]:80/", "::1"),
        ("not a url", None),
        ("https://x.org./", "x.org"),
    ],
)
def test_host_of(url: str, host: str | None) -> None:
    assert host_of(url) == host


def _split_host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return (host or "").rstrip(".") or None


@given(
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                [
                    "http",
                    "https",
                    "://",
                    "ftp:",
                    "a",
                    "Z",
                    "é",
                    ".",
                    "-",
                    ":",
                    "80",
                    "/",
                    "?",
                    "#",
                    "@",
                    "[",
                    "]",
                    "::1",
                    " ",
                    "\t",
                    "\\",
                    "%",
                    "x.org",
                ]
            ),
            max_size=12,
        ),
    )
)
def test_host_of_reads_hosts_as_urlsplit_does(url: str) -> None:
    assert host_of(url) == _split_host(url)
    assert host_of("https://" + url) == _split_host("https://" + url)


def test_record_columns_are_all_columns_but_bookkeeping() -> None:
    assert ALL_COLUMNS[: len(RECORD_COLUMNS)] == RECORD_COLUMNS
