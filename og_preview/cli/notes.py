"""Failures on stderr, whatever stdout is: `og-preview fetch URL | jq` that fails says
why, as curl does, without `-v`. One line per failed URL, the first `CAP` of a batch
(all of them with `-v`), then how many more and how to list them."""

from __future__ import annotations

from ..present.progress import Progress
from ..record import ErrorKind, Preview

CAP = 10  # failure lines before the rest is counted, not printed
_PRIVATE_WORDS = ("loopback", "private", "link-local", "unique local", "shared address")


def failure_line(record: Preview) -> str:
    """`<url>: <kind>: <message>`, with how to allow a refused private address."""
    error = record.error
    if error is None:
        return record.url
    line = f"{record.url}: {error.kind.value}: {error.message}"
    if error.kind is ErrorKind.BLOCKED and any(w in error.message for w in _PRIVATE_WORDS):
        line += " (--allow-private fetches it)"
    return line


class FailureNotes:
    """Tell the failed URLs on stderr (through `progress`, above a live bar)."""

    def __init__(self, progress: Progress, *, every: bool = False, cap: int = CAP) -> None:
        self.progress = progress
        self.every = every
        self.cap = cap
        self.failed = 0

    def add(self, record: Preview) -> None:
        failure = record.last_error
        if failure is not None and record.ok:  # a refetch failed; the good record was kept
            self.failed += 1
            if self.every or self.failed <= self.cap:
                kept = f" from {record.fetched_at}" if record.fetched_at else ""
                self.progress.note(
                    f"og-preview: {record.url}: refresh failed ({failure.get('kind')}: "
                    f"{failure.get('message')}); kept the cached preview{kept}"
                )
            return
        if record.error is None or record.ok:
            return
        self.failed += 1
        if self.every or self.failed <= self.cap:
            self.progress.note(f"og-preview: {failure_line(record)}")

    def close(self) -> None:
        more = self.failed - self.cap
        if not self.every and more > 0:
            urls = "URL" if more == 1 else "URLs"
            self.progress.note(
                f"og-preview: … and {more} more failed {urls} "
                "(og-preview show --status error lists them)"
            )
