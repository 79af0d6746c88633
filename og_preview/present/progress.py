"""Live progress on stderr (Rich), the run's counts and its closing summary."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from ..record import Preview


@dataclass
class Counts:
    """What a run did, by outcome: the summary and the exit code come from here."""

    processed: int = 0
    cached: int = 0
    errors: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, record: Preview) -> None:
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
            f"{self.total} URLs in {elapsed:.1f}s ({rate:.0f}/s): "
            f"{self.processed} processed, {self.cached} cached, {self.errors} errors"
        )
        if self.by_kind:
            kinds = ", ".join(f"{k}: {n}" for k, n in self.by_kind.most_common())
            text += f" ({kinds})"
        return text


class Progress(Protocol):
    def __enter__(self) -> Progress: ...
    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def set_total(self, total: int | None) -> None: ...
    def update(self, counts: Counts) -> None: ...
    def finish(self, counts: Counts) -> None: ...


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

    def finish(self, counts: Counts) -> None:
        pass


class RichProgress:
    """done/total (or a running count), rate, elapsed, ETA and counts by outcome."""

    def __init__(self, *, no_color: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self._bar = RichBar(
            SpinnerColumn(),
            TextColumn("[bold]previews"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[outcomes]}"),
            console=Console(stderr=True, no_color=no_color),
            transient=False,
            refresh_per_second=8,
        )
        self._task = self._bar.add_task("previews", total=None, rate="0", outcomes="")
        self._last = 0.0

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def set_total(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)

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
        task = self._bar.tasks[0]
        total = task.total
        if total is not None and counts.total > total:
            self._bar.update(self._task, total=counts.total)
        self._bar.update(self._task, completed=counts.total, rate=f"{rate:.0f}", outcomes=outcomes)

    def finish(self, counts: Counts) -> None:
        """The final state, whatever the update rate allowed before."""
        self._last = 0.0
        self._bar.update(self._task, total=counts.total)
        self.update(counts)
