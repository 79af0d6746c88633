"""Politeness per host: a `Retry-After` from one host delays only that host."""

from __future__ import annotations

import asyncio


class HostGate:
    """Hosts that asked us to wait (429/503 with `Retry-After`), until when.

    Every request to such a host waits for the pause to end; other hosts go on.
    """

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def hold(self, host: str, seconds: float) -> None:
        if seconds <= 0:
            return
        until = asyncio.get_running_loop().time() + seconds
        self._until[host] = max(until, self._until.get(host, 0.0))

    def delay(self, host: str) -> float:
        until = self._until.get(host)
        if until is None:
            return 0.0
        left = until - asyncio.get_running_loop().time()
        if left <= 0:
            del self._until[host]
            return 0.0
        return left

    async def wait(self, host: str) -> None:
        left = self.delay(host)
        if left > 0:
            await asyncio.sleep(left)
            await self.wait(host)  # the host may have asked for a longer pause meanwhile
