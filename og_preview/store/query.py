"""`show`'s side of the cache: `Query` (filters and order as SQL) and `Stats`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..record import ErrorKind, Status
from .schema import iso_utc

_STATUSES = frozenset(s.value for s in Status)

ORDER_FIELDS = ("fetched_at", "last_attempt_at", "url", "host", "title", "status", "http_status")
DEFAULT_ORDER = "-fetched_at"


class QueryError(ValueError):
    """A `Query` with a value that makes no sense (the caller's mistake)."""


def parse_order(text: str) -> tuple[str, bool]:
    """`fetched_at`, `-fetched_at`, `title desc`, `url asc` → (column, descending)."""
    words = text.strip().lower().split()
    descending = False
    if len(words) == 2 and words[1] in ("asc", "desc"):
        descending = words[1] == "desc"
        words = words[:1]
    elif len(words) == 1 and words[0].startswith("-"):
        descending = True
        words = [words[0][1:]]
    if len(words) != 1 or words[0] not in ORDER_FIELDS:
        raise QueryError(
            f"unknown order {text!r}: use FIELD or -FIELD (descending), "
            f"FIELD one of {', '.join(ORDER_FIELDS)}"
        )
    return words[0], descending


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """Which rows `Cache.query` yields. Every filter is optional; they combine with AND.

    - `status`: `processed`, `error` or `pending`; None means processed and error
      (pending rows are bookkeeping of a running or interrupted batch, no data).
    - `host`: exact, lower-cased host (`www.example.com` does not match `example.com`).
    - `search`: case-insensitive substring of `url` or `title`.
    - `since`: `fetched_at` at or after this time.
    - `error_kind`: the record's `error.kind` (the flat, indexed `error_kind` column).
    - `order`: FIELD (ascending) or -FIELD / `FIELD desc`; default newest first.
      Ties are broken by url; empty values sort last.
    """

    status: str | None = None
    host: str | None = None
    search: str | None = None
    since: datetime | None = None
    error_kind: str | None = None
    limit: int | None = None
    order: str = DEFAULT_ORDER

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in _STATUSES:
            raise QueryError(f"unknown status {self.status!r}: use processed, error or pending")
        if self.error_kind is not None and self.error_kind not in {k.value for k in ErrorKind}:
            raise QueryError(
                f"unknown error kind {self.error_kind!r}: use one of "
                + ", ".join(k.value for k in ErrorKind)
            )
        if self.limit is not None and self.limit < 0:
            raise QueryError("limit must be 0 or more")
        parse_order(self.order)

    def where(self, *, hide_pending: bool = True) -> tuple[str | None, list[Any]]:
        """The SQL condition (None for every row) and its parameters, as sqlite-utils'
        `rows_where` and `count_where` take them."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        elif hide_pending:
            clauses.append("status != 'pending'")
        if self.host:
            clauses.append("host = ?")
            params.append(self.host.strip().lower().rstrip("."))
        if self.search:
            pattern = "%" + _escape_like(self.search) + "%"
            clauses.append("(url LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\')")
            params += [pattern, pattern]
        if self.since is not None:
            clauses.append("fetched_at >= ?")
            params.append(iso_utc(self.since))
        if self.error_kind is not None:
            clauses.append("status = 'error' AND error_kind = ?")
            params.append(self.error_kind)
        return (" AND ".join(clauses) if clauses else None), params

    def order_by(self) -> str:
        """The SQL ORDER BY terms (without the keywords)."""
        column, descending = parse_order(self.order)
        sql = f"{column}{' COLLATE NOCASE' if column == 'title' else ''}"
        sql += " DESC NULLS LAST" if descending else " ASC NULLS LAST"
        return sql + ("" if column == "url" else ", url ASC")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Row counts by status and by error kind, and the fetch time range."""

    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_error_kind: dict[str, int] = field(default_factory=dict)
    oldest_fetched_at: str | None = None
    newest_fetched_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_status": dict(self.by_status),
            "by_error_kind": dict(self.by_error_kind),
            "oldest_fetched_at": self.oldest_fetched_at,
            "newest_fetched_at": self.newest_fetched_at,
        }
