from __future__ import annotations

import gzip
import os
import threading
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


# ---------------------------------------------------------------- what an input file is


def test_a_gzip_input_is_read_unpacked_and_counted(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt.gz"
    listing.write_bytes(gzip.compress(b"# links\nhttps://a.example/\n\nhttps://b.example/x\n"))
    check_sources([str(listing)])
    assert list(read_lines([str(listing)])) == [
        "# links\n",
        "https://a.example/\n",
        "\n",
        "https://b.example/x\n",
    ]
    assert count_urls([str(listing)]) == 2


def test_a_utf16_input_is_decoded(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_bytes("https://a.example/\r\nhttps://b.example/é\r\n".encode("utf-16"))
    check_sources([str(listing)])
    assert [line.strip() for line in read_lines([str(listing)])] == [
        "https://a.example/",
        "https://b.example/é",
    ]


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "a PNG image"),
        (b"PK\x03\x04\x14\x00", "a zip archive"),
        (b"SQLite format 3\x00\x10\x00", "an SQLite database"),
        (b"https://a.example/\n\x00\x01\x02", "a binary file"),
    ],
)
def test_a_binary_input_is_refused_in_one_line(tmp_path: Path, head: bytes, kind: str) -> None:
    listing = tmp_path / "urls.bin"
    listing.write_bytes(head + bytes(range(256)))
    with pytest.raises(InputError) as caught:
        check_sources([str(listing)])
    assert str(caught.value) == f"{listing} is {kind}, not a text file of URLs (one URL per line)"


def test_a_fifo_is_read_as_a_stream_and_not_counted(tmp_path: Path) -> None:
    fifo = tmp_path / "urls.fifo"
    os.mkfifo(fifo)

    def produce() -> None:
        with open(fifo, "wb") as out:
            out.write(gzip.compress(b"https://a.example/\nhttps://b.example/\n"))

    writer = threading.Thread(target=produce)
    writer.start()
    check_sources([str(fifo)])  # (reads nothing from it)
    assert count_urls([str(fifo)]) is None  # (nor does counting: a FIFO is read once)
    assert [line.strip() for line in read_lines([str(fifo)])] == [
        "https://a.example/",
        "https://b.example/",
    ]
    writer.join()


def test_a_broken_gzip_input_is_one_line(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt.gz"
    listing.write_bytes(gzip.compress(b"https://a.example/\n" * 100)[:-30])
    with pytest.raises(InputError, match=r"^cannot read input file: .*broken gzip"):
        list(read_lines([str(listing)]))


@pytest.mark.parametrize("packed", [False, True])
def test_an_endless_line_is_cut_not_held(tmp_path: Path, packed: bool) -> None:
    """A 64 MiB line (a gzip of it is 64 kB) is one invalid URL, read in 8 kB pieces."""
    import tracemalloc

    data = b"https://a.example/" + b"a" * (64 << 20) + b"\nhttps://b.example/\n"
    listing = tmp_path / ("urls.txt.gz" if packed else "urls.txt")
    listing.write_bytes(gzip.compress(data, 1) if packed else data)
    del data
    tracemalloc.start()
    try:
        items = list(iter_inputs(read_lines([str(listing)])))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [i.url for i in items] == [None, "https://b.example/"]
    assert peak < 4 << 20  # (the whole line would be 64 MiB)
