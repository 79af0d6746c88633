"""The `hostile` fixture: the fault-injection server of tests/hostile.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile import Hostile


@pytest.fixture(scope="session")
def _hostile_server() -> Iterator[Hostile]:
    server = Hostile().start()
    yield server
    server.stop()


@pytest.fixture
def hostile(_hostile_server: Hostile) -> Iterator[Hostile]:
    """Hostile servers on 127.0.0.1 (shared per session; the request log reset per test)."""
    _hostile_server.reset()
    yield _hostile_server
