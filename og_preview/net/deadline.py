"""One attempt's deadline, paused while its request waits for a pooled connection.

Waiting behind other requests to the same host (`per_host`) is politeness, not
slowness of the URL, so it does not count against `settings.timeout`. A request
passes its `AttemptDeadline` as aiohttp's `trace_request_ctx`; the session's
`pool_wait_trace()` pauses and resumes it around the wait.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from types import SimpleNamespace

import aiohttp

__all__ = ["AttemptDeadline", "pool_wait_trace"]


class AttemptDeadline:
    """A handle on one attempt's `asyncio.timeout`, paused while the pool is waited for."""

    def __init__(self, timeout: asyncio.Timeout) -> None:
        self._timeout = timeout
        self._left: float | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> AttemptDeadline:
        return self  # a handle on a running timer; copies (e.g. by request mocks) share it

    def pause(self) -> None:
        when = self._timeout.when()
        if when is not None and self._left is None:
            self._left = when - asyncio.get_running_loop().time()
            with suppress(RuntimeError):  # already expiring: let it expire
                self._timeout.reschedule(None)

    def resume(self) -> None:
        if self._left is not None:
            left, self._left = self._left, None
            with suppress(RuntimeError):
                self._timeout.reschedule(asyncio.get_running_loop().time() + left)


async def _on_queued(_: object, ctx: SimpleNamespace, __: object) -> None:
    if isinstance(deadline := ctx.trace_request_ctx, AttemptDeadline):
        deadline.pause()


async def _on_dequeued(_: object, ctx: SimpleNamespace, __: object) -> None:
    if isinstance(deadline := ctx.trace_request_ctx, AttemptDeadline):
        deadline.resume()


def pool_wait_trace() -> aiohttp.TraceConfig:
    """The trace that pauses a request's `AttemptDeadline` while it waits for the pool."""
    trace = aiohttp.TraceConfig()
    trace.on_connection_queued_start.append(_on_queued)
    trace.on_connection_queued_end.append(_on_dequeued)
    return trace
