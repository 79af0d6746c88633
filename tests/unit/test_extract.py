"""Field rules and fallbacks of extract(), on small hand-written pages."""

from __future__ import annotations

from typing import Any

import pytest

from og_preview.extract.decode import decode_html
from og_preview.extract.metadata import Extraction, extract, extract_bytes
from og_preview.record import METADATA_KEYS, Metadata

BASE = "https://example.com/dir/page.html"


def meta(head: str = "", body: str = "", html_attrs: str = "", base: str = BASE) -> Metadata:
    html = f"<!doctype html><html {html_attrs}><head>{head}</head><body>{body}</body></html>"
    return extract(html, base).metadata


def both(head: str = "", body: str = "", html_attrs: str = "") -> tuple[Metadata, Metadata]:
    """The page as text and as UTF-8 bytes, which must agree."""
    html = f"<!doctype html><html {html_attrs}><head>{head}</head><body>{body}</body></html>"
    return extract(html, BASE).metadata, extract_bytes(html.encode(), BASE).metadata


def m(prop: str, content: str, attr: str = "property") -> str:
    return f'<meta {attr}="{prop}" content="{content}">'


# ---------------------------------------------------------------- title / description


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (m("og:title", "OG") + m("twitter:title", "TW", "name") + "<title>T</title>", "OG"),
        (m("twitter:title", "TW", "name") + "<title>T</title>", "TW"),
        ("<title>\n  Plain   <b>title</b>\n</title>", "Plain <b>title</b>"),
        (m("og:title", "  ") + "<title>Fallback</title>", "Fallback"),
        (m("og:title", "First") + m("og:title", "Second"), "First"),
        (m("og:title", "AT&amp;amp;T"), "AT&T"),
        (m("OG:TITLE", "Upper"), "Upper"),
        ('<meta name="og:title" content="By name">', "By name"),
        ('<meta property="og:title" value="From value">', "From value"),
        (m("og:title", "Ctrl\x07chars\x1f removed"), "Ctrlchars removed"),
        ("", None),
    ],
)
def test_title(head: str, expected: str | None) -> None:
    assert meta(head).title == expected


def test_title_in_body_meta() -> None:
    assert meta(body=m("og:title", "Late")).title == "Late"


def test_svg_title_is_not_the_page_title() -> None:
    assert meta("<title>Real</title>", "<svg><title>Icon</title></svg>").title == "Real"


def test_overlong_text_is_truncated() -> None:
    title = meta(m("og:title", "x" * 10_000)).title
    assert title is not None and len(title) <= 2000


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (m("og:description", "OG") + m("description", "D", "name"), "OG"),
        (m("twitter:description", "TW", "name") + m("description", "D", "name"), "TW"),
        (m("description", "Meta  description", "name"), "Meta description"),
        (m("Description", "Case", "NAME"), "Case"),
        ('<meta itemprop="description" content="Micro">', "Micro"),
        ("", None),
    ],
)
def test_description(head: str, expected: str | None) -> None:
    assert meta(head).description == expected


def test_description_from_jsonld() -> None:
    ld = '<script type="application/ld+json">{"@type": "Article", "description": "LD"}</script>'
    assert meta(ld).description == "LD"


# ---------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (m("og:image", "/a.png") + m("twitter:image", "/t.png", "name"), "https://example.com/a.png"),
        (m("og:image:url", "b.png"), "https://example.com/dir/b.png"),
        (m("og:image:secure_url", "https://cdn.example/s.png"), "https://cdn.example/s.png"),
        (m("twitter:image", "//cdn.example/t.png", "name"), "https://cdn.example/t.png"),
        (m("twitter:image:src", "/src.png", "name"), "https://example.com/src.png"),
        ('<link rel="image_src" href="/l.png">', "https://example.com/l.png"),
        (m("og:image", "javascript:alert(1)") + m("twitter:image", "/ok.png", "name"),
         "https://example.com/ok.png"),
        (m("og:image", "data:image/png;base64,AAA"), None),
        (m("og:image", "/a.png?x=1&amp;amp;y=2"), "https://example.com/a.png?x=1&y=2"),
    ],
)  # fmt: skip
def test_image(head: str, expected: str | None) -> None:
    assert meta(head).image == expected


