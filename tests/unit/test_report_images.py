"""The report's badges from `--check-images`: a broken image, a small one, a large card."""

from __future__ import annotations

from typing import Any

import pytest

from og_preview.present.report_checks import image_issues


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (None, []),
        ({"status": "ok", "width": None, "height": None}, []),
        ({"status": "broken", "http_status": 404}, [("miss", "image broken (HTTP 404)")]),
        ({"status": "broken", "http_status": None}, [("miss", "image broken")]),
        ({"status": "blocked", "http_status": None}, [("miss", "image blocked")]),
        ({"status": "not_image", "http_status": 200}, [("miss", "image URL is not an image")]),
        ({"status": "timeout", "http_status": None}, [("miss", "image timed out")]),
        (
            {"status": "ok", "width": 120, "height": 90},
            [("warn", "image 120\u00d790, smaller than 200\u00d7200")],
        ),
        (
            {"status": "ok", "width": 800, "height": 418},
            [("warn", "image 800\u00d7418: 1200\u00d7630 recommended for a large card")],
        ),
        ({"status": "ok", "width": 1200, "height": 630}, []),
    ],
)
def test_image_badges(check: Any, expected: list[tuple[str, str]]) -> None:
    assert image_issues(check) == expected
