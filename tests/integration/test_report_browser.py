"""The report in a real browser: headless Chromium loads the file from disk, runs the
page's script, and we read back the DOM it ends with (`--dump-dom`).

Checks that the CSP lets exactly our script run (it marks `<html data-ready>`),
that filters given in the URL hash hide and show cards, that broken images are
flagged by the delegated `error` listener, and that nothing from the data runs.
Skipped when Chromium is not installed (Debian: `apt-get install -y chromium`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from og_preview.present.report import write_report
from og_preview.record import ErrorInfo, ErrorKind, Preview, Status
from og_preview.store.cache import Cache, Query
from tests.site import Site

ROOT = Path(__file__).resolve().parents[2]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]

# the data tries to run script three ways; any success would show in the DOM
PWN_TITLE = (
    "<script>document.title='pwned'</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
)
PWN_IMAGE = "javascript:document.body.setAttribute('data-pwned','2')"
PWN_SITE = "\"><script>document.body.setAttribute('data-pwned','3')</script>"
VIEWS = {
    "all": "",
    "errors": "#filter=errors",
    "processed": "#filter=processed&q=harbour",
}


class Dom(HTMLParser):
    """What we read back from a dumped DOM."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html_attrs: dict[str, str | None] = {}
        self.body_attrs: dict[str, str | None] = {}
        self.cards: list[dict[str, str | None]] = []  # attributes, plus "url": the card's URL
        self.images: dict[str, dict[str, str | None]] = {}
        self.scripts = 0
        self.ids: set[str] = set()
        self.pressed: list[str] = []
        self.text = {"title": "", "shown": "", "url": ""}
        self._into: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        if tag == "html":
            self.html_attrs = attrs
        elif tag == "body":
            self.body_attrs = attrs
        elif tag == "article":
            self.cards.append(attrs)
        elif tag == "img" and attrs.get("src"):
            self.images[str(attrs["src"])] = attrs
        elif tag == "script":
            self.scripts += 1
        elif tag == "button" and attrs.get("aria-pressed") == "true":
            self.pressed.append(str(attrs.get("data-filter")))
        if attrs.get("id"):
            self.ids.add(str(attrs["id"]))
        self._into = (
            "title"
            if tag == "title"
            else "shown"
            if attrs.get("id") == "shown"
            else "url"
            if attrs.get("class") == "url"
            else None
        )

    def handle_endtag(self, tag: str) -> None:
        if self._into == "url" and self.cards:
            self.cards[-1]["url"] = self.text["url"]
            self.text["url"] = ""
        self._into = None

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self.text[self._into] += data

    @property
    def title(self) -> str:
        return self.text["title"]

    @property
    def shown(self) -> str:
        return self.text["shown"]

    def visible(self) -> list[str]:
        return [str(card.get("url")) for card in self.cards if "hidden" not in card]


def pages(site: Site) -> list[Preview]:
    good_og = {
        "og:title": "Harbour tides",
        "og:type": "article",
        "og:image": site.url("/tides.png"),
        "og:url": site.url("/a-good"),
        "og:description": "Twice a day.",
    }
    return [
        Preview(
            url=site.url("/a-good"),
            status=Status.PROCESSED,
            content_type="text/html",
            title="Harbour tides",
            description="Twice a day.",
            image=site.url("/tides.png"),
            images=[{"url": site.url("/tides.png"), "width": 120, "height": 63}],
            site_name="Harbour Journal",
            icon=site.url("/no-icon.png"),
            og=good_og,
        ),
        Preview(
            url=site.url("/b-broken-image"),
            status=Status.PROCESSED,
            content_type="text/html",
            title="Broken image page",
            image=site.url("/missing.png"),
            og={"og:title": "Broken image page", "og:image": site.url("/missing.png")},
        ),
        Preview(
            url=site.url("/c-evil"),
            status=Status.PROCESSED,
            content_type="text/html",
            title=PWN_TITLE,
            description='<b id="injected">bold</b>',
            image=PWN_IMAGE,
            site_name=PWN_SITE,
            og={"og:title": PWN_TITLE, "og:image": PWN_IMAGE},
        ),
        Preview(
            url=site.url("/d-gone"),
            status=Status.ERROR,
            error=ErrorInfo(kind=ErrorKind.HTTP, message="HTTP 404", http_status=404),
        ),
        Preview(
            url="https://e-nowhere.invalid/",
            status=Status.ERROR,
            error=ErrorInfo(kind=ErrorKind.DNS, message="no such host"),
        ),
    ]