@pytest.mark.parametrize(
    "ld",
    [
        '"image": "/ld.png"',
        '"image": {"@type": "ImageObject", "url": "/ld.png"}',
        '"image": [{"url": "/ld.png"}, "/other.png"]',
        '"image": {"@id": "#img"}}, {"@id": "#img", "@type": "ImageObject", "url": "/ld.png"',
    ],
)
def test_image_from_jsonld(ld: str) -> None:
    script = f'<script type="application/ld+json">[{{"@type": "Article", {ld}}}]</script>'
    assert meta(script).image == "https://example.com/ld.png"


def test_base_href_overrides_base_url() -> None:
    head = '<base href="https://static.example.org/x/">' + m("og:image", "i.png")
    assert meta(head).image == "https://static.example.org/x/i.png"


def test_images_group_structured_properties() -> None:
    head = (
        m("og:image", "/1.png")
        + m("og:image:width", "600")
        + m("og:image:height", "300")
        + m("og:image:type", "image/png")
        + m("og:image", "/2.png")
        + m("og:image:alt", "Second")
        + m("og:image:width", "wide")
    )
    assert meta(head).images == [
        {"url": "https://example.com/1.png", "secure_url": None, "type": "image/png",
         "width": 600, "height": 300, "alt": None},
        {"url": "https://example.com/2.png", "secure_url": None, "type": None,
         "width": "wide", "height": None, "alt": "Second"},
    ]  # fmt: skip


def test_structured_property_before_its_root() -> None:
    head = m("og:image:secure_url", "https://e.com/s.png") + m("og:image", "http://e.com/s.png")
    images = meta(head).images
    assert [(i["url"], i["secure_url"]) for i in images] == [
        ("http://e.com/s.png", "https://e.com/s.png")
    ]


def test_image_url_after_image_is_the_same_image() -> None:
    head = m("og:image", "/a.png") + m("og:image:url", "/a.png") + m("og:image", "/b.png")
    assert len(meta(head).images) == 2


# ---------------------------------------------------------------- og / twitter dicts


def test_og_arrays_in_page_order_and_first_wins() -> None:
    head = (
        m("og:title", "One") + m("og:title", "Two")
        + m("og:image", "a") + m("og:image", "b")
        + m("article:tag", "x") + m("article:tag", "y") + m("article:tag", "z")
        + m("fb:app_id", "1") + m("music:duration", "60") + m("unrelated:thing", "no")
    )  # fmt: skip
    og = meta(head).og
    assert og == {
        "og:title": "One",
        "og:image": ["a", "b"],
        "article:tag": ["x", "y", "z"],
        "fb:app_id": "1",
        "music:duration": "60",
    }


def test_og_includes_name_attribute_and_body_tags() -> None:
    og = meta('<meta name="og:type" content="video">', m("og:url", "/u")).og
    assert og == {"og:type": "video", "og:url": "/u"}


def test_og_includes_declared_namespaces() -> None:
    og = meta(
        m("product:price:amount", "9.99"), html_attrs='prefix="product: http://ogp.me/ns/product#"'
    ).og
    assert og == {"product:price:amount": "9.99"}


def test_twitter_properties() -> None:
    head = (
        m("twitter:card", "summary", "name")
        + m("twitter:site", "@ex")
        + m("twitter:card", "x", "name")
    )
    assert meta(head).twitter == {"twitter:card": "summary", "twitter:site": "@ex"}


def test_repeated_values_are_capped() -> None:
    og = meta("".join(m("og:image", f"/{i}.png") for i in range(1000))).og
    assert len(og["og:image"]) == 100


