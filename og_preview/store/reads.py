"""Reading the cache through sqlite-utils (`rows_where`, `count_where`, `query`): a
batch's freshness lookups, and `show`'s queries, counts and stats, with the condition
and order `Query` writes.

`fresh_processed` runs for every URL of every batch, yet needs no SQL of its own:
looking up 2,000 cached URLs took the same CPU time through `rows_where` as through
`conn.execute` of the same SELECT (110-150 ms either way, most of it in making the
records).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..record import Preview, Status
from .query import Query, Stats
from .rows import SELECT_COLUMNS, SELECT_WITHOUT_JSONLD, from_row
from .schema import TABLE

if TYPE_CHECKING:
    from sqlite_utils import Database

#: URLs a lookup asks for in one query.
LOOKUP_CHUNK = 500


def fresh_processed(db: Database, urls: Sequence[str], cutoff: str) -> dict[str, Preview]:
    """{url: its row} for those of `urls` with a processed row checked after `cutoff`,
    a query per LOOKUP_CHUNK URLs."""
    return _processed(db, urls, f"{_CHECKED} > ?", cutoff)


def stale_processed(db: Database, urls: Sequence[str], cutoff: str) -> dict[str, Preview]:
    """{url: its row} for those of `urls` with a processed row last checked at or before
    `cutoff` (or never), validators included: what `fresh_processed` leaves out."""
    return _processed(db, urls, f"NOT ({_CHECKED} > ?)", cutoff)


#: When a row was last checked: `checked_at`, else (a row written by hand) `fetched_at`.
_CHECKED = "coalesce(checked_at, fetched_at, '')"


def _processed(db: Database, urls: Sequence[str], age: str, cutoff: str) -> dict[str, Preview]:
    table = db.table(TABLE)
    found: dict[str, Preview] = {}
    for start in range(0, len(urls), LOOKUP_CHUNK):
        part = urls[start : start + LOOKUP_CHUNK]
        marks = ", ".join("?" * len(part))
        rows = table.rows_where(
            f"url IN ({marks}) AND status = 'processed' AND {age}",
            [*part, cutoff],
            select=SELECT_COLUMNS,
        )
        for row in rows:
            found[row["url"]] = from_row(row)
    return found


def get(db: Database, url: str) -> Preview | None:
    """The row for `url`, whatever its status or age."""
    rows = db.table(TABLE).rows_where("url = ?", [url], select=SELECT_COLUMNS)
    row = next(rows, None)
    return from_row(row) if row is not None else None


def query(db: Database, q: Query, *, jsonld: bool) -> Iterator[Preview]:
    """The rows matching `q`, in its order (`jsonld` left empty when not wanted)."""
    where, params = q.where()
    rows = db.table(TABLE).rows_where(
        where,
        params,
        order_by=q.order_by(),
        select=SELECT_COLUMNS if jsonld else SELECT_WITHOUT_JSONLD,
        limit=q.limit,
    )
    for row in rows:
        yield from_row(row)


def count(db: Database, q: Query) -> int:
    """How many rows `query(q)` yields."""
    where, params = q.where()
    total = db.table(TABLE).count_where(where, params)
    return total if q.limit is None else min(total, q.limit)


def _and(*conditions: str | None) -> str:
    """A WHERE clause of the conditions given (None: no condition)."""
    kept = [c for c in conditions if c]
    return f" WHERE {' AND '.join(kept)}" if kept else ""


def stats(db: Database, q: Query) -> Stats:
    """Counts by status (pending included) and by error kind, and the fetch time range,
    over the rows matching `q`."""
    where, params = q.where(hide_pending=False)
    by_status = {s.value: 0 for s in (Status.PROCESSED, Status.ERROR, Status.PENDING)}
    for row in db.query(
        f"SELECT status, count(*) AS n FROM {TABLE}{_and(where)} GROUP BY status", params
    ):
        by_status[str(row["status"])] = int(row["n"])
    errors = _and(where, "status = 'error'")
    kinds = db.query(
        "SELECT coalesce(error_kind, 'unknown') AS kind, count(*) AS n"
        f" FROM {TABLE}{errors} GROUP BY kind ORDER BY n DESC, kind",
        params,
    )
    by_error_kind = {str(row["kind"]): int(row["n"]) for row in kinds}
    # min and max in subqueries of their own: each is then one step down an index.
    span = db.query(
        f"SELECT (SELECT min(fetched_at) FROM {TABLE}{_and(where)}) AS oldest,"
        f" (SELECT max(fetched_at) FROM {TABLE}{_and(where)}) AS newest",
        params + params,
    )
    times = next(span)
    return Stats(
        total=sum(by_status.values()),
        by_status=by_status,
        by_error_kind=by_error_kind,
        oldest_fetched_at=times["oldest"],
        newest_fetched_at=times["newest"],
    )