def chromium(profile: Path, *args: str) -> subprocess.Popen[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=2000",
        *args,
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@dataclass
class Run:
    site: Site
    page: Path
    screenshot: Path
    doms: dict[str, Dom]


@pytest.fixture(scope="module")
def run(_site_server: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Build the report once and load every view of it in parallel browsers."""
    site = _site_server
    site.routes.clear()
    tmp = tmp_path_factory.mktemp("report-browser")
    site.page("/tides.png", (ROOT / "demo" / "site" / "tides.png").read_bytes(), 200, "image/png")
    with Cache(tmp / "cache.db") as cache:
        cache.save_many(pages(site))
        page = tmp / "report.html"
        with page.open("w", encoding="utf-8") as out:
            write_report(cache.query(Query(order="url")), out)
    screenshot = tmp / "report.png"
    procs: dict[str, subprocess.Popen[str]] = {
        name: chromium(tmp / f"profile-{name}", "--dump-dom", page.as_uri() + suffix)
        for name, suffix in VIEWS.items()
    }
    shot = chromium(
        tmp / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,900", page.as_uri()
    )
    doms: dict[str, Dom] = {}
    try:
        for name, proc in procs.items():
            dumped, _ = proc.communicate(timeout=60)
            doms[name] = Dom(dumped)
        shot.communicate(timeout=60)
    finally:
        for proc in (*procs.values(), shot):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    yield Run(site=site, page=page, screenshot=screenshot, doms=doms)


def urls(run: Run, *paths: str) -> list[str]:
    return [p if "://" in p else run.site.url(p) for p in paths]


ALL = ("/a-good", "/b-broken-image", "/c-evil", "/d-gone", "https://e-nowhere.invalid/")


def test_the_page_script_runs_under_its_csp(run: Run) -> None:
    dom = run.doms["all"]
    assert dom.html_attrs.get("data-ready") == "1"  # only set by our (hash-allowed) script
    assert dom.shown == "5 cards"
    assert dom.pressed == ["all"]
    assert dom.visible() == urls(run, *ALL)


def test_nothing_from_the_data_runs(run: Run) -> None:
    for dom in run.doms.values():
        assert dom.title == "Link previews"
        assert "data-pwned" not in dom.body_attrs
        assert dom.scripts == 1
        assert "injected" not in dom.ids
        assert not [src for src in dom.images if not src.startswith("http://127.0.0.1:")]
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in run.page.read_text()


def test_filter_from_the_hash_errors(run: Run) -> None:
    dom = run.doms["errors"]
    assert dom.pressed == ["errors"]
    assert dom.body_attrs.get("data-filter") == "errors"
    assert dom.visible() == urls(run, "/d-gone", "https://e-nowhere.invalid/")
    assert dom.shown == "showing 2 of 5"


def test_filter_and_search_from_the_hash(run: Run) -> None:
    dom = run.doms["processed"]
    assert dom.pressed == ["processed"]
    assert dom.visible() == urls(run, "/a-good")
    assert dom.shown == "showing 1 of 5"


def test_broken_images_fall_back_to_the_placeholder(run: Run) -> None:
    images = run.doms["all"].images
    good, missing, icon = (run.site.url(p) for p in ("/tides.png", "/missing.png", "/no-icon.png"))
    assert "broken" not in (images[good].get("class") or "")
    assert images[missing].get("class") == "broken"
    assert images[icon].get("class") == "broken"


def test_screenshot(run: Run) -> None:
    data: Any = run.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
