"""Failures told on stderr: the first ten, a count of the rest, and an offline hint."""

from __future__ import annotations

from og_preview.cli.notes import OFFLINE, FailureNotes
from og_preview.record import ErrorKind, Preview, Status, error_preview


class Said:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(text)


def _notes(every: bool = False) -> tuple[FailureNotes, Said]:
    said = Said()
    return FailureNotes(said, every=every), said  # type: ignore[arg-type]


def _dns(i: int) -> Preview:
    return error_preview(f"https://h{i}.example/", ErrorKind.DNS, f"h{i}.example: no such host")


def test_the_first_ten_failures_then_a_count() -> None:
    notes, said = _notes()
    for i in range(13):
        notes.add(error_preview(f"https://a.example/{i}", ErrorKind.HTTP, "HTTP 404"))
    notes.add(Preview(url="https://a.example/ok", status=Status.PROCESSED))
    notes.close()
    assert len(said.lines) == 11
    assert said.lines[0] == "og-preview: https://a.example/0: http: HTTP 404"
    assert "3 more failed URLs" in said.lines[-1]


def test_failed_lookups_before_anything_was_fetched_look_offline() -> None:
    notes, said = _notes()
    for i in range(7):
        notes.add(_dns(i))
    notes.close()
    assert said.lines.count(OFFLINE) == 1 and said.lines.index(OFFLINE) == 5


def test_a_typo_is_not_an_offline_machine() -> None:
    notes, said = _notes()
    notes.add(Preview(url="https://ok.example/", status=Status.PROCESSED))
    for i in range(7):
        notes.add(_dns(i))
    notes.close()
    assert OFFLINE not in said.lines
    notes, said = _notes()
    notes.add(_dns(1))  # `og-preview fetch https://exmaple.con/`
    notes.close()
    assert said.lines == ["og-preview: https://h1.example/: dns: h1.example: no such host"]


def test_a_blocked_private_address_says_how_to_allow_it() -> None:
    notes, said = _notes()
    notes.add(
        error_preview("http://127.0.0.1/", ErrorKind.BLOCKED, "127.0.0.1 is a loopback address")
    )
    assert said.lines == [
        "og-preview: http://127.0.0.1/: blocked: 127.0.0.1 is a loopback address "
        "(--allow-private fetches it)"
    ]