# ---------------------------------------------------------------- site name, type, canonical


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (m("og:site_name", "OG Site") + m("application-name", "App", "name"), "OG Site"),
        (m("application-name", "App", "name") + m("twitter:site", "@handle", "name"), "App"),
        ('<script type="application/ld+json">{"@type":"NewsArticle","publisher":'
         '{"@type":"Organization","name":"Publisher"}}</script>', "Publisher"),
        (m("publisher", "Meta Publisher", "name"), "Meta Publisher"),
        ("<title>A long story about things | Site Name</title>", "Site Name"),
        ("<title>Plain title without a site</title>", None),
        (m("twitter:site", "@handle", "name"), "handle"),
    ],
)  # fmt: skip
def test_site_name(head: str, expected: str | None) -> None:
    assert meta(head).site_name == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            m("og:url", "/canon") + '<link rel="canonical" href="/link">',
            "https://example.com/canon",
        ),
        ('<link rel="canonical" href="other.html">', "https://example.com/dir/other.html"),
        (m("og:url", "ftp://example.com/x"), None),
        ("", None),
    ],
)
def test_canonical_url(head: str, expected: str | None) -> None:
    assert meta(head).canonical_url == expected


def test_type_and_locale_as_written() -> None:
    md = meta(m("og:type", "article") + m("og:locale", "en_GB"))
    assert (md.type, md.locale) == ("article", "en_GB")


# ---------------------------------------------------------------- lang


@pytest.mark.parametrize(
    ("html_attrs", "head", "content_language", "expected"),
    [
        ('lang="en-us"', m("og:locale", "fr_FR"), "de", "en-US"),
        ("", m("og:locale", "fr_FR"), "de", "fr-FR"),
        ("", "", "de-AT, en", "de-AT"),
        ('xml:lang="zh-hant-tw"', "", None, "zh-Hant-TW"),
        ('lang="not a tag!"', "", None, None),
        ("", '<meta http-equiv="content-language" content="pt-br">', None, "pt-BR"),
    ],
)
def test_lang(
    html_attrs: str, head: str, content_language: str | None, expected: str | None
) -> None:
    html = f"<html {html_attrs}><head>{head}</head><body></body></html>"
    assert extract(html, BASE, content_language=content_language).metadata.lang == expected


# ---------------------------------------------------------------- author


LD_AUTHOR = '<script type="application/ld+json">{}</script>'


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (m("article:author", "Jane Doe") + m("author", "Meta", "name"), "", "Jane Doe"),
        (m("article:author", "https://facebook.com/jane") + m("author", "Meta Author", "name"),
         "", "Meta Author"),
        (LD_AUTHOR.format('{"@type":"Article","author":{"@type":"Person","name":"LD Person"}}'),
         "", "LD Person"),
        (LD_AUTHOR.format('{"@type":"Article","author":[{"name":"First"},{"name":"Second"}]}'),
         "", "First"),
        (LD_AUTHOR.format('{"@graph":[{"@type":"WebPage"},{"@type":"BlogPosting",'
                          '"author":{"@id":"#p"}},{"@id":"#p","@type":"Person","name":"Graph"}]}'),
         "", "Graph"),
        (LD_AUTHOR.format('{"@type":"Article","author":"https://example.com/u/1"}')
         + m("author", "Fallback", "name"), "", "Fallback"),
        ("", '<span class="byline">By Sam Writer</span>', "Sam Writer"),
        ("", '<a rel="author" href="/u/x">Rel Author</a>', "Rel Author"),
        ("", '<div itemprop="author" itemscope><span itemprop="name">Micro Name</span></div>',
         "Micro Name"),
        ("", '<span class="td-author-date"><span class="author-name">Ann Bee -</span> '
             "<span>31.05.2022</span></span>", "Ann Bee"),
        ("", '<div class="author-bio">' + "long text " * 30 + "</div>", None),
    ],
)  # fmt: skip
def test_author(head: str, body: str, expected: str | None) -> None:
    fast, full = both(head, body)
    assert fast.author == full.author == expected


