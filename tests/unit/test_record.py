from __future__ import annotations

import json

from og_preview.record import (
    INTERNAL_FIELDS,
    RECORD_KEYS,
    ErrorInfo,
    ErrorKind,
    Metadata,
    Preview,
    Status,
    error_preview,
    last_error_of,
)

SPEC_KEYS = [
    "url",
    "final_url",
    "status",
    "http_status",
    "content_type",
    "title",
    "description",
    "image",
    "images",
    "site_name",
    "type",
    "canonical_url",
    "locale",
    "lang",
    "author",
    "published",
    "icon",
    "og",
    "twitter",
    "jsonld",
    "error",
    "attempts",
    "fetched_at",
    "from_cache",
    "changed",
    "last_error",
    "image_check",
]


def test_record_has_every_spec_key_in_order() -> None:
    assert list(RECORD_KEYS) == SPEC_KEYS


def test_to_dict_is_json_and_complete() -> None:
    data = Preview(url="https://a.example/", status=Status.PROCESSED).to_dict()
    assert list(json.loads(json.dumps(data))) == SPEC_KEYS


def test_error_serialises_kind_as_string() -> None:
    record = error_preview("https://a.example/", ErrorKind.TIMEOUT, "slow", http_status=None)
    assert record.to_dict()["error"] == {"kind": "timeout", "message": "slow", "http_status": None}


def test_round_trip() -> None:
    record = Preview(
        url="https://a.example/",
        status=Status.ERROR,
        error=ErrorInfo(kind=ErrorKind.HTTP, message="HTTP 404", http_status=404),
        og={"og:title": "x"},
        attempts=2,
    )
    assert Preview.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_metadata_fields_fit_preview() -> None:
    meta = Metadata(title="t", images=[{"url": "u"}])
    record = Preview(url="https://a.example/", status=Status.PROCESSED, **meta.as_fields())
    assert (record.title, record.images) == ("t", [{"url": "u"}])


def test_new_keys_round_trip() -> None:
    record = Preview(
        url="https://a.example/",
        status=Status.PROCESSED,
        from_cache=True,
        changed=False,
        last_error={"kind": "timeout", "message": "slow", "at": "2026-03-01T12:00:00Z"},
        image_check={
            "status": "ok",
            "http_status": 200,
            "content_type": "image/png",
            "bytes": 1234,
            "width": 1200,
            "height": 630,
        },
    )
    data = json.loads(json.dumps(record.to_dict()))
    assert (data["changed"], data["last_error"]["kind"], data["image_check"]["width"]) == (
        False,
        "timeout",
        1200,
    )
    assert Preview.from_dict(data) == record


def test_new_keys_default_to_null() -> None:
    data = Preview(url="https://a.example/", status=Status.PROCESSED).to_dict()
    assert (data["changed"], data["last_error"], data["image_check"]) == (None, None, None)


def test_internal_fields_are_not_record_keys() -> None:
    assert INTERNAL_FIELDS == ("etag", "last_modified", "revalidated")
    record = Preview(
        url="https://a.example/",
        status=Status.PROCESSED,
        etag='"v1"',
        last_modified="Sun, 01 Mar 2026 10:00:00 GMT",
        revalidated=True,
    )
    assert not set(INTERNAL_FIELDS) & set(record.to_dict())
    assert "etag" not in repr(record)


def test_internal_fields_do_not_change_equality() -> None:
    plain = Preview(url="https://a.example/", status=Status.PROCESSED)
    assert plain == plain.with_changes(etag='"v1"', last_modified="x", revalidated=True)


def test_internal_fields_cross_with_to_dict_internal() -> None:
    record = Preview(
        url="https://a.example/", status=Status.PROCESSED, etag='"v1"', revalidated=True
    )
    data = json.loads(json.dumps(record.to_dict(internal=True)))
    assert list(data) == [*SPEC_KEYS, *INTERNAL_FIELDS]
    back = Preview.from_dict(data)
    assert (back.etag, back.last_modified, back.revalidated) == ('"v1"', None, True)


def test_with_changes_keeps_working() -> None:
    record = Preview(url="https://a.example/", status=Status.PROCESSED, etag='"v1"')
    changed = record.with_changes(title="t", changed=True)
    assert (changed.title, changed.changed, changed.etag) == ("t", True, '"v1"')


def test_last_error_of() -> None:
    error = ErrorInfo(kind=ErrorKind.DNS, message="no such host")
    assert last_error_of(error, "2026-03-01T12:00:00Z") == {
        "kind": "dns",
        "message": "no such host",
        "at": "2026-03-01T12:00:00Z",
    }
