"""When to fetch a URL again and how long to wait first (the tenacity policy).

An attempt reports an outcome saying whether it may be retried and whether
the server asked for a delay (`Retry-After`). Retries back off exponentially
with jitter; a `Retry-After` within `settings.retry_after_max` is honoured,
a longer one stops at once so a batch never sleeps for an hour.

Whether a failure may be retried is `errors.classify`'s call: timeouts, resets,
refused connections and a DNS server that failed or did not answer are; a name that
does not exist (NXDOMAIN), a TLS or a protocol error are not.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final, Protocol, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt
from tenacity.stop import stop_base

from ..config import Settings

# Statuses worth asking again: the server or something before it was busy or flaky.
RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


class Outcome(Protocol):
    @property
    def retryable(self) -> bool: ...

    @property
    def retry_after(self) -> float | None: ...


T = TypeVar("T", bound=Outcome)
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent/garbage."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    retry_number: int, settings: Settings, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Seconds before retry `retry_number` (1, 2, ...): exponential, capped, "equal jitter".

    Half of the exponential step is always waited, the other half is random,
    so clients that failed together do not come back together.
    """
    step = min(settings.backoff_max, settings.backoff_initial * 2.0 ** (retry_number - 1))
    return step / 2 + rng(0.0, step / 2)


def _last(state: RetryCallState) -> Outcome | None:
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return None
    result: Outcome = outcome.result()
    return result


class _StopOnLongRetryAfter(stop_base):
    """Stop at once when the server asks for a longer pause than we are willing to take."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        last = _last(retry_state)
        return last is not None and last.retry_after is not None and last.retry_after > self.limit


def _wait(settings: Settings) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        last = _last(state)
        if last is not None and last.retry_after is not None:
            return last.retry_after
        return backoff_delay(state.attempt_number, settings)

    return wait


def _give_back_last(state: RetryCallState) -> Outcome:
    """When retries stop, the last outcome (e.g. the final 503 response) is the answer."""
    assert state.outcome is not None
    result: Outcome = state.outcome.result()
    return result


async def run_with_retries(
    attempt: Callable[[], Awaitable[T]], settings: Settings, *, sleep: Sleep | None = None
) -> T:
    """Call `attempt` until its outcome is not retryable or the policy says stop.

    Exceptions from `attempt` (only `CancelledError` is expected) propagate.
    Most first attempts succeed: those return without setting up the retry machinery.
    """
    first = await attempt()
    if not first.retryable or settings.attempts <= 1:
        return first
    replay: list[T] = [first]

    async def again() -> T:
        return replay.pop() if replay else await attempt()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.attempts)
        | _StopOnLongRetryAfter(settings.retry_after_max),
        wait=_wait(settings),
        retry=retry_if_result(lambda outcome: bool(outcome.retryable)),
        retry_error_callback=_give_back_last,
        sleep=sleep or asyncio.sleep,
        reraise=True,
    )
    result: T = await retrying(again)
    return result
