"""Two processes: one runs the nightly flow, the other queries the warehouse in a loop.

Neither side may fail, and the reader must only ever see whole nights: every night it can
see is finished, and its scores, per-record reports and totals agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

BEATWATCH = Path(sys.executable).with_name("beatwatch")

CONSISTENCY = """
select
    n.run_date,
    n.status,
    n.finished_at is not null                                       as finished,
    n.beats_scored,
    (select count(*) from beat_scores s where s.run_id = n.run_id)  as scores_rows,
    (select coalesce(sum(beats_scored), 0) from nightly_reports r where r.run_id = n.run_id)
                                                                    as reported,
    (select count(*) from flagged_beats f where f.run_id = n.run_id) as flagged_rows,
    n.beats_flagged
from nightly_runs n
order by n.run_date
"""


HELD_OPEN = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = lambda: con.execute("select count(*) from nightly_runs").fetchone()[0]
print(count(), flush=True)
sys.stdin.readline()
print(count(), flush=True)
"""


def _night(data: Path, inbox: Path, day: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BEATWATCH), "nightly", "--data-dir", str(data), "--inbox", str(inbox), "--date", day],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _look(warehouse: Path) -> tuple[list[tuple], int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        nights = con.execute(CONSISTENCY).fetchall()
        (recordings,) = con.execute("select count(*) from recordings").fetchone()
    return nights, recordings


def test_a_reader_never_fails_and_sees_only_whole_nights(tmp_path: Path, make_record) -> None:
    data, inbox = tmp_path / "data", tmp_path / "inbox"
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect"),  # the night's own Prefect server
        "BEATWATCH_TRAINING__EPOCHS": "2",
        "BEATWATCH_TRAINING__MAX_TRAIN_BEATS": "2000",
    }
    for i in range(3):
        make_record(inbox, f"a{i}", seed=i, pvc_rate=0.05, duration_s=90.0)
    first = _night(data, inbox, "2026-11-20", env)
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out
    warehouse = data / "warehouse.duckdb"
    before, _ = _look(warehouse)
    assert len(before) == 1

    for i in range(3):
        make_record(inbox, f"b{i}", seed=10 + i, pac_rate=0.05, duration_s=90.0)
    # A clinician's session left open all night, in a third process (within one process
    # DuckDB shares a database instance per file, so it would pin the reader below too).
    held_open = subprocess.Popen(
        [sys.executable, "-c", HELD_OPEN, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert held_open.stdout.readline().strip() == "1"
    second = _night(data, inbox, "2026-11-21", env)
    seen: list[tuple[int, int]] = []
    errors: list[str] = []
    try:
        while second.poll() is None:
            try:
                nights, recordings = _look(warehouse)
            except Exception as exc:  # the assertion below reports every failure
                errors.append(repr(exc))
                continue
            for date, status, finished, beats, rows, reported, flagged_rows, flagged in nights:
                assert (status, finished) == ("ok", True), f"half a night: {date} {status}"
                assert beats == rows == reported, (date, beats, rows, reported)
                assert flagged == flagged_rows, (date, flagged, flagged_rows)
            seen.append((len(nights), recordings))
            time.sleep(0.02)
    finally:
        if second.poll() is None:
            second.kill()
    out, _ = second.communicate()
    assert second.returncode == 0, out
    assert errors == []

    assert len(seen) > 20, "the reader barely ran while the night did"
    assert set(seen) <= {(1, 3), (2, 6)}  # last night, or tonight: never anything between
    assert seen[0] == (1, 3)
    nights, recordings = _look(warehouse)
    assert (len(nights), recordings) == (2, 6)
    # The session opened before the new night was published still reads the old night.
    out, _ = held_open.communicate("again\n", timeout=60)
    assert out.strip() == "1"