# ---------------------------------------------------------------- published


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        (m("article:published_time", "2021-03-04T05:06:07+02:00"), "", "2021-03-04T05:06:07+02:00"),
        (m("article:published_time", "2021-03-04 05:06:07 -0400"), "", "2021-03-04T05:06:07-04:00"),
        (LD_AUTHOR.format('{"@type":"NewsArticle","datePublished":"2020-01-02T03:04:05Z"}'), "",
         "2020-01-02T03:04:05+00:00"),
        (m("date", "2019-05-06", "name"), "", "2019-05-06"),
        (m("sailthru.date", "Tue, 10 Jun 2003 04:00:00 GMT", "name"), "",
         "2003-06-10T04:00:00+00:00"),
        (m("pubdate", "March 5, 2018", "name"), "", "2018-03-05"),
        (m("article:published_time", "not a date") + m("date", "2019-05-06", "name"), "",
         "2019-05-06"),
        ("", '<time datetime="2018-04-05T06:00" pubdate>April 5</time>', "2018-04-05T06:00:00"),
        ("", '<abbr itemprop="datePublished" title="2024-02-03T20:38:00Z">8pm</abbr>',
         "2024-02-03T20:38:00+00:00"),
        ("", '<p>x</p><time datetime="2017-01-01">then</time>', "2017-01-01"),
        ("", '<span class="post-timestamp">2016-04-08T20:30:39+00:00</span>',
         "2016-04-08T20:30:39+00:00"),
        ("", "", None),
    ],
)  # fmt: skip
def test_published(head: str, body: str, expected: str | None) -> None:
    fast, full = both(head, body)
    assert fast.published == full.published == expected


# ---------------------------------------------------------------- icon


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="icon" href="/i.png"><link rel="apple-touch-icon" href="/a.png">',
         "https://example.com/i.png"),
        ('<link rel="shortcut icon" href="fav.ico">', "https://example.com/dir/fav.ico"),
        ('<link rel="apple-touch-icon" href="/a.png">', "https://example.com/a.png"),
        ('<link rel="ICON" href="//cdn.example/i.svg">', "https://cdn.example/i.svg"),
        ("", "https://example.com/favicon.ico"),
    ],
)  # fmt: skip
def test_icon(head: str, expected: str) -> None:
    assert meta(head).icon == expected


# ---------------------------------------------------------------- JSON-LD


def test_jsonld_objects_and_wrappers() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "A"}</script>'
        '<script type="application/ld+json">[{"@type": "B"}, {"@type": "C"}]</script>'
        '<script type="application/ld+json"><![CDATA[{"@type": "D"}]]></script>'
        '<script type="Application/LD+JSON; charset=utf-8">{"@type": "E"}</script>'
        '<script type="application/ld+json">{not json</script>'
    )
    body = '<script type="application/ld+json">{"@type": "F"}</script>'
    assert [o["@type"] for o in meta(head, body).jsonld] == ["A", "B", "C", "D", "E", "F"]


def test_jsonld_dropped_when_not_wanted() -> None:
    html = '<script type="application/ld+json">{"@type": "A", "author": "X"}</script>'
    md = extract(html, BASE, include_jsonld=False).metadata
    assert (md.jsonld, md.author) == ([], "X")


def test_deep_jsonld_is_cut() -> None:
    deep = '{"a":' * 50_000 + "1" + "}" * 50_000
    shallow = '{"a":' * 100 + "1" + "}" * 100
    html = "".join(f'<script type="application/ld+json">{j}</script>' for j in (deep, shallow))
    jsonld = meta(html).jsonld
    depth, node = 0, jsonld[0]
    while isinstance(node, dict):
        node, depth = node["a"], depth + 1
    assert depth < 30


