from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from og_preview import urls as urls_module
from og_preview.urls import (
    MAX_URL_LENGTH,
    InputError,
    InvalidURL,
    check_sources,
    count_urls,
    iter_inputs,
    normalise,
    read_lines,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  https://example.com/a  ", "https://example.com/a"),
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("example.com/page", "https://example.com/page"),
        ("example.com:8080/x", "https://example.com:8080/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/%7Euser", "https://example.com/%7Euser"),
        ("http://2130706433/", "http://2130706433/"),
        ("http://[::1]:80/", "http://[::1]/"),
        ("http://user:pw@example.com/", "http://user:pw@example.com/"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.com/",
        "mailto:someone@example.com",
        "data:text/html,hi",
        "https://",
        "http://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com/\x00",
        "https://example.com/\ufffd",
        "https://example.com/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_invalid(raw: str) -> None:
    with pytest.raises(InvalidURL):
        normalise(raw)


def test_iter_inputs_skips_blanks_and_comments_and_dedups() -> None:
    lines = ["# header", "", "  ", "example.com", "https://example.com/", "https://EXAMPLE.com/#x"]
    items = list(iter_inputs(lines))
    assert [i.url for i in items] == ["https://example.com/"]


def test_iter_inputs_reports_bad_lines_without_stopping() -> None:
    items = list(iter_inputs(["javascript:x", "https://a.example/"]))
    assert [(i.url, bool(i.problem)) for i in items] == [
        (None, True),
        ("https://a.example/", False),
    ]


def test_read_lines_streams_undecodable_bytes_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_bytes(b"https://a.example/\n\xff\xfe\x00junk\nhttps://b.example/\n")
    items = list(iter_inputs(read_lines([str(path)])))
    assert [i.url for i in items] == ["https://a.example/", None, "https://b.example/"]


def test_check_sources_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        check_sources([str(tmp_path / "nope.txt")])


def test_check_sources_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory"):
        check_sources([str(tmp_path)])


def test_count_urls(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# c\n\na.example\nb.example\n")
    assert count_urls([str(path)]) == 2


def test_count_urls_unknown_for_stdin() -> None:
    assert count_urls(["-"]) is None


def test_fingerprints_are_an_exact_set() -> None:
    from og_preview.urls import Fingerprints

    seen = Fingerprints(capacity=4)
    added = [seen.add(n) for n in [5, 9, 5, 0, 1 << 63, 13, 9, *range(100, 200)]]
    assert (added[:7], len(seen)) == ([True, True, False, True, True, True, False], 105)


def test_fingerprints_keep_everything_through_growth() -> None:
    from og_preview.urls import Fingerprints

    seen = Fingerprints(capacity=2)
    for n in range(1, 5000):
        seen.add(n * 7919)
    assert not any(seen.add(n * 7919) for n in range(1, 5000))


@settings(max_examples=300, deadline=None)
@given(st.from_regex(urls_module._NORMAL, fullmatch=True))
def test_the_fast_path_only_takes_urls_that_are_already_normal(url: str) -> None:
    """The fast path and the full rules agree on every URL the fast path could take."""
    assert normalise(url) == urls_module._rebuild(url)
