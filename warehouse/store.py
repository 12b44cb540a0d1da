"""Connections, schema and publication of the DuckDB warehouse.

DuckDB lets one process write a database file, and a writer's lock keeps readers out. So the
pipeline never writes the file clinicians open: it writes ``<data>/state/beatwatch.duckdb``
in short transactions and, at the end of each run, :func:`publish_snapshot` checkpoints it and
swaps a complete copy into ``<data>/warehouse.duckdb`` with one atomic rename. A reader sees
the previous night or the new one, never half of one, and never blocks the pipeline.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from beatwatch.atomic import write_atomic
from beatwatch.faults import crash_point

SQL_DIR = Path(__file__).resolve().parent / "sql"
QUERIES_DIR = Path(__file__).resolve().parent / "queries"

_LOCK_RETRIES = 20
_LOCK_WAIT_S = 0.25


def query_sql(name: str) -> str:
    """The text of the named query ``queries/<name>.sql``."""
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Migrate what DDL cannot, then run every DDL file in ``sql/`` in name order.
    Idempotent: safe to run every time."""
    _add_beat_scores_context(con)  # before the views that read the new columns
    _drop_beat_scores_key(con)
    for ddl in sorted(SQL_DIR.glob("*.sql")):
        con.execute(ddl.read_text(encoding="utf-8"))


def _beat_scores_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where table_name = 'beat_scores'"
    ).fetchall()
    return {name for (name,) in rows}


def _add_beat_scores_context(con: duckdb.DuckDBPyConnection) -> None:
    """Give a ``beat_scores`` made before its rows carried their beat set and context those
    columns, filled from ``beat_sets`` and ``beats`` (which then still held the scored beats:
    re-deriving a recording's beats deleted its scores). Runs once per warehouse."""
    columns = _beat_scores_columns(con)
    if not columns or "preprocess_key" in columns:
        return
    with transaction(con, "beat_scores_context"):
        con.execute("alter table beat_scores add column preprocess_key varchar")
        con.execute("alter table beat_scores add column rr_prev_s real")
        con.execute("alter table beat_scores add column rr_next_s real")
        con.execute("alter table beat_scores add column lead varchar")
        con.execute("alter table beat_scores add column ref_symbol varchar")
        con.execute("alter table beat_scores add column aami_class varchar")
        con.execute(
            "update beat_scores s set preprocess_key = b.preprocess_key"
            " from beat_sets b where b.record = s.record"
        )
        con.execute(
            "update beat_scores s set rr_prev_s = b.rr_prev_s, rr_next_s = b.rr_next_s,"
            " lead = b.lead, ref_symbol = b.ref_symbol, aami_class = b.aami_class"
            " from beats b where b.record = s.record and b.beat_index = s.beat_index"
        )


def _drop_beat_scores_key(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild a ``beat_scores`` made with the primary key it once had, without it (DuckDB
    cannot drop a key): rows, column types and NOT NULLs are kept. Runs once per warehouse."""
    keyed = con.execute(
        "select count(*) from duckdb_constraints()"
        " where table_name = 'beat_scores' and constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    if not keyed or not keyed[0]:
        return
    with transaction(con, "beat_scores_key"):
        con.execute("alter table beat_scores rename to beat_scores_keyed")
        con.execute((SQL_DIR / "100_beat_scores.sql").read_text(encoding="utf-8"))
        con.execute("insert into beat_scores by name select * from beat_scores_keyed")
        con.execute("drop table beat_scores_keyed")


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a DuckDB file, retrying for a few seconds while another process holds its lock.

    A lock that outlasts the retries (about 5 s) is re-raised with the file named: that is
    a second writer, which the pipeline's design rules out, not a transient condition.
    """
    if read_only and not path.is_file():
        raise FileNotFoundError(
            f"no warehouse at {path}: run `beatwatch ingest` or `beatwatch nightly` first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(_LOCK_RETRIES):
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == _LOCK_RETRIES - 1:
                raise duckdb.IOException(f"cannot open {path}: {exc}") from exc
            time.sleep(_LOCK_WAIT_S)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, name: str = "") -> Iterator[None]:
    """Commit what the block writes, or nothing if it raises (``name``: for crash tests)."""
    con.execute("begin transaction")
    try:
        yield
        crash_point("transaction", name)
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


@contextmanager
def run_lock(state_dir: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold ``<state>/run.lock`` (an exclusive ``flock``) while a run writes the working
    database and publishes it; yields whether the lock was taken.

    Ingest and nightly runs wait for it, so their writes and their publication are never
    interleaved with another run's. A retrain or a manual promotion (short writes) asks
    with ``wait=False`` and, while a night holds it, leaves publication to that night:
    publishing then would show readers half a night. The operating system releases the
    lock when its process dies, so a killed run never leaves it behind.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / "run.lock").open("a+") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish_snapshot(work_db: Path, published: Path) -> Path:
    """Publish a consistent copy of ``work_db`` as ``published``, atomically.

    The working database is checkpointed (its write-ahead log folded in) and closed, copied
    to a hidden temporary file beside ``published``, flushed, then renamed over it. Readers
    that already have the old file open keep reading it undisturbed.
    """
    with connect(work_db) as con:
        con.execute("checkpoint")
    return write_atomic(published, lambda tmp: shutil.copyfile(work_db, tmp))
