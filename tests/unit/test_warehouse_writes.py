"""The warehouse writers replace a record's earlier rows, and never duplicate them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from beatwatch.preprocess import PreprocessConfig, preprocess_recording, write_beat_set
from beatwatch.scoring import RecordScores, score_schema
from beatwatch.synthetic import SyntheticConfig, generate_ecg
from warehouse import apply_schema, connect, writes

CFG = PreprocessConfig()


@pytest.fixture
def con(tmp_path: Path):
    with connect(tmp_path / "work.duckdb") as con:
        apply_schema(con)
        yield con


def _count(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> int:
    (n,) = con.execute(sql, list(params)).fetchone()
    return n


def _beat_file(record: str, duration_s: float, lake: Path):
    ecg = generate_ecg(SyntheticConfig(duration_s=duration_s, fs_hz=360.0, seed=3))
    beat_set = preprocess_recording(record, ecg.signals_mv[:, 0], "MLII", 360.0, None, CFG)
    return write_beat_set(beat_set, lake)


def test_a_beat_set_derived_again_replaces_the_records_beats(con, tmp_path: Path) -> None:
    other = _beat_file("other", 30.0, tmp_path / "lake")
    writes.insert_beat_set(con, other, cfg=CFG, run_id="r1")
    first = _beat_file("r", 60.0, tmp_path / "lake")
    writes.insert_beat_set(con, first, cfg=CFG, run_id="r1")
    assert _count(con, "select count(*) from beats where record = 'r'") == first.n_beats > 40

    second = _beat_file("r", 40.0, tmp_path / "lake")  # e.g. derived under new settings
    writes.insert_beat_set(con, second, cfg=CFG, run_id="r2")
    assert second.n_beats < first.n_beats
    assert _count(con, "select count(*) from beats where record = 'r'") == second.n_beats
    assert _count(con, "select count(*) from beat_sets where record = 'r'") == 1
    assert _count(con, "select count(*) from beats where record = 'other'") == other.n_beats


def _scores(record: str, n: int) -> RecordScores:
    score = np.linspace(0.0, 12.0, n)
    columns = {
        "record": [record] * n,
        "beat_index": np.arange(n, dtype=np.int32),
        "r_sample": np.arange(n, dtype=np.int64) * 300,
        "time_s": np.arange(n) * 300 / 360.0,
        "score": score,
        "shape_z": score,
        "timing_z": np.zeros(n),
        "recon_error": score / 100,
        "relative_score": score / 6,
        "flagged": score >= 10.0,
        "rr_prev_s": np.full(n, 0.83, dtype=np.float32),
        "rr_next_s": np.full(n, 0.83, dtype=np.float32),
        "lead": ["MLII"] * n,
        "ref_symbol": ["N"] * n,
        "aami_class": ["N"] * n,
    }
    table = pa.Table.from_pydict(columns, schema=score_schema())
    return RecordScores(record, table, threshold=10.0, mean_hr_bpm=72.0, top=())


def _store(con, scores: RecordScores, model: str, run_id: str, night: date) -> None:
    writes.insert_record_scores(
        con, scores, model_version=model, threshold_rule="fixed", run_id=run_id, run_date=night
    )


def test_a_record_scored_again_by_the_same_model_replaces_its_scores(con) -> None:
    _store(con, _scores("r", 50), "m1", "run-1", date(2026, 11, 20))
    _store(con, _scores("other", 30), "m1", "run-1", date(2026, 11, 20))
    _store(con, _scores("r", 50), "m2", "run-1b", date(2026, 11, 20))  # another model: kept
    assert _count(con, "select count(*) from beat_scores where record = 'r'") == 100

    _store(con, _scores("r", 50), "m1", "run-2", date(2026, 11, 21))
    rows = con.execute(
        "select model_version, run_id, count(*) from beat_scores where record = 'r'"
        " group by all order by 1"
    ).fetchall()
    assert rows == [("m1", "run-2", 50), ("m2", "run-1b", 50)]
    assert _count(con, "select count(*) from beat_scores where record = 'other'") == 30