# ---------------------------------------------------------------- the fast path


def test_fast_path_ignores_tags_in_comments_and_scripts() -> None:
    body = (
        "<!-- " + m("og:description", "commented") + " -->"
        '<script>var s = \'<meta property="og:description" content="in js">\';</script>'
        + m("og:description", "real")
    )
    fast, full = both("", body)
    assert fast.description == full.description == "real"


def test_pages_without_head_end() -> None:
    html = "<title>No end</title>" + m("og:image", "/x.png") + "<p>text"
    assert extract(html, BASE).metadata.image == "https://example.com/x.png"


def test_head_end_inside_a_script() -> None:
    head = '<script>document.write("</head>")</script>' + m("og:title", "Still")
    assert both(head) == (meta(head), meta(head)) and meta(head).title == "Still"


def test_extract_bytes_decodes() -> None:
    html = '<html><head><meta charset="shift_jis"><title>日本語</title></head></html>'
    assert extract_bytes(html.encode("cp932"), BASE).metadata.title == "日本語"


def test_extract_bytes_header_charset() -> None:
    body = "<title>Grüße</title>".encode("cp1252")
    assert extract_bytes(body, BASE, header_charset="latin1").metadata.title == "Grüße"


def test_xml_declaration_in_a_str() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?><html><head><title>X</title></head></html>'
    assert extract(html, BASE).metadata.title == "X"


@pytest.mark.parametrize(
    "html",
    ["", "   ", "\x00\x01", "<", "<html", "<!--", "<script>", "<<<>>>", "<div>" * 100_000],
)
def test_degenerate_input(html: str) -> None:
    result = extract(html, BASE)
    assert isinstance(result, Extraction)
    assert set(result.metadata.as_fields()) == set(METADATA_KEYS)


def test_result_is_json_friendly() -> None:
    import json

    fields: dict[str, Any] = meta(m("og:title", "T"), m("og:image", "/i.png")).as_fields()
    assert json.loads(json.dumps(fields))["title"] == "T"


# ---------------------------------------------------------------- the scan, bytes and encodings


def test_upper_case_tags_are_found_without_lower_casing_the_page() -> None:
    head = (
        '<META PROPERTY="og:title" CONTENT="Upper">'
        '<SCRIPT>var s = \'<meta property="og:description" content="in js">\';</SCRIPT >'
        '<Link Rel="ICON" HREF="/i.png">'
    )
    body = '<TIME DATETIME="2017-01-01">then</TIME><SPAN CLASS="BYLINE">By Sam Upper</SPAN>'
    fast, full = both(head, body)
    assert fast == full
    assert (fast.title, fast.description, fast.icon) == ("Upper", None, "https://example.com/i.png")
    assert (fast.published, fast.author) == ("2017-01-01", "Sam Upper")


def test_an_unterminated_quote_reads_as_a_browser_reads_it() -> None:
    # the value runs on to the next quote: the second tag is part of it, not a tag
    head = '<meta name="x" content="unterminated>' + m("og:title", "Next") + "<title>T</title>"
    md = meta(head)
    assert (md.title, md.og) == ("T", {})


def test_the_first_bylines_in_page_order_are_kept() -> None:
    body = "".join(
        f'<p class="byline">Writer {i}</p><div class="author-x">A{i}</div>' for i in range(40)
    )
    fast, full = both("", body)
    assert fast.author == full.author == "Writer 0"


def test_big_scripts_in_the_body_hide_no_byline() -> None:
    script = "<script>var author = '" + "x" * 5000 + "';</script>"
    body = script + '<span class="byline">By Kept Author</span>' + script
    assert meta("", body).author == "Kept Author"


def test_jsonld_that_json_rejects_is_read_leniently() -> None:
    head = (
        '<script type="application/ld+json">\n// a comment line\n'
        '{"@type": "Article", "author": {"name": "Commented"}}</script>'
    )
    md = meta(head)
    assert ([o["@type"] for o in md.jsonld], md.author) == (["Article"], "Commented")


