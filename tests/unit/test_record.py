from __future__ import annotations

import json

from og_preview.record import (
    RECORD_KEYS,
    ErrorInfo,
    ErrorKind,
    Metadata,
    Preview,
    Status,
    error_preview,
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
