"""The worker pipes' reader: whole messages out of whatever the pipe holds."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from og_preview.record import ErrorInfo, ErrorKind, Preview, Status, error_preview
from og_preview.shards import _Frames, from_wire, to_wire


def test_messages_come_out_whole_and_in_order() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    frames = _Frames(reader)
    assert frames.read() == []  # nothing yet: no blocking
    big = "x" * 300_000  # bigger than the pipe's buffer: written while being read
    huge = b"y" * 3_000_000  # bigger than one read
    sent = [[(1, "a")], {"big": big}, None, huge, [(2, "b" * 20_000)]]

    def send_all() -> None:
        for message in sent:
            writer.send(message)

    thread = threading.Thread(target=send_all)
    thread.start()
    got: list[object] = []
    while len(got) < len(sent):
        got += frames.read() or []
    thread.join()
    assert got == sent
    writer.close()
    assert frames.read() is None  # the writer is gone and everything was read


def test_a_frame_cut_anywhere_waits_for_its_end() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    frames = _Frames(reader)
    probe_r, probe_w = multiprocessing.Pipe(duplex=False)
    probe_w.send(["hello", 42])
    raw = os.read(probe_r.fileno(), 1 << 16)
    for cut in range(1, len(raw)):
        os.write(writer.fileno(), raw[:cut])
        assert frames.read() == []
        os.write(writer.fileno(), raw[cut:])
        assert frames.read() == [["hello", 42]]


@pytest.mark.parametrize(
    "record",
    [
        Preview(
            url="https://a.example/",
            final_url="https://a.example/x",
            status=Status.PROCESSED,
            http_status=200,
            title="Café",
            images=[{"url": "https://a.example/i.png", "width": 10, "alt": None}],
            og={"og:title": "Café", "og:image": ["1", "2"]},
            jsonld=[{"@type": "Article", "n": 2.5, "deep": [{"x": [1, None, True]}]}],
            attempts=1,
            fetched_at="2026-01-01T00:00:00Z",
        ),
        error_preview("https://b.example/", ErrorKind.HTTP, "HTTP 404", http_status=404),
        Preview(url="https://c.example/", status=Status.PROCESSED, title="a\ud800b"),
        Preview(url="https://d.example/", status=Status.PROCESSED, jsonld=[{"n": 2**80}]),
    ],
    ids=["processed", "error", "lone-surrogate", "big-integer"],
)
def test_records_cross_the_wire_unchanged(record: Preview) -> None:
    back = from_wire(to_wire(record))
    assert back == record
    assert type(back.status) is Status
    assert back.error is None or type(back.error) is ErrorInfo


def test_the_wire_is_json_when_it_can_be() -> None:
    assert to_wire(Preview(url="https://a.example/", status=Status.PROCESSED)).startswith(b"{")
