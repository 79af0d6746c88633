"""The worker pipes' reader: whole messages out of whatever the pipe holds."""

from __future__ import annotations

import multiprocessing
import os
import threading

from og_preview.shards import _Frames


def test_messages_come_out_whole_and_in_order() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    frames = _Frames(reader)
    assert frames.read() == []  # nothing yet: no blocking
    big = "x" * 300_000  # bigger than the pipe's buffer: written while being read
    sent = [[(1, "a")], {"big": big}, None, [(2, "b" * 20_000)]]

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
