from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.site import Site

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("OG_PREVIEW_CORPUS", ROOT.parent / "shared" / "corpus"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's cache: every test gets its own cache file."""
    db = tmp_path / "cache.db"
    monkeypatch.setenv("OG_PREVIEW_DB", str(db))
    monkeypatch.setenv("NO_COLOR", "1")
    return db


@pytest.fixture
def db_path(_isolated_cache: Path) -> Path:
    return _isolated_cache


@pytest.fixture(scope="session")
def _site_server() -> Iterator[Site]:
    site = Site().start()
    yield site
    site.stop()


@pytest.fixture
def site(_site_server: Site) -> Iterator[Site]:
    """A real aiohttp server on 127.0.0.1 (shared per session, reset per test)."""
    _site_server.routes.clear()
    _site_server.hits.clear()
    _site_server.requests.clear()
    _site_server.max_in_flight = 0
    yield _site_server


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS / "INDEX.json").exists():
        pytest.skip("the shared corpus is not present on this machine")
    return CORPUS
