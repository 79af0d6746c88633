"""Records cross the worker pipes as JSON, unchanged."""

from __future__ import annotations

import pytest

from og_preview.record import ErrorInfo, ErrorKind, Preview, Status, error_preview
from og_preview.run.worker import from_wire, to_wire


@pytest.mark.parametrize(
    "record",
    [
        Preview(
            url="https://a.example/",
            final_url="https://a.example/x",
            status=Status.PROCESSED,
            http_status=200,
            title="Café",
            images=[{"url": "https://a.example/i.png", "width": 10, "alt": None}],
            og={"og:title": "Café", "og:image": ["1", "2"]},
            jsonld=[{"@type": "Article", "n": 2.5, "deep": [{"x": [1, None, True]}]}],
            attempts=1,
            fetched_at="2026-01-01T00:00:00Z",
        ),
        error_preview("https://b.example/", ErrorKind.HTTP, "HTTP 404", http_status=404),
        Preview(url="https://c.example/", status=Status.PROCESSED, title="a\ud800b"),
        Preview(url="https://d.example/", status=Status.PROCESSED, jsonld=[{"n": 2**80}]),
    ],
    ids=["processed", "error", "lone-surrogate", "big-integer"],
)
def test_records_cross_the_wire_unchanged(record: Preview) -> None:
    back = from_wire(to_wire(record))
    assert back == record
    assert type(back.status) is Status
    assert back.error is None or type(back.error) is ErrorInfo


def test_the_wire_is_json_when_it_can_be() -> None:
    assert to_wire(Preview(url="https://a.example/", status=Status.PROCESSED)).startswith(b"{")
