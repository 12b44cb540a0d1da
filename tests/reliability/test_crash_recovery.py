"""Kill the nightly flow with SIGKILL at several points, run it again, and compare the end
state with an uninterrupted night: same table contents, same lake files, nothing partial
visible, no row duplicated or lost.

Crash points are named in the code (:mod:`beatwatch.faults`); each run is a real
``beatwatch nightly`` process killed by the kernel, not an exception.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from prefect.settings import PREFECT_API_URL

BEATWATCH = Path(sys.executable).with_name("beatwatch")
NIGHT = "2026-11-21"
FAST = "[training]\nepochs = 2\nmax_train_beats = 1500\n"

CRASH_POINTS = {
    "staging-parquet": "write:staging@3",  # a signal Parquet written, not yet renamed
    "lake-move": "move:lake/annotations@2",  # one of a record's files moved into the lake
    "warehouse-recording": "transaction:recordings@2",  # inside a DuckDB transaction
    "training": "epoch@1",  # mid-training
    "scoring": "transaction:beat_scores@2",  # a record's scores, before the commit
    "publish": "write:warehouse.duckdb",  # the published copy, before the swap
}
"""Run by ``make test``: Parquet, lake, DuckDB, training, scoring and publishing."""

MORE_CRASH_POINTS = {
    "beats-parquet": "write:lake/beats@2",  # a beat Parquet written, not yet renamed
    "warehouse-beats": "transaction:beat_sets@3",
    "model-file": "write:models/",  # the trained model's file, before its rename
    "report": "write:reports/",
}
"""Run by ``make test-all`` (marked slow): each point costs two nights."""

POINTS = [pytest.param(point, id=point) for point in CRASH_POINTS] + [
    pytest.param(point, id=point, marks=pytest.mark.slow) for point in MORE_CRASH_POINTS
]

# Columns that name a run, a time or a model version differ between any two runs; every
# other column must match exactly (scores to 1e-9).
COMPARED = {
    "recordings": "select * exclude (ingested_at, run_id) from recordings",
    "annotations": "select * from annotations",
    "validations": "select * exclude (run_id, validated_at) from validations",
    "quarantine": "select record, kind, reason, content_sha256 from quarantine",
    "beat_sets": "select * exclude (created_at, run_id) from beat_sets",
    "beats": "select * from beats",
    "model_versions": "select kind, purpose, status, training_records, training_beats,"
    " round(threshold, 9), threshold_rule from model_versions",  # same weights: same scores
    "beat_scores": "select record, beat_index, r_sample, time_s, round(score, 9),"
    " round(relative_score, 9), threshold_rule, flagged, run_date from beat_scores",
    "nightly_runs": "select run_date, status, records_new, records_quarantined,"
    " records_failed, records_scored, beats_scored, beats_flagged from nightly_runs",
    "nightly_reports": "select run_date, record, beats_scored, beats_flagged,"
    " round(mean_hr_bpm, 9) from nightly_reports",
}


def _night(data: Path, inbox: Path, config: Path, crash: str | None) -> subprocess.CompletedProcess:
    env = os.environ | {"BEATWATCH_TRAINING__EPOCHS": "2"}
    if PREFECT_API_URL.value():  # share the test session's server: no start-up per run
        env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    env.pop("BEATWATCH_CRASH_AT", None)
    if crash:
        env["BEATWATCH_CRASH_AT"] = crash
    command = [str(BEATWATCH), "nightly", "--data-dir", str(data), "--inbox", str(inbox)]
    return subprocess.run(
        [*command, "--config", str(config), "--date", NIGHT],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def _state(data: Path) -> dict[str, object]:
    """Everything a night leaves that must not depend on crashes: table contents (sorted)
    and the lake's files with their SHA-256; quarantined files by content."""
    root = str(data.parent)  # paths name each test's own folder: compare them relative to it
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            name: sorted(repr(row).replace(root, "<root>") for row in con.execute(sql).fetchall())
            for name, sql in COMPARED.items()
        }
    lake = {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data / "lake").rglob("*"))
        if p.is_file()
    }
    quarantined = sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (data / "quarantine").rglob("*")
        if p.is_file() and p.name != "reason.json"
    )
    return {"tables": tables, "lake": lake, "quarantined": quarantined}


def _deliver(inbox: Path, make_record) -> None:
    for i in range(4):
        make_record(inbox, f"c{i}", seed=40 + i, pvc_rate=0.08, pac_rate=0.04, duration_s=60.0)
    (inbox / "stray.txt").write_text("not an ECG")  # one rejection, quarantined every time


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, make_record_module) -> dict[str, object]:
    root = tmp_path_factory.mktemp("uninterrupted")
    config = root / "fast.toml"
    config.write_text(FAST)
    _deliver(root / "inbox", make_record_module)
    done = _night(root / "data", root / "inbox", config, None)
    assert done.returncode == 0, done.stdout + done.stderr
    return _state(root / "data")


@pytest.fixture(scope="module")
def make_record_module():
    from beatwatch.synthetic import SyntheticConfig, generate_ecg, write_wfdb_record

    def write(folder: Path, name: str, **cfg):
        folder.mkdir(parents=True, exist_ok=True)
        return write_wfdb_record(generate_ecg(SyntheticConfig(**cfg)), folder, name)

    return write


def _visible_files_are_whole(data: Path) -> None:
    """Nothing a reader can open is partial: every visible Parquet and DuckDB file opens."""
    for parquet in (data / "lake").rglob("*.parquet"):
        if not parquet.name.startswith("."):
            pq.read_metadata(parquet)  # raises on a truncated file
    published = data / "warehouse.duckdb"
    if published.exists():
        with duckdb.connect(str(published), read_only=True) as con:
            con.execute("select count(*) from recordings").fetchone()


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_night_run_again_ends_as_if_never_killed(
    point: str, reference, tmp_path: Path, make_record_module
) -> None:
    config = tmp_path / "fast.toml"
    config.write_text(FAST)
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    _deliver(inbox, make_record_module)

    crash = (CRASH_POINTS | MORE_CRASH_POINTS)[point]
    killed = _night(data, inbox, config, crash)
    assert killed.returncode == -signal.SIGKILL, (
        f"crash point {crash} was not reached:\n{killed.stdout[-3000:]}"
    )
    _visible_files_are_whole(data)

    again = _night(data, inbox, config, None)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert not list(data.rglob(".*.tmp")), "temporary files left behind"
    state = _state(data)
    for name in COMPARED:
        assert state["tables"][name] == reference["tables"][name], f"table {name} differs"
    assert state["lake"] == reference["lake"]
    assert state["quarantined"] == reference["quarantined"]
    shutil.rmtree(tmp_path, ignore_errors=True)  # 2 x 4 recordings per point: free the disk
