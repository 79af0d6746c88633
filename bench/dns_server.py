"""A DNS server with added latency for the DNS benchmark, run in its own process.

    python bench/dns_server.py [--port 53] [--delay 0.05] [--zone bench.test]

Answers UDP queries on 127.0.0.1 (dnslib packs the records): an A record
`--address` (127.0.0.1) for every name under `--zone`, an empty answer for the
other types of those names (the AAAA half of a dual-stack lookup), NXDOMAIN for
everything else; each answer leaves `--delay` seconds after its query arrived
(a timer on one event loop, so any number are in flight at once). When it is
listening it prints `READY <port>` on stdout; it serves until stdin closes or
SIGTERM/SIGINT arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord  # type: ignore[import-untyped]


class DelayedZone(asyncio.DatagramProtocol):
    """Answers `*.zone` with `address`, `delay` seconds late."""

    def __init__(self, zone: str, address: str, delay: float) -> None:
        self.suffix = "." + zone.strip(".").lower() + "."
        self.address = address
        self.delay = delay
        self.transport: asyncio.DatagramTransport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def answer(self, data: bytes) -> bytes | None:
        try:
            query = DNSRecord.parse(data)
        except Exception:  # dnslib raises DNSError (and others) on junk: ignore it
            return None
        reply = query.reply()
        for question in query.questions:
            name = str(question.qname)
            if not name.lower().endswith(self.suffix):
                reply.header.rcode = RCODE.NXDOMAIN
            elif question.qtype == QTYPE.A:
                reply.add_answer(RR(question.qname, QTYPE.A, rdata=A(self.address), ttl=60))
        return bytes(reply.pack())

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        packet = self.answer(data)
        if packet is not None and self.transport is not None:
            self.loop.call_later(self.delay, self.transport.sendto, packet, addr)


async def serve(port: int, zone: str, address: str, delay: float) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: DelayedZone(zone, address, delay), local_addr=("127.0.0.1", port)
    )
    sys.stdout.write(f"READY {transport.get_extra_info('sockname')[1]}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:  # the parent holds our stdin: when it goes, so do we
        with contextlib.suppress(OSError):
            while os.read(0, 65536):
                pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    await stop.wait()
    transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=53, help="UDP port on 127.0.0.1 (53; 0: any)")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per answer (0.05)")
    parser.add_argument("--zone", default="bench.test", help="names answered (bench.test)")
    parser.add_argument("--address", default="127.0.0.1", help="their A record (127.0.0.1)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.zone, args.address, args.delay))


if __name__ == "__main__":
    main()
