"""decode_html: BOM → header → meta prescan → detection, with declarations checked."""

from __future__ import annotations

import codecs

import pytest

from og_preview.extract.decode import decode_html, normalize_charset, reads_as_utf8, sniff_encoding

TEXT = "Café “quotes” — naïve"


def page(meta: str = "", body: str = TEXT, pad: int = 0) -> str:
    return f"<html><head>{' ' * pad}{meta}<title>{body}</title></head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("latin1", "windows-1252"),
        ("ISO-8859-1", "windows-1252"),
        ("us-ascii", "windows-1252"),
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("Shift_JIS", "shift_jis"),
        ("x-sjis", "shift_jis"),
        ("EUC-JP", "euc-jp"),
        ("ks_c_5601-1987", "euc-kr"),
        ("windows-1251", "windows-1251"),
        (' "utf-8" ', "utf-8"),
        ("no-such-charset", None),
        ("", None),
        (None, None),
    ],
)
def test_labels_map_like_whatwg(label: str | None, expected: str | None) -> None:
    assert normalize_charset(label) == expected


def test_bom_wins_over_header_and_meta() -> None:
    body = codecs.BOM_UTF8 + page('<meta charset="windows-1252">').encode("utf-8")
    text, encoding = decode_html(body, "iso-8859-1")
    assert (encoding, TEXT in text, text.startswith("\ufeff")) == ("utf-8", True, False)


def test_utf16_bom() -> None:
    body = codecs.BOM_UTF16_LE + page().encode("utf-16-le")
    assert decode_html(body) == (page(), "utf-16le")


def test_header_charset_is_used() -> None:
    body = page(body="Grüße").encode("cp1252")
    assert decode_html(body, "windows-1252") == (page(body="Grüße"), "windows-1252")


def test_header_beats_meta() -> None:
    body = page('<meta charset="shift_jis">', body="Grüße").encode("cp1252")
    assert decode_html(body, "latin1")[1] == "windows-1252"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="{cs}">',
        "<META CHARSET={cs}>",
        '<meta http-equiv="Content-Type" content="text/html; charset={cs}">',
    ],
)
@pytest.mark.parametrize(
    ("charset", "codec", "text"),
    [
        ("euc-jp", "euc_jp", "日本語のページです"),
        ("shift_jis", "cp932", "日本語のページです"),
        ("gbk", "gbk", "中文网页内容"),
        ("windows-1251", "cp1251", "Русский текст"),
    ],
)
def test_meta_declarations(meta: str, charset: str, codec: str, text: str) -> None:
    html = page(meta.format(cs=charset), body=text)
    assert decode_html(html.encode(codec))[0] == html


def test_late_meta_beyond_1024_bytes() -> None:
    html = page('<meta charset="gbk">', body="中文网页内容", pad=100_000)
    assert decode_html(html.encode("gbk"))[0] == html


def test_declared_latin1_but_bytes_are_utf8() -> None:
    html = page('<meta charset="iso-8859-1">')
    assert decode_html(html.encode("utf-8")) == (html, "utf-8")


def test_declared_cyrillic_but_bytes_are_utf8() -> None:
    html = page('<meta charset="windows-1251">', body="Пикабу")
    assert decode_html(html.encode("utf-8"))[0] == html


def test_declared_utf8_but_bytes_are_not() -> None:
    html = page('<meta charset="utf-8">', body="Ceci est une très belle journée, à bientôt " * 20)
    text, encoding = decode_html(html.encode("cp1252"))
    assert encoding != "utf-8"
    assert "très belle journée" in text


def test_detection_without_any_declaration() -> None:
    html = page(body="これは日本語で書かれたページです。" * 20)
    assert decode_html(html.encode("shift_jis"))[0] == html


def test_ascii_without_declaration_is_utf8() -> None:
    assert decode_html(b"<p>plain</p>") == ("<p>plain</p>", "utf-8")


@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe\xfd", b"\x00" * 10, bytes(range(256)) * 4, b"<meta charset=\xff>"]
)
def test_never_raises_and_replaces(body: bytes) -> None:
    text, encoding = decode_html(body)
    assert isinstance(text, str)
    assert encoding


def test_sniff_matches_decode() -> None:
    body = page('<meta charset="euc-jp">', body="日本語").encode("euc_jp")
    assert sniff_encoding(body) == decode_html(body)[1] == "euc-jp"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        (b"<title>plain ascii</title>", None, True),
        ("<title>caf\u00e9</title>".encode(), None, True),
        ("<title>caf\u00e9</title>".encode(), "windows-1252", True),  # valid UTF-8 wins
        (b"<meta charset=windows-1252><title>ascii</title>", None, True),
        (b"<title>caf\xe9</title>", None, False),  # not UTF-8: detection decides
        (b"\xef\xbb\xbf<title>bom</title>", None, False),  # a BOM: decode_html reads it
        (b"<meta charset=utf-16><title>x</title>", None, True),  # (read as UTF-8: WHATWG)
        (b"<title>x</title>", "utf-16le", False),
        (b"<meta charset=iso-2022-jp><title>x</title>", None, False),
        (b"", None, True),
    ],
)
def test_reads_as_utf8(body: bytes, header: str | None, expected: bool) -> None:
    assert reads_as_utf8(body, header) is expected
    if expected:
        assert decode_html(body, header)[0] == body.decode("utf-8")
