"""Failures on stderr, whatever stdout is: `og-preview fetch URL | jq` that fails says
why, as curl does, without `-v`. One line per failed URL, the first `CAP` of a batch
(all of them with `-v`), then how many more and how to list them."""

from __future__ import annotations

from collections.abc import Iterable

from ..present.output import Writer
from ..present.progress import Counts, NullProgress, Progress
from ..record import ErrorKind, Preview

CAP = 10  # failure lines before the rest is counted, not printed
OFFLINE_AFTER = 5  # name lookups failed in a row, and nothing fetched yet: offline?
OFFLINE = (
    "og-preview: every name lookup so far has failed: this machine looks offline "
    "(or its DNS is down); nothing it fetches now will preview"
)
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


def print_records(records: Iterable[Preview], writer: Writer, fmt: str, *, quiet: bool) -> int:
    """Write `records` (as they come) and tell their failures on stderr, unless a card on
    the terminal shows them already; the exit code their outcomes make."""
    from .common import exit_code, quiet_broken_pipe

    counts = Counts()
    notes = None if quiet or fmt == "card" else FailureNotes(NullProgress(), every=True)
    with quiet_broken_pipe():
        for record in records:
            counts.add(record)
            writer.write(record)
            if notes is not None:
                notes.add(record)
        writer.close()
    return int(exit_code(counts))


class FailureNotes:
    """Tell the failed URLs on stderr (through `progress`, above a live bar)."""

    def __init__(
        self, progress: Progress, *, every: bool = False, cap: int = CAP, lines: bool = True
    ) -> None:
        """`lines`: tell each failure (False: the failures are in sight already, a line
        per URL on a terminal: only the offline hint is given)."""
        self.progress = progress
        self.every = every
        self.cap = cap
        self.lines = lines
        self.failed = 0
        self.lookups_failed = 0  # dns errors before anything was fetched
        self.fetched = False
        self.said_offline = False

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
            self.fetched = self.fetched or not record.from_cache
            return
        offline = False
        if record.error.kind is ErrorKind.DNS and not self.fetched:
            self.lookups_failed += 1
            offline = self.lookups_failed >= OFFLINE_AFTER
        elif record.error.kind not in (ErrorKind.INVALID_URL, ErrorKind.BLOCKED):
            self.fetched = True  # (the network answered something)
        self.failed += 1
        if self.lines and (self.every or self.failed <= self.cap):
            self.progress.note(f"og-preview: {failure_line(record)}")
        if offline:
            self._offline()

    def _offline(self) -> None:
        if not self.said_offline:
            self.said_offline = True
            self.progress.note(OFFLINE)

    def close(self) -> None:
        if self.lookups_failed >= 3 and not self.fetched:  # a short run of failed lookups only
            self._offline()
        more = self.failed - self.cap
        if self.lines and not self.every and more > 0:
            urls = "URL" if more == 1 else "URLs"
            self.progress.note(
                f"og-preview: … and {more} more failed {urls} "
                "(og-preview show --status error lists them)"
            )
