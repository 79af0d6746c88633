"""The cache's save rules for the newer record keys: `changed`, a `304` revalidation, a
failed refetch's `last_error`, validators and image checks, the flat error columns,
`stale_many`, and a write that fails for want of space."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from og_preview.record import ErrorKind, Preview, Status, error_preview
from og_preview.store.cache import Cache, CacheError, Query
from og_preview.store.rows import to_row
from og_preview.store.schema import ALL_COLUMNS, iso_utc

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
URL = "https://a.example/"
IMAGE_CHECK = {
    "status": "ok",
    "http_status": 200,
    "content_type": "image/png",
    "bytes": 2048,
    "width": 1200,
    "height": 630,
}


def page(*, age: timedelta = timedelta(0), **changes: Any) -> Preview:
    record = Preview(
        url=URL,
        final_url=URL,
        status=Status.PROCESSED,
        http_status=200,
        content_type="text/html",
        title="Title",
        description="About it",
        image=URL + "i.png",
        site_name="A",
        type="article",
        canonical_url=URL,
        og={"og:title": "Title"},
        attempts=1,
        fetched_at=iso_utc(NOW - age),
    )
    return record.with_changes(**changes)


def failure(kind: ErrorKind = ErrorKind.TIMEOUT, *, at: datetime = NOW) -> Preview:
    return error_preview(URL, kind, f"{kind.value} happened", attempts=4, fetched_at=iso_utc(at))


def not_modified(*, at: datetime = NOW, **changes: Any) -> Preview:
    """What a `304` answer to a conditional refetch is: no data, `revalidated`."""
    record = Preview(
        url=URL,
        final_url=URL,
        status=Status.PROCESSED,
        http_status=304,
        attempts=1,
        fetched_at=iso_utc(at),
        revalidated=True,
    )
    return record.with_changes(**changes)


@pytest.fixture
def cache(db_path: Path) -> Iterator[Cache]:
    with Cache(db_path) as opened:
        yield opened


def column(db_path: Path, name: str, url: str = URL) -> object:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT {name} FROM previews WHERE url = ?", (url,)).fetchone()[0]
    finally:
        conn.close()


def test_to_row_gives_every_column() -> None:
    assert len(to_row(page(), iso_utc(NOW))) == len(ALL_COLUMNS)


# --- changed -------------------------------------------------------------------------------


def test_a_first_fetch_is_changed_none(cache: Cache) -> None:
    assert cache.save(page()).changed is None


def test_the_same_preview_again_is_changed_false(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    assert cache.save(page()).changed is False


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("title", "New title"),
        ("description", "Other"),
        ("image", "https://a.example/j.png"),
        ("site_name", None),
        ("type", "website"),
        ("canonical_url", "https://a.example/canonical"),
    ],
)
def test_a_difference_in_a_preview_key_is_changed_true(
    cache: Cache, key: str, value: object
) -> None:
    cache.save(page(age=timedelta(days=8)))
    assert cache.save(page().with_changes(**{key: value})).changed is True


def test_other_differences_are_not_a_change(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    again = page(og={"og:title": "Title", "og:locale": "en_US"}, lang="en", attempts=3)
    assert cache.save(again).changed is False


def test_changed_compares_with_the_previous_processed_row_only(cache: Cache) -> None:
    cache.save(failure())  # an error row: no previous preview
    assert cache.save(page()).changed is None


def test_changed_after_a_failed_refetch_compares_with_the_kept_data(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(failure())
    assert cache.save(page(title="Retitled")).changed is True


def test_changed_within_one_batch(cache: Cache) -> None:
    saved = cache.save_many([page(), page(), page(title="Other")])
    assert [r.changed for r in saved] == [None, False, True]


def test_changed_is_stored_but_a_record_from_the_cache_says_null(
    cache: Cache, db_path: Path
) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(page(title="New"))
    assert column(db_path, "changed") == 1
    stored = cache.get(URL)
    assert stored is not None and stored.changed is None


def test_a_pending_row_is_no_previous_version(cache: Cache) -> None:
    cache.mark_pending([URL])
    assert cache.save(page()).changed is None


# --- revalidated by a 304 --------------------------------------------------------------------


def test_a_304_returns_the_stored_record(cache: Cache) -> None:
    stored = cache.save(page(age=timedelta(days=8)))
    answer = cache.save(not_modified())
    assert answer == stored.with_changes(from_cache=True, changed=False)
    assert (answer.from_cache, answer.changed, answer.revalidated) == (True, False, True)


def test_a_304_keeps_the_stored_data_and_fetched_at(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(not_modified())
    stored = cache.get(URL)
    assert stored is not None
    assert (stored.title, stored.http_status, stored.fetched_at) == (
        "Title",
        200,
        iso_utc(NOW - timedelta(days=8)),
    )


def test_a_304_moves_checked_at_only(cache: Cache, db_path: Path) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(not_modified(at=NOW))
    assert column(db_path, "checked_at") == iso_utc(NOW)
    assert column(db_path, "fetched_at") == iso_utc(NOW - timedelta(days=8))


def test_a_revalidated_row_is_fresh_again(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    assert cache.lookup(URL, max_age=timedelta(days=7), now=NOW) is None
    cache.save(not_modified(at=NOW))
    hit = cache.lookup(URL, max_age=timedelta(days=7), now=NOW)
    assert hit is not None and hit.fetched_at == iso_utc(NOW - timedelta(days=8))


def test_a_304_updates_the_validators_it_sends(cache: Cache, db_path: Path) -> None:
    cache.save(
        page(age=timedelta(days=8), etag='"v1"', last_modified="Mon, 01 Jan 2026 00:00:00 GMT")
    )
    answer = cache.save(not_modified(etag='"v2"'))
    assert (answer.etag, answer.last_modified) == ('"v2"', "Mon, 01 Jan 2026 00:00:00 GMT")
    assert (column(db_path, "etag"), column(db_path, "last_modified")) == (
        '"v2"',
        "Mon, 01 Jan 2026 00:00:00 GMT",
    )


def test_a_304_clears_a_previous_failure(cache: Cache, db_path: Path) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(failure())
    answer = cache.save(not_modified())
    assert answer.last_error is None and column(db_path, "last_error") is None


def test_a_304_without_a_stored_preview_is_an_error_row(cache: Cache) -> None:
    answer = cache.save(not_modified())
    assert answer.status is Status.ERROR and answer.error is not None
    assert (answer.error.kind, answer.http_status) == (ErrorKind.HTTP, 304)
    assert cache.lookup(URL, max_age=timedelta(days=365), now=NOW) is None


# --- a failed refetch ----------------------------------------------------------------------------


def test_a_failed_refetch_returns_the_good_record_with_last_error(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    before = iso_utc(datetime.now(UTC))
    answer = cache.save(failure(ErrorKind.CONNECT))
    assert (answer.status, answer.title, answer.from_cache, answer.error) == (
        Status.PROCESSED,
        "Title",
        True,
        None,
    )
    assert answer.last_error is not None
    assert (answer.last_error["kind"], answer.last_error["message"]) == (
        "connect",
        "connect happened",
    )
    assert answer.last_error["at"] >= before
    assert answer.changed is None


def test_a_failed_refetch_reads_back_with_its_last_error(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    answer = cache.save(failure())
    assert cache.get(URL) == answer
    stored = cache.get(URL)
    assert stored is not None and stored.last_error == answer.last_error


def test_a_failed_refetch_keeps_the_row_stale(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(failure())
    assert cache.lookup(URL, max_age=timedelta(days=7), now=NOW) is None


def test_a_successful_refetch_clears_last_error(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=8)))
    cache.save(failure())
    answer = cache.save(page())
    stored = cache.get(URL)
    assert answer.last_error is None and stored is not None and stored.last_error is None


def test_an_error_row_has_no_last_error(cache: Cache) -> None:
    cache.save(failure(ErrorKind.DNS))
    stored = cache.get(URL)
    assert stored is not None and stored.error is not None and stored.last_error is None


# --- validators, image checks, flat errors ------------------------------------------------------


def test_validators_and_image_check_are_stored(cache: Cache, db_path: Path) -> None:
    cache.save(
        page(etag='W/"abc"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT", image_check=IMAGE_CHECK)
    )
    stored = cache.get(URL)
    assert stored is not None
    assert (stored.etag, stored.last_modified, stored.image_check) == (
        'W/"abc"',
        "Sun, 01 Mar 2026 10:00:00 GMT",
        IMAGE_CHECK,
    )
    assert column(db_path, "json_extract(image_check, '$.width')") == 1200


def test_no_image_check_is_null(cache: Cache, db_path: Path) -> None:
    cache.save(page())
    assert column(db_path, "image_check") is None


def test_flat_error_columns_follow_error(cache: Cache, db_path: Path) -> None:
    cache.save(failure(ErrorKind.DNS))
    assert (column(db_path, "error_kind"), column(db_path, "error_message")) == (
        "dns",
        "dns happened",
    )
    cache.save(failure(ErrorKind.TLS))
    assert column(db_path, "error_kind") == "tls"
    cache.save(page())
    assert (column(db_path, "error_kind"), column(db_path, "error_message")) == (None, None)


def test_a_failed_refetch_leaves_the_flat_error_columns_empty(cache: Cache, db_path: Path) -> None:
    cache.save(page())
    cache.save(failure(ErrorKind.DNS))
    assert column(db_path, "error_kind") is None
    assert cache.count(Query(error_kind="dns")) == 0


def test_checked_at_is_fetched_at_on_a_full_fetch(cache: Cache, db_path: Path) -> None:
    cache.save(page(fetched_at="2026-03-01T14:00:00+02:00"))
    assert column(db_path, "checked_at") == column(db_path, "fetched_at") == "2026-03-01T12:00:00Z"


# --- stale_many ----------------------------------------------------------------------------------


def test_stale_many_gives_the_old_processed_rows_with_validators(cache: Cache) -> None:
    urls = [f"https://h{i}.example/" for i in range(1100)]
    fresh, stale = urls[::2], urls[1::2]
    cache.save_many([page(url=u, age=timedelta(hours=1)) for u in fresh])
    cache.save_many([page(url=u, age=timedelta(days=30), etag=f'"{u}"') for u in stale])
    cache.save_many([failure().with_changes(url="https://err.example/")])
    cache.mark_pending(["https://pending.example/"])
    asked = [*urls, "https://err.example/", "https://pending.example/", "https://nope.example/"]
    found = cache.stale_many(asked, max_age=timedelta(days=7), now=NOW)
    assert sorted(found) == sorted(stale)
    assert all(r.from_cache and r.etag == f'"{u}"' for u, r in found.items())
    assert sorted(cache.lookup_many(asked, max_age=timedelta(days=7), now=NOW)) == sorted(fresh)


def test_stale_many_and_lookup_many_split_at_max_age(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=7)))
    assert URL in cache.stale_many([URL], max_age=timedelta(days=7), now=NOW)
    assert cache.lookup_many([URL], max_age=timedelta(days=7), now=NOW) == {}


def test_stale_many_judges_on_checked_at(cache: Cache) -> None:
    cache.save(page(age=timedelta(days=30)))
    cache.save(not_modified(at=NOW - timedelta(hours=1)))
    assert cache.stale_many([URL], max_age=timedelta(days=7), now=NOW) == {}


def test_stale_many_of_nothing(cache: Cache) -> None:
    assert cache.stale_many([], max_age=timedelta(days=1)) == {}


# --- a write that fails ---------------------------------------------------------------------------


def test_a_full_disk_is_a_one_line_cache_error(cache: Cache) -> None:
    cache.save(page())
    pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
    cache.db.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = "x" * 2000
    with pytest.raises(CacheError) as info:
        for i in range(200):
            cache.save_many(
                [page(url=f"https://b.example/{i}/{j}", description=big) for j in range(10)]
            )
    message = str(info.value)
    assert "disk is full" in message and "\n" not in message
    assert str(cache.path) in message


def test_a_full_disk_loses_only_the_batch_that_failed(cache: Cache) -> None:
    cache.save(page())
    pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
    cache.db.execute(f"PRAGMA max_page_count = {pages + 2}")
    saved = 0
    with pytest.raises(CacheError):
        for i in range(200):
            cache.save_many(
                [page(url=f"https://b.example/{i}/{j}", description="x" * 2000) for j in range(10)]
            )
            saved += 10
    assert cache.count(Query()) == 1 + saved
    assert cache.get(URL) is not None


def test_a_full_disk_while_marking_pending_is_a_cache_error(cache: Cache) -> None:
    pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
    cache.db.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(CacheError, match="disk is full"):
        cache.mark_pending(f"https://p.example/{'y' * 500}/{i}" for i in range(2000))
