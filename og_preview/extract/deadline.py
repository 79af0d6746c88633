"""A deadline for CPU-bound work: `with time_limit(10): extract_bytes(...)`.

Parsing a page is pure computation in the event loop's thread, so no `asyncio` timeout
can stop it: the deadline is a real-time timer (`setitimer(ITIMER_REAL)`) whose SIGALRM
handler raises `ParseTimeout` in the middle of whatever Python code is running. Long C
calls (one parse of a whole page) finish first: the exception comes at the next Python
instruction after them.

Signals reach Python in the main thread only, so the deadline is enforced only when
`time_limit` is entered in the main thread, on a platform with `setitimer` (not
Windows); elsewhere it is a no-op and the block runs to its end. The CLI, the library
run from a script, and the batch worker processes all parse in their main thread.

Race-free: the handler raises only while its block runs. Leaving the block first marks
the deadline over, then stops the timer and puts back the previous SIGALRM handler and
timer, so a signal that comes late does nothing; a handler that does raise puts them
back itself before it raises, so nothing is left behind even when the signal lands as the
block ends. An enclosing timer (another `time_limit`, or the program's own) is suspended
during the block and re-armed on exit with the time it had left (at once if that is
gone): its signal comes late, never lost.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

__all__ = ["ParseTimeout", "enforced_here", "time_limit"]

# Longer than this is no limit (setitimer refuses values beyond the platform's time_t).
NO_LIMIT = 1e8  # seconds: three years

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

_ENTERING, _ARMED, _OVER = 0, 1, 2


class ParseTimeout(BaseException):
    """A `time_limit` block ran past its deadline.

    A BaseException on purpose, like KeyboardInterrupt: the `except Exception` fallbacks
    of extraction code must not swallow it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took longer than {seconds:g}s")
        self.seconds = seconds


def enforced_here() -> bool:
    """Would `time_limit` enforce its deadline if entered here (main thread, setitimer)?"""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def time_limit(seconds: float | None) -> contextlib.AbstractContextManager[None]:
    """Raise `ParseTimeout` in the block if it runs longer than `seconds` (wall clock).

    A no-op when `seconds` is None, infinite or beyond `NO_LIMIT`, and outside the main
    thread or on a platform without `setitimer` (see the module's docstring).
    Not for concurrent use in one thread: the blocks must nest.
    """
    if seconds is None or seconds >= NO_LIMIT:
        return contextlib.nullcontext()
    if not seconds > 0:  # (NaN too)
        raise ValueError(f"a time limit must be a positive number of seconds, not {seconds!r}")
    if not enforced_here():
        return contextlib.nullcontext()
    return _Deadline(seconds)


class _Deadline:
    """One armed `time_limit` (see the module's docstring for the order of things)."""

    __slots__ = (
        "_previous_handler",
        "_previous_timer",
        "_restored",
        "_seconds",
        "_started",
        "_state",
    )

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._state = _ENTERING
        self._restored = False
        self._previous_handler: _Handler = signal.SIG_DFL
        self._previous_timer = (0.0, 0.0)
        self._started = 0.0

    def __enter__(self) -> None:
        # the handler first (armed later): the timer may fire before the next line runs
        self._previous_handler = signal.signal(signal.SIGALRM, self._alarm)
        self._started = time.monotonic()
        self._state = _ARMED
        self._previous_timer = signal.setitimer(signal.ITIMER_REAL, self._seconds)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state = _OVER  # first: from here on a signal is too late and does nothing
        self._restore()

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        state = self._state
        if state == _ENTERING:
            # not ours (ours is not set yet): an enclosing timer's, for its handler
            previous = self._previous_handler
            if callable(previous):
                previous(signum, frame)
            return
        if state == _OVER:
            return
        self._state = _OVER
        self._restore()
        raise ParseTimeout(self._seconds)

    def _restore(self) -> None:
        """Stop our timer, put back the previous handler and timer (once)."""
        if self._restored:
            return
        self._restored = True
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            try:
                previous = self._previous_handler
                signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            finally:
                delay, interval = self._previous_timer
                if delay > 0:
                    left = delay - (time.monotonic() - self._started)
                    signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)
