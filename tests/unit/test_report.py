"""The HTML report: escaping, URL filtering, share badges, error cards, totals, CSP."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

from og_preview.present import report as report_mod
from og_preview.present.report import (
    ReportCounts,
    render_card,
    render_report,
    safe_url,
    write_report,
)
from og_preview.present.report_assets import CSP, SCRIPT, STYLE, csp_hash
from og_preview.present.report_checks import share_issues
from og_preview.record import ErrorInfo, ErrorKind, Preview, Status

GOOD_OG: dict[str, Any] = {
    "og:title": "Tides of the North Sea",
    "og:type": "article",
    "og:image": "https://example.com/tides.png",
    "og:url": "https://example.com/tides",
    "og:description": "Why the water rises twice a day.",
}
GOOD_IMAGES = [{"url": "https://example.com/tides.png", "width": 1200, "height": 630, "alt": "Sea"}]


def page(**changes: Any) -> Preview:
    values: dict[str, Any] = {
        "url": "https://example.com/tides",
        "final_url": "https://example.com/tides",
        "status": Status.PROCESSED,
        "http_status": 200,
        "content_type": "text/html; charset=utf-8",
        "title": "Tides of the North Sea",
        "description": "Why the water rises twice a day.",
        "image": "https://example.com/tides.png",
        "images": GOOD_IMAGES,
        "site_name": "Harbour Journal",
        "type": "article",
        "published": "2026-10-14T08:30:00+01:00",
        "icon": "https://example.com/favicon.ico",
        "og": dict(GOOD_OG),
        "fetched_at": "2026-11-01T10:00:00Z",
    }
    values.update(changes)
    return Preview(**values)


def failed(url: str, kind: ErrorKind, message: str, http_status: int | None = None) -> Preview:
    return Preview(
        url=url,
        status=Status.ERROR,
        http_status=http_status,
        error=ErrorInfo(kind=kind, message=message, http_status=http_status),
        attempts=4,
        fetched_at="2026-11-01T10:00:00Z",
    )


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <script>/<style>/<title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": [], "title": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.raw[self._in][-1] += data


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


EVIL = "<script>alert(1)</script>"
ATTR_BREAK = '" onmouseover="alert(1)" x="'


def evil_page() -> Preview:
    return page(
        url="https://evil.test/",
        final_url="javascript:alert(1)",
        title=EVIL,
        description='<img src=x onerror="alert(1)"><b id="injected">bold</b>',
        image="javascript:alert(1)",
        images=[{"url": "javascript:alert(1)", "alt": ATTR_BREAK}],
        site_name=ATTR_BREAK,
        type="<i>article</i>",
        published='2026"><script>alert(2)</script>',
        author="</article><script>alert(3)</script>",
        icon="data:image/svg+xml,<svg onload=alert(1)>",
        lang='en" onclick="alert(1)',
        og={"og:title": EVIL, "og:image": "javascript:alert(1)"},
    )


# --- safety --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com/a.png", "https://example.com/a.png"),
        ("  http://example.com/a.png?x=1&y=2 ", "http://example.com/a.png?x=1&y=2"),
        ("HTTPS://EXAMPLE.COM/", "HTTPS://EXAMPLE.COM/"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("data:image/png;base64,AAAA", None),
        ("vbscript:msgbox(1)", None),
        ("file:///etc/passwd", None),
        ("//example.com/a.png", None),
        ("/img/a.png", None),
        ("a.png", None),
        ("http:alert(1)", None),
        ("https://example.com/a b.png", "https://example.com/a%20b.png"),
        ("https://example.com/\tx", None),
        ("https://example.com/\nx", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
        (42, None),
        ("https://example.com/" + "a" * 5000, None),
    ],
)
def test_safe_url_allows_only_absolute_http_urls(value: object, expected: str | None) -> None:
    assert safe_url(value) == expected


def test_untrusted_values_are_escaped_everywhere() -> None:
    html = render_report([evil_page()])
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<b id="injected">' not in html
    assert "</article><script>" not in html
    assert ATTR_BREAK not in html
    tags = parse(html)
    assert len(tags.raw["script"]) == 1 and tags.raw["script"][0] == SCRIPT
    assert not [attrs for _tag, attrs in tags.tags if attrs.get("id") == "injected"]
    # the injected lang never becomes an attribute; only ours exist
    for _tag, attrs in tags.tags:
        assert "onclick" not in attrs and "onmouseover" not in attrs


def test_no_event_handlers_styles_or_unsafe_urls_in_any_tag() -> None:
    html = render_report([evil_page(), page(), failed("javascript:x", ErrorKind.INVALID_URL, EVIL)])
    for tag, attrs in parse(html).tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("src", "href"):
                assert value is not None and re.match(r"^https?://", value), (tag, name, value)


def test_javascript_image_and_link_are_dropped_with_a_placeholder() -> None:
    card, _ = render_card(evil_page())
    for _tag, attrs in parse(card).tags:
        assert "javascript:" not in (attrs.get("href") or "") + (attrs.get("src") or "")
    assert "data:" not in card
    assert "<img" not in card  # neither the og:image nor the data: icon
    assert 'class="ph"' in card
    # the page's own URL is still linked, not the javascript: final_url
    assert 'href="https://evil.test/"' in card


def test_attribute_values_are_quoted_escaped() -> None:
    url = 'https://example.com/a.png?q="x"&r=<y>'
    card, _ = render_card(page(image=url, images=[{"url": url, "alt": ATTR_BREAK}]))
    assert 'src="https://example.com/a.png?q=&quot;x&quot;&amp;r=&lt;y&gt;"' in card
    assert 'alt="&quot; onmouseover=&quot;alert(1)&quot; x=&quot;"' in card


def test_images_are_lazy_and_send_no_referrer() -> None:
    card, _ = render_card(page())
    images = [attrs for tag, attrs in parse(card).tags if tag == "img"]
    assert len(images) == 2  # og:image and the site icon
    for attrs in images:
        assert attrs["loading"] == "lazy"
        assert attrs["referrerpolicy"] == "no-referrer"


def test_csp_allows_exactly_the_inline_script_and_style() -> None:
    html = render_report([page()])
    tags = parse(html)
    metas = [a for t, a in tags.tags if t == "meta" and a.get("http-equiv")]
    assert [m["http-equiv"] for m in metas] == ["Content-Security-Policy"]
    policy = unescape(metas[0]["content"] or "")
    assert policy == CSP
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "http: https:"
    assert directives["script-src"] == csp_hash(tags.raw["script"][0])
    assert directives["style-src"] == csp_hash(tags.raw["style"][0])
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # the CSP comes before anything it governs
    assert html.index("Content-Security-Policy") < html.index("<style>") < html.index("<script>")
    assert tags.raw["style"][0] == STYLE


def test_csp_hash_is_base64_sha256() -> None:
    # echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
    assert csp_hash("alert(1)") == "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"


def test_the_page_loads_nothing_external() -> None:
    html = render_report([page()])
    tags = parse(html)
    assert not [a for t, a in tags.tags if t in ("script", "link") and ("src" in a or "href" in a)]
    assert "@import" not in STYLE and "url(" not in STYLE


# --- cards -----------------------------------------------------------------------------


def test_processed_card_shows_the_preview() -> None:
    card, issues = render_card(page())
    assert issues == 0
    assert "Tides of the North Sea" in card
    assert 'class="desc">Why the water rises twice a day.' in card
    assert "Harbour Journal" in card and "example.com" in card
    assert '<span class="type">article</span>' in card
    assert '<time datetime="2026-10-14T08:30:00+01:00">2026-10-14</time>' in card
    assert 'alt="Sea"' in card
    assert "ready to share" in card
    assert 'data-status="processed" data-issues="0"' in card


def test_missing_image_gets_a_placeholder_initial() -> None:
    card, _ = render_card(
        page(image=None, images=[], site_name=None, url="https://zebra.test/", final_url=None)
    )
    assert '<span class="ph" aria-hidden="true">z</span>' in card
    assert "<img" in card  # the icon is still there
    assert card.count("<img") == 1


def test_long_text_is_clipped_in_the_page() -> None:
    card, _ = render_card(page(description="word " * 1000))
    assert len(card) < 3000
    assert "…" in card


def test_error_card_is_compact_with_kind_and_message() -> None:
    card, issues = render_card(failed("https://gone.test/x", ErrorKind.HTTP, "HTTP 404", 404))
    assert issues == 0
    assert 'class="card error" data-status="error"' in card
    assert "<b>http</b>" in card and "HTTP 404" in card and "4 attempts" in card
    assert 'href="https://gone.test/x"' in card
    assert "<img" not in card


def test_error_card_of_an_invalid_url_is_not_linked() -> None:
    card, _ = render_card(failed("javascript:alert(1)", ErrorKind.INVALID_URL, "not http(s)"))
    assert "href" not in card
    assert "javascript:alert(1)" in card  # shown as text
    assert "<b>invalid_url</b>" in card


def test_pending_row_gets_a_card() -> None:
    card, _ = render_card(Preview(url="https://wait.test/", status=Status.PENDING))
    assert 'data-status="pending"' in card and "not fetched yet" in card


def test_valid_lang_is_set_on_the_card() -> None:
    assert ' lang="ja"' in render_card(page(lang="ja"))[0]
    assert "lang=" not in render_card(page(lang='en" x="1'))[0]


# --- share badges ----------------------------------------------------------------------


def texts(preview: Preview) -> list[str]:
    return [text for _kind, text in share_issues(preview)]


def test_a_complete_page_is_ready_to_share() -> None:
    assert share_issues(page()) == []


@pytest.mark.parametrize("key", ["og:title", "og:type", "og:image", "og:url"])
def test_missing_required_property_is_a_miss_badge(key: str) -> None:
    og = {k: v for k, v in GOOD_OG.items() if k != key}
    assert ("miss", f"no {key}") in share_issues(page(og=og))


def test_no_og_at_all() -> None:
    assert texts(page(og={})) == [
        "no og:title",
        "no og:type",
        "no og:image",
        "no og:url",
        "no og:description",
    ]


def test_missing_description_is_a_warning() -> None:
    og = {k: v for k, v in GOOD_OG.items() if k != "og:description"}
    assert share_issues(page(og=og)) == [("warn", "no og:description")]


def test_og_image_url_or_secure_url_counts_as_og_image() -> None:
    og = {k: v for k, v in GOOD_OG.items() if k != "og:image"}
    og["og:image:secure_url"] = "https://example.com/tides.png"
    assert share_issues(page(og=og)) == []


def test_image_without_size() -> None:
    images = [{"url": "https://example.com/tides.png", "width": 1200, "height": None}]
    assert texts(page(images=images)) == ["og:image without width/height"]


def test_relative_and_plain_http_images() -> None:
    og = {**GOOD_OG, "og:image": ["/img/tides.png", "https://example.com/other.png"]}
    got = texts(page(og=og, image="http://example.com/img/tides.png"))
    assert got == ["relative og:image URL", "image not https"]


def test_non_http_image_url_is_a_miss() -> None:
    og = {**GOOD_OG, "og:image": "javascript:alert(1)"}
    assert ("miss", "image URL not http(s)") in share_issues(page(og=og, image=None))


def test_lengths_are_shown_not_enforced() -> None:
    og = {**GOOD_OG, "og:title": "t" * 71, "og:description": "d" * 201}
    assert texts(page(og=og)) == ["title 71 chars (over 70)", "description 201 chars (over 200)"]
    og = {**GOOD_OG, "og:title": "t" * 70, "og:description": "d" * 200}
    assert texts(page(og=og)) == []


def test_badges_appear_on_the_card() -> None:
    card, issues = render_card(page(og={}))
    assert issues == 5
    assert '<li class="miss">no og:image</li>' in card
    assert '<li class="warn">no og:description</li>' in card
    assert "ready to share" not in card


def test_an_image_url_is_not_checked_as_a_page() -> None:
    png = page(content_type="image/png", og={}, type="image", title="tides.png")
    card, issues = render_card(png)
    assert issues == 0
    assert "image/png, not a page" in card and "no og:title" not in card


# --- the page --------------------------------------------------------------------------


def mixed() -> list[Preview]:
    return [
        page(),
        page(url="https://example.com/2", og={}),
        failed("https://a.test/", ErrorKind.HTTP, "HTTP 404", 404),
        failed("https://b.test/", ErrorKind.HTTP, "HTTP 500", 500),
        failed("https://c.test/", ErrorKind.DNS, "no such host"),
    ]


def test_totals_by_status_and_error_kind() -> None:
    html = render_report(mixed())
    assert '<li class="t-total"><b>5</b> URLs</li>' in html
    assert '<li class="t-processed"><b>2</b> processed</li>' in html
    assert '<li class="t-error"><b>3</b> errors</li>' in html
    assert '<li class="t-kind">http <b>2</b></li>' in html
    assert '<li class="t-kind">dns <b>1</b></li>' in html
    assert '<li class="t-ready"><b>1</b> ready to share</li>' in html
    assert '<li class="t-issues"><b>1</b> with issues</li>' in html
    assert html.count("<article ") == 5


def test_filter_buttons_and_search_box() -> None:
    html = render_report(mixed())
    buttons = [a for t, a in parse(html).tags if t == "button"]
    assert [b["data-filter"] for b in buttons] == ["all", "processed", "errors", "issues"]
    assert [b["aria-pressed"] for b in buttons] == ["true", "false", "false", "false"]
    assert '<input id="q" type="search"' in html


def test_counts_and_summary() -> None:
    counts = write_report(iter(mixed()), io.StringIO())
    assert counts.total == 5
    assert counts.by_status == {"processed": 2, "error": 3}
    assert counts.by_error_kind == {"http": 2, "dns": 1}
    assert (counts.ready, counts.with_issues) == (1, 1)
    assert counts.summary() == "5 cards (2 processed, 3 errors: http 2, dns 1; 1 with issues)"
    assert ReportCounts().summary() == "0 cards (0 processed)"


def test_empty_report() -> None:
    html = render_report([])
    assert "No previews match." in html
    assert "<article" not in html
    assert '<li class="t-total"><b>0</b> URLs</li>' in html


def test_title_and_subtitle_are_escaped() -> None:
    html = render_report([], title="<b>Mine</b>", subtitle="from <db>")
    assert "<title>&lt;b&gt;Mine&lt;/b&gt;</title>" in html
    assert "from &lt;db&gt;" in html


def test_rows_are_streamed_through_a_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the spool size, cards go to a temporary file; the page is the same."""
    rows = [page(url=f"https://example.com/{i}", title=f"Card {i} ✓") for i in range(300)]
    expected = render_report(rows)
    monkeypatch.setattr(report_mod, "SPOOL_BYTES", 1000)
    consumed: list[int] = []

    def stream() -> Iterator[Preview]:
        for i, row in enumerate(rows):
            consumed.append(i)
            yield row

    assert render_report(stream()) == expected
    assert len(consumed) == 300
    assert expected.index("Card 0 ✓") < expected.index("Card 299 ✓")
