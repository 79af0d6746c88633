"""Two real processes writing one cache file at the same time both finish, and the
file stays consistent (SPEC "Cache": WAL mode and a busy timeout); a third reads it
read-only (as `show` does) all the while."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROWS = 500
BATCH = 10
SHARED = 50  # URLs both writers save, to collide on the same rows

WRITER = """
import sys
from og_preview.store.cache import Cache
from og_preview.record import ErrorKind, Preview, Status, error_preview

path, name, rows, batch, shared = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
cache = Cache(path)
print("ready", flush=True)
sys.stdin.readline()  # wait for "go", so both write at once
pending = []
for i in range(rows):
    url = f"https://shared.example/{i}" if i < shared else f"https://{name}.example/{i}"
    if i % 7 == 0:
        pending.append(error_preview(url, ErrorKind.TIMEOUT, "slow", attempts=2))
    else:
        pending.append(Preview(url=url, status=Status.PROCESSED, title=f"{name} {i}",
                               og={"og:title": name}, jsonld=[{"n": i}], attempts=1))
    if len(pending) == batch:
        cache.mark_pending([f"https://{name}.example/next/{i}"])
        cache.save_many(pending)
        pending.clear()
if pending:
    cache.save_many(pending)
cache.close()
"""

READER = """
import sys
from og_preview.store.cache import Cache, Query

path = sys.argv[1]
Cache(path).close()  # the writers' schema, before the read-only opens
print("ready", flush=True)
sys.stdin.readline()
seen = []
for _ in range(40):
    with Cache(path, read_only=True) as cache:
        seen.append(cache.count(Query()))
        cache.stats()
assert seen == sorted(seen), seen  # rows are only ever added
print(seen[-1])
"""


@pytest.fixture
def two_writers(db_path: Path) -> Iterator[list[subprocess.CompletedProcess[str]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), name, str(ROWS), str(BATCH), str(SHARED)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    procs.append(
        subprocess.Popen(
            [sys.executable, "-c", READER, str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdin is not None
            if proc.stdout.readline().strip() != "ready":
                pytest.fail(f"a writer could not open the cache: {proc.communicate()[1]}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        yield results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_both_writers_exit_0(two_writers: list[subprocess.CompletedProcess[str]]) -> None:
    assert [(r.returncode, r.stderr) for r in two_writers[:2]] == [(0, ""), (0, "")]


def test_a_read_only_reader_meanwhile_reads_without_error(
    two_writers: list[subprocess.CompletedProcess[str]],
) -> None:
    reader = two_writers[2]
    assert (reader.returncode, reader.stderr) == (0, "")


def test_flat_error_columns_agree_with_error(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    disagree = query(
        db_path,
        "SELECT count(*) FROM previews WHERE coalesce(error_kind, '') !="
        " coalesce(json_extract(error, '$.kind'), '')"
        " OR coalesce(error_message, '') != coalesce(json_extract(error, '$.message'), '')",
    )
    assert disagree == [(0,)]
    assert query(db_path, "SELECT count(*) FROM previews WHERE error_kind = 'timeout'") != [(0,)]


def test_every_row_is_present(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    saved = query(db_path, "SELECT count(*) FROM previews WHERE status != 'pending'")
    assert saved == [(2 * ROWS - SHARED,)]


def test_pending_marks_of_both_writers_are_present(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    pending = query(db_path, "SELECT count(*) FROM previews WHERE status = 'pending'")
    assert pending == [(2 * (ROWS // BATCH),)]


def test_integrity_check_is_ok(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]


def test_file_stays_in_wal_mode(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_shared_rows_follow_the_save_rules(
    two_writers: list[subprocess.CompletedProcess[str]], db_path: Path
) -> None:
    # URL 0 is an error in both writers: an error row. URL 1 is processed in both.
    found = query(db_path, "SELECT url, status FROM previews WHERE host = 'shared.example'")
    rows = {str(url): str(status) for url, status in found}
    assert (rows["https://shared.example/0"], rows["https://shared.example/1"]) == (
        "error",
        "processed",
    )
