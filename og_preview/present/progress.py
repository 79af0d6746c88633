"""Live progress on stderr (Rich), the run's counts and its closing summary."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from ..record import Preview


@dataclass
class Counts:
    """What a run did, by outcome: the summary and the exit code come from here."""

    processed: int = 0
    cached: int = 0  # (revalidated ones included)
    errors: int = 0
    revalidated: int = 0  # refetched conditionally: a 304, the cached record stands
    changed: int = 0  # refetched, and the preview is not what the cache had
    by_kind: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, record: Preview) -> None:
        self.revalidated += record.revalidated
        self.changed += record.changed is True
        if record.error is not None and not record.ok:
            self.errors += 1
            self.by_kind[record.error.kind.value] += 1
        elif record.from_cache:
            self.cached += 1
        else:
            self.processed += 1

    @property
    def total(self) -> int:
        return self.processed + self.cached + self.errors

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> str:
        elapsed = self.elapsed
        rate = self.total / elapsed if elapsed > 0 else 0.0
        text = (
            f"{self.total} URL{'' if self.total == 1 else 's'} in {elapsed:.1f}s ({rate:.0f}/s): "
            f"{self.processed} processed, {self.cached} cached, {self.errors} errors"
        )
        if self.by_kind:
            kinds = ", ".join(f"{k}: {n}" for k, n in self.by_kind.most_common())
            text += f" ({kinds})"
        if self.revalidated or self.changed:
            text += f"; {self.revalidated} revalidated (304), {self.changed} changed"
        return text


class Progress(Protocol):
    def __enter__(self) -> Progress: ...
    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def set_total(self, total: int | None) -> None: ...
    def update(self, counts: Counts) -> None: ...
    def show(self, record: Preview) -> None: ...
    def note(self, text: str) -> None: ...
    def finish(self, counts: Counts, *, interrupted: bool = False) -> None: ...


class NullProgress:
    def __enter__(self) -> NullProgress:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass

    def update(self, counts: Counts) -> None:
        pass

    def show(self, record: Preview) -> None:
        pass

    def note(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def finish(self, counts: Counts, *, interrupted: bool = False) -> None:
        pass


# What to try once a batch is done (printed under the progress on a terminal).
NEXT_STEPS = "next: og-preview show --status error · og-preview report -o previews.html"


class RichProgress:
    """done/total (or a running count), rate, elapsed, ETA and counts by outcome; with
    `lines`, a compact line per finished URL above it. Columns are chosen by the
    terminal's width: the bar and the outcome counts go first, never total, rate or ETA."""

    def __init__(self, *, no_color: bool = False, lines: bool = False) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichBar

        self._console = Console(stderr=True, no_color=no_color, highlight=False)
        self._lines = lines
        self._bar = RichBar(
            *self._columns(self._console.width),
            console=self._console,
            transient=False,
            refresh_per_second=8,
        )
        self._task = self._bar.add_task("previews", total=None, rate="0", outcomes="")
        self._last = 0.0

    @staticmethod
    def _columns(width: int) -> list[Any]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # at 60 columns: "  17/300   6% 5/s eta 0:00:57"; the rest as room allows
        columns: list[Any] = [MofNCompleteColumn(), TaskProgressColumn()]
        columns += [TextColumn("{task.fields[rate]}/s"), TextColumn("eta"), TimeRemainingColumn()]
        if width >= 80:
            columns = [SpinnerColumn(), BarColumn(bar_width=max(10, min(40, width - 100)))]
            columns += [MofNCompleteColumn(), TaskProgressColumn()]
            columns += [TextColumn("{task.fields[rate]}/s"), TimeElapsedColumn()]
            columns += [TextColumn("eta"), TimeRemainingColumn()]
        if width >= 120:
            columns.insert(1, TextColumn("[bold]previews"))
            columns.append(TextColumn("{task.fields[outcomes]}"))
        return columns

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def set_total(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)

    def show(self, record: Preview) -> None:
        """A line for a finished URL, above the live progress (with `lines`)."""
        if self._lines:
            from .render import finished_line

            self._console.print(finished_line(record, self._console.width))

    def note(self, text: str) -> None:
        """A message for people, above the live progress."""
        from rich.text import Text

        self._console.print(Text(text), overflow="fold", soft_wrap=True)

    def update(self, counts: Counts) -> None:
        now = time.monotonic()
        if now - self._last < 0.05:  # at most 20 updates a second
            return
        self._last = now
        elapsed = counts.elapsed
        rate = counts.total / elapsed if elapsed > 0 else 0.0
        outcomes = (
            f"[green]{counts.processed} processed[/] [cyan]{counts.cached} cached[/] "
            f"[red]{counts.errors} errors[/]"
        )
        if counts.revalidated:
            outcomes += f" [cyan]{counts.revalidated} revalidated[/]"
        task = self._bar.tasks[0]
        total = task.total
        if total is not None and counts.total > total:
            self._bar.update(self._task, total=counts.total)
        self._bar.update(self._task, completed=counts.total, rate=f"{rate:.0f}", outcomes=outcomes)

    def finish(self, counts: Counts, *, interrupted: bool = False) -> None:
        """The final state, whatever the update rate allowed before. A finished run's
        total is what it did (duplicates counted once); a stopped run keeps the total it
        was heading for (24/300, not 24/24)."""
        self._last = 0.0
        if not interrupted or self._bar.tasks[0].total is None:
            self._bar.update(self._task, total=counts.total)
        self.update(counts)
