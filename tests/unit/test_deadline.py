"""`deadline.time_limit`: a real SIGALRM interrupts Python code, and nothing outlives the block."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import pytest

from og_preview.extract.deadline import ParseTimeout, enforced_here, time_limit

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer"), reason="no setitimer on this platform (a no-op there)"
)


def spin(seconds: float) -> int:
    """A busy Python loop (no sleeping, no C call that would hold the signal back)."""
    end = time.monotonic() + seconds
    turns = 0
    while time.monotonic() < end:
        turns += 1
    return turns


def alarm_state() -> tuple[object, tuple[float, float]]:
    return signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)


def test_a_busy_loop_is_interrupted_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(ParseTimeout) as caught, time_limit(0.05):
        spin(5.0)
    elapsed = time.monotonic() - started
    assert (caught.value.seconds, 0.04 < elapsed < 1.0) == (0.05, True)


def test_parse_timeout_gets_past_except_exception() -> None:
    def careful() -> str:
        try:
            spin(5.0)
        except Exception:  # what extraction's fallbacks do: must not swallow the deadline
            return "swallowed"
        return "finished"

    with pytest.raises(ParseTimeout), time_limit(0.02):
        careful()


def test_nothing_is_left_after_a_block_that_finished_in_time() -> None:
    before = alarm_state()
    with time_limit(0.2):
        spin(0.01)
    after = alarm_state()
    spin(0.3)  # past the deadline the block had: no late signal, nothing raised
    assert (after, alarm_state()) == (before, before)


def test_nothing_is_left_after_a_block_that_timed_out() -> None:
    before = alarm_state()
    with pytest.raises(ParseTimeout), time_limit(0.01):
        spin(5.0)
    assert alarm_state() == before


def test_a_signal_after_the_block_does_nothing() -> None:
    """The deadline expires while the block is ending: the timer is spent or stopped, and a
    SIGALRM that arrives afterwards reaches the handler that was there before."""
    seen: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    old = signal.signal(signal.SIGALRM, previous)
    try:
        with time_limit(0.2):
            pass
        signal.raise_signal(signal.SIGALRM)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert seen == [signal.SIGALRM]


def test_a_late_signal_to_the_deadline_handler_raises_nothing() -> None:
    """A SIGALRM that comes after the block (queued, or from elsewhere) finds the deadline
    over: its handler returns, as if the signal had never come."""
    with time_limit(0.2):
        handler = signal.getsignal(signal.SIGALRM)
    assert callable(handler)
    handler(signal.SIGALRM, None)


def test_an_alarm_as_the_block_ends_raises_with_everything_put_back() -> None:
    """The signal lands before `__exit__` has run a line: the ParseTimeout leaves the `with`
    from there, so the handler itself must have put everything back."""
    before = alarm_state()
    limit = time_limit(5.0)
    limit.__enter__()
    handler = signal.getsignal(signal.SIGALRM)
    assert callable(handler)
    with pytest.raises(ParseTimeout):
        handler(signal.SIGALRM, None)
    restored = alarm_state()
    limit.__exit__(None, None, None)  # (when it does run: nothing more to do)
    assert (restored, alarm_state()) == (before, before)


def test_the_previous_handler_and_timer_come_back_and_still_fire() -> None:
    fired: list[float] = []

    def outer(signum: int, frame: FrameType | None) -> None:
        fired.append(time.monotonic())

    old = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        started = time.monotonic()
        with pytest.raises(ParseTimeout), time_limit(0.02):
            spin(5.0)
        restored = alarm_state()
        spin(0.6)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert restored[0] is outer
    assert 0 < restored[1][0] <= 0.3
    assert len(fired) == 1 and 0.25 < fired[0] - started < 0.6


def test_nested_limits_the_inner_deadline_first_then_the_outer() -> None:
    before = alarm_state()
    outcome: list[str] = []
    with pytest.raises(ParseTimeout) as outer, time_limit(0.3):
        with pytest.raises(ParseTimeout) as inner, time_limit(0.02):
            spin(5.0)
        outcome.append("inner expired")
        handler_inside_outer = signal.getsignal(signal.SIGALRM)
        spin(5.0)
    assert (outcome, inner.value.seconds, outer.value.seconds) == (["inner expired"], 0.02, 0.3)
    assert callable(handler_inside_outer) and handler_inside_outer is not before[0]
    assert alarm_state() == before


def test_no_limit_and_bad_limits() -> None:
    before = alarm_state()
    with time_limit(None):
        assert alarm_state() == before
    with time_limit(float("inf")):
        assert alarm_state() == before
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            time_limit(bad)


def test_a_no_op_outside_the_main_thread() -> None:
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(enforced_here())
            with time_limit(0.01):
                spin(0.1)
            outcome.append("finished")
        except BaseException as exc:  # the test reports it in the main thread
            outcome.append(exc)

    thread = threading.Thread(target=work)
    before = alarm_state()
    thread.start()
    thread.join(10)
    assert (outcome, alarm_state(), enforced_here()) == ([False, "finished"], before, True)


def test_many_short_blocks_leave_nothing_behind() -> None:
    """Deadlines that expire at every point of the block, its end included: each raises
    inside its block or not at all, and the process is as it was."""
    before = alarm_state()
    raised = 0
    for i in range(300):
        try:
            with time_limit(0.0005):
                spin(0.0001 * (i % 10))
        except ParseTimeout:
            raised += 1
    spin(0.01)
    assert alarm_state() == before and 0 < raised < 300
