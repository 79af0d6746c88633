"""How one fetch (and its extraction) becomes a record: the error kinds decided in the pipeline."""

from __future__ import annotations

from dataclasses import replace

import pytest

from og_preview.extract.metadata import Extraction
from og_preview.net.fetch import FetchResult
from og_preview.record import ErrorInfo, ErrorKind, Metadata, Status
from og_preview.run.records import build_record

URL = "https://a.example/page"


def fetched(**changes: object) -> FetchResult:
    base = FetchResult(
        url=URL,
        final_url=URL,
        http_status=200,
        content_type="text/html",
        charset=None,
        content_language=None,
        body=b"<title>x</title>",
        truncated=False,
        attempts=1,
        error=None,
        retry_after=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def extraction(challenge: bool = False, **meta: object) -> Extraction:
    return Extraction(metadata=Metadata(**meta), challenge=challenge)  # type: ignore[arg-type]


def kind(record_error: ErrorInfo | None) -> str | None:
    return record_error.kind.value if record_error else None


def test_html_is_processed_with_metadata() -> None:
    record = build_record(fetched(), extraction(title="T"), "2026-01-01T00:00:00Z")
    assert (record.status, record.title, record.fetched_at) == (
        Status.PROCESSED,
        "T",
        "2026-01-01T00:00:00Z",
    )


def test_network_error_is_kept() -> None:
    error = ErrorInfo(kind=ErrorKind.TIMEOUT, message="no response within 1s")
    record = build_record(fetched(error=error, http_status=None), None, "t")
    assert (record.status, kind(record.error)) == (Status.ERROR, "timeout")


@pytest.mark.parametrize("status", [404, 410, 500, 403])
def test_error_status_is_http_error(status: int) -> None:
    record = build_record(fetched(http_status=status), extraction(title="Not found"), "t")
    assert (kind(record.error), record.error and record.error.http_status) == ("http", status)


def test_challenge_page_is_challenge_not_a_preview() -> None:
    record = build_record(
        fetched(http_status=503), extraction(challenge=True, title="Just a moment..."), "t"
    )
    assert (kind(record.error), record.title) == ("challenge", None)


def test_image_url_is_its_own_preview() -> None:
    record = build_record(fetched(content_type="image/png", body=b""), None, "t")
    assert (record.status, record.image, record.type) == (Status.PROCESSED, URL, "image")


def test_video_url_sets_og_video() -> None:
    record = build_record(fetched(content_type="video/mp4", body=b""), None, "t")
    assert (record.status, record.og) == (Status.PROCESSED, {"og:video": URL})


def test_other_content_is_not_html() -> None:
    record = build_record(fetched(content_type="application/pdf", body=b""), None, "t")
    assert kind(record.error) == "not_html"


def test_truncated_with_nothing_usable_is_too_large() -> None:
    record = build_record(fetched(truncated=True), extraction(), "t")
    assert kind(record.error) == "too_large"


def test_truncated_with_a_usable_head_is_processed() -> None:
    record = build_record(fetched(truncated=True), extraction(title="Head"), "t")
    assert (record.status, record.title) == (Status.PROCESSED, "Head")


def test_retry_after_is_told_in_the_message() -> None:
    record = build_record(fetched(http_status=429, retry_after=3600.0), extraction(), "t")
    assert record.error is not None and "3600" in record.error.message
