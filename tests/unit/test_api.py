"""The library API's shape: what `import og_preview` offers, how its functions are
called, the synchronous wrappers' refusal inside a running loop, and `parse_saved`."""

from __future__ import annotations

import asyncio
import inspect
import time
import warnings

import pytest

import og_preview
from og_preview.record import ErrorKind, Status
from og_preview.run import pipeline

PUBLIC = [
    "preview",
    "preview_many",
    "preview_all",
    "preview_sync",
    "preview_all_sync",
    "parse_saved",
    "Settings",
    "Preview",
    "Cache",
    "Query",
    "extract_bytes",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_names_are_exported(name: str) -> None:
    assert name in og_preview.__all__
    assert getattr(og_preview, name) is not None


def test_the_functions_are_those_of_the_pipeline() -> None:
    assert og_preview.preview_sync is pipeline.preview_sync
    assert og_preview.preview_all_sync is pipeline.preview_all_sync
    assert og_preview.preview_all is pipeline.preview_all


def _leading(function: object, count: int) -> list[tuple[str, object, object]]:
    params = list(inspect.signature(function).parameters.values())[:count]  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in params]


@pytest.mark.parametrize(
    "function",
    [
        pipeline.preview,
        pipeline.preview_all,
        pipeline.preview_sync,
        pipeline.preview_all_sync,
    ],
)
def test_settings_and_cache_come_second_and_third_as_in_preview_many(function: object) -> None:
    """`preview_all(urls, settings, cache)` is called as `preview_many(lines, settings,
    cache)` is: positionally or by keyword."""
    want = _leading(pipeline.preview_many, 3)[1:]
    assert _leading(function, 3)[1:] == want
    assert [kind for _, kind, _ in want] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 2


def test_parse_saved_keeps_its_keywords() -> None:
    params = inspect.signature(pipeline.parse_saved).parameters
    assert list(params)[:2] == ["body", "url"]
    for keyword in ("include_jsonld", "parse_timeout", "source"):
        assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY


# -- the synchronous wrappers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "instead"),
    [
        (lambda: og_preview.preview_sync("https://example.com/"), "await og_preview.preview("),
        (
            lambda: og_preview.preview_all_sync(["https://example.com/"]),
            "await og_preview.preview_all(",
        ),
    ],
)
async def test_sync_wrappers_refuse_a_running_loop_at_once(call: object, instead: str) -> None:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        with pytest.raises(RuntimeError, match="running event loop") as refused:
            call()  # type: ignore[operator]
    assert time.perf_counter() - started < 1.0
    assert instead in str(refused.value)


def test_sync_wrapper_outside_a_loop_returns_the_record() -> None:
    record = og_preview.preview_sync("javascript:alert(1)")  # no network: an invalid URL
    assert record.error is not None and record.error.kind is ErrorKind.INVALID_URL
    [one, two] = og_preview.preview_all_sync(["ftp://x.example/", "  "])
    assert [one.status, two.status] == [Status.ERROR, Status.ERROR]


def test_sync_wrapper_leaves_no_loop_behind() -> None:
    og_preview.preview_sync("javascript:x")
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert asyncio.run(asyncio.sleep(0, "still usable")) == "still usable"


# -- parse_saved ----------------------------------------------------------------------------

PAGE = b"""<html><head><title>Saved</title>
<meta property="og:image" content="/img/cover.png">
<meta property="og:image" content="thumbs/small.png">
<link rel="icon" href="//cdn.example/fav.ico">
<link rel="canonical" href="https://example.com/blog/post">
</head></html>"""
NO_ADDRESS = PAGE.replace(b"https://example.com/blog/post", b"/blog/post")


def test_with_url() -> None:
    record = og_preview.parse_saved(PAGE, "https://Mirror.example/a/b")
    assert (record.url, record.final_url, record.image, record.canonical_url) == (
        "https://mirror.example/a/b",
        None,
        "https://mirror.example/img/cover.png",
        "https://example.com/blog/post",
    )
    assert [i["url"] for i in record.images] == [
        "https://mirror.example/img/cover.png",
        "https://mirror.example/a/thumbs/small.png",
    ]


def test_without_url_the_canonical_is_the_address() -> None:
    record = og_preview.parse_saved(PAGE)
    assert (record.url, record.image, record.icon) == (
        "https://example.com/blog/post",
        "https://example.com/img/cover.png",
        "https://cdn.example/fav.ico",
    )
    assert record.images[1]["url"] == "https://example.com/blog/thumbs/small.png"


def test_without_any_address_links_stay_as_written() -> None:
    record = og_preview.parse_saved(NO_ADDRESS, source="file:///tmp/saved.html")
    assert (record.url, record.status, record.image, record.canonical_url) == (
        "file:///tmp/saved.html",
        Status.PROCESSED,
        "/img/cover.png",
        "/blog/post",
    )
    assert [i["url"] for i in record.images] == ["/img/cover.png", "thumbs/small.png"]
    assert record.icon == "https://cdn.example/fav.ico"  # scheme-relative: https assumed
    assert og_preview.parse_saved(NO_ADDRESS).url == "-"


def test_base_href_still_applies_without_an_address() -> None:
    page = b'<base href="https://static.example/s/"><meta property="og:image" content="i.png">'
    assert og_preview.parse_saved(page).image == "https://static.example/s/i.png"


def test_a_str_page() -> None:
    record = og_preview.parse_saved(PAGE.decode(), "https://example.com/")
    assert (record.title, record.image) == ("Saved", "https://example.com/img/cover.png")


def test_an_invalid_url_raises_value_error() -> None:
    with pytest.raises(ValueError, match="scheme"):
        og_preview.parse_saved(PAGE, "ftp://example.com/")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"%PDF-1.4\n", "not an HTML page: a PDF document"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "not an HTML page: gzip-compressed data"),
        (b"GIF89a\x01\x00\x01\x00", "not an HTML page: a GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "not an HTML page: a WebP image"),
        (b"\x00\x00\x00\x20ftypisom", "not an HTML page: an MP4"),
        (b"PK\x03\x04\x14\x00", "not an HTML page: a zip archive"),
        (b"", "not an HTML page: empty"),
        ("no markup here", "not an HTML page: text without any HTML markup"),
        (b'[{"a": 1}]', "not an HTML page: a JSON document"),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
            "not an HTML page: an Atom feed",
        ),
        (b'<?xml version="1.0"?><catalog><book/></catalog>', "not an HTML page: an XML document"),
    ],
)
def test_not_html(body: bytes | str, message: str) -> None:
    record = og_preview.parse_saved(body, "https://example.com/x")
    assert (record.url, record.status) == ("https://example.com/x", Status.ERROR)
    assert record.error is not None and record.error.kind is ErrorKind.NOT_HTML
    assert record.error.message.startswith(message)


def test_not_html_without_url_names_the_source() -> None:
    record = og_preview.parse_saved(b"%PDF-1.4", source="file:///tmp/a.pdf")
    assert (record.url, record.content_type) == ("file:///tmp/a.pdf", "application/pdf")


def test_a_few_stray_control_bytes_are_still_a_page() -> None:
    page = b"<title>t</title>" + b"\x00\x01" + b" text" * 200
    assert og_preview.parse_saved(page).title == "t"