def test_page_declared_utf8_with_legacy_bytes_is_decoded_carefully() -> None:
    html = '<html><head><meta charset="utf-8"><title>Grüße aus Köln</title></head></html>'
    body = html.encode("cp1252") + "<p>Ceci est une très belle journée</p>".encode("cp1252") * 30
    assert extract_bytes(body, BASE).metadata.title == "Grüße aus Köln"


def test_page_declared_legacy_with_utf8_bytes_is_utf8() -> None:
    html = '<html><head><meta charset="iso-8859-1"><title>Grüße</title></head><body>ß</body></html>'
    assert extract_bytes(html.encode("utf-8"), BASE).metadata.title == "Grüße"


def test_legacy_page_with_an_ascii_head_reads_the_same() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Plain title</title></head>'
        "<body><p>caf\xe9</p><span class='byline'>By Ren\xe9e</span></body></html>"
    )
    md = extract_bytes(html.encode("cp1252"), BASE).metadata
    assert (md.title, md.author) == ("Plain title", "Renée")


@pytest.mark.parametrize(
    ("charset", "codec", "title"),
    [
        ("windows-1251", "cp1251", "Новости дня — Пикабу"),
        ("koi8-r", "koi8_r", "Новости дня"),
        ("shift_jis", "cp932", "日本語のページ「表示」"),
        ("euc-jp", "euc_jp", "楽天市場 ショッピング"),
        ("gb2312", "gb18030", "天猫 理想生活上天猫"),
        ("big5", "big5hkscs", "繁體中文網頁"),
        ("euc-kr", "cp949", "한국어 페이지"),
    ],
)
def test_legacy_pages_read_from_their_raw_bytes_as_a_full_decode(
    charset: str, codec: str, title: str
) -> None:
    """A declared legacy page reads as its decoded text reads."""
    html = (
        f'<html><head><meta charset="{charset}"><title>{title}</title>'
        f'<meta property="og:description" content="{title} &amp; more">'
        f'<meta name="author" content="{title.split()[0]}"></head>'
        f"<body><p>{title * 20}</p><script type='application/ld+json'>"
        f'{{"@type": "Article", "headline": "{title}"}}</script></body></html>'
    )
    body = html.encode(codec)
    fast = extract_bytes(body, BASE).metadata
    assert fast == extract(html, BASE).metadata
    assert (fast.title, fast.author, fast.jsonld[0]["headline"]) == (
        title,
        title.split()[0],
        title,
    )


def test_legacy_declaration_over_utf8_bytes_in_the_kept_parts_is_utf8() -> None:
    html = '<html><head><meta charset="shift_jis"><title>Grüße 日本</title></head></html>'
    assert extract_bytes(html.encode("utf-8"), BASE).metadata.title == "Grüße 日本"


def test_a_declaration_the_bytes_do_not_fit_is_checked_on_the_whole_page() -> None:
    # declared EUC-JP, written in a single-byte code page: the declaration decodes badly, so
    # the page is decoded as decode_html decodes it (detection on all of it)
    text = "Ceci est très joli, à bientôt, déjà vu, où êtes-vous"
    html = f'<html><head><meta charset="euc-jp"><title>{text}</title></head><body>'
    body = (html + f"<p>{text}</p>" * 40 + "</body></html>").encode("cp1252")
    whole, encoding = decode_html(body)
    assert encoding != "euc-jp"
    assert extract_bytes(body, BASE).metadata == extract(whole, BASE).metadata


def test_undeclared_legacy_page_is_detected() -> None:
    html = "<html><head><title>Ceci est très joli, à bientôt</title></head></html>"
    body = html.encode("cp1252") + "<p>une très belle journée</p>".encode("cp1252") * 30
    assert extract_bytes(body, BASE).metadata.title == "Ceci est très joli, à bientôt"
