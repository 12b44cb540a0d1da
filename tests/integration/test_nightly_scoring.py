"""The nightly flow's train -> score -> report stages on small synthetic recordings."""

from __future__ import annotations

import base64
import re
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

import tasks.score
from beatwatch.inference import reconstruct
from beatwatch.preprocess import read_lead_mv
from beatwatch.registry import champion
from beatwatch.scoring import beat_windows, load_scoring_model, score_beat_table
from beatwatch.settings import load_settings
from flows.nightly import NightFailedError, nightly_flow
from tasks.report import top_beats

FAST = "[training]\nepochs = 2\nmax_train_beats = 2000\n"
DAY_1, DAY_2 = date(2026, 11, 20), date(2026, 11, 21)


@pytest.fixture
def night_setup(tmp_path: Path, make_record):
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    for i in range(3):
        make_record(inbox, f"r{i}", seed=i, pvc_rate=0.08, pac_rate=0.04, duration_s=90.0)
    config = tmp_path / "fast.toml"
    config.write_text(FAST)

    def run(day: date):
        return nightly_flow(data_dir=data, inbox=inbox, config_file=config, run_date=day)

    return data, run


def _rows(data: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_running_a_night_again_replaces_its_results(night_setup) -> None:
    data, run = night_setup
    first = run(DAY_1)
    n_beats = _rows(data, "select count(*) from beats")[0][0]
    assert first.scoring.beats_scored == n_beats > 200
    again = run(DAY_1)  # the same night, re-run: rescored, replaced
    assert again.scoring.beats_scored == n_beats
    assert again.scoring.model_trained is None  # the champion from the first run is kept
    assert _rows(data, "select count(*), count(distinct run_id) from nightly_runs") == [(1, 1)]
    assert _rows(data, "select run_id from nightly_runs") == [(again.run_id,)]
    assert _rows(data, "select count(*) from beat_scores") == [(n_beats,)]
    assert _rows(data, "select count(*), count(distinct run_id) from nightly_reports") == [(3, 1)]
    later = run(DAY_2)  # nothing new, same champion: nothing to score
    assert later.scoring.beats_scored == 0
    assert _rows(data, "select run_date, records_scored from nightly_runs order by 1") == [
        (DAY_1, 3),
        (DAY_2, 0),
    ]


def test_new_preprocessing_settings_leave_earlier_nights_flagged_beats_as_they_were(
    night_setup, tmp_path: Path
) -> None:
    data, run = night_setup
    run(DAY_1)
    flagged_sql = (
        "select record, beat_index, score, rr_prev_s, hr_around_bpm, ref_symbol, aami_class, lead"
        " from flagged_beats where run_date = ? order by all"
    )
    first_night = _rows(data, flagged_sql, DAY_1)
    assert len(first_night) > 10
    reports = _rows(data, "select * from nightly_reports where run_date = ? order by record", DAY_1)

    # ops change a filter: the next night re-derives every recording's beats and scores them
    (tmp_path / "fast.toml").write_text(FAST + "[preprocess]\nlowpass_hz = 30.0\n")
    second = run(DAY_2)
    n_beats = _rows(data, "select count(*) from beats")[0][0]
    assert second.scoring.beats_scored == n_beats > 200

    assert _rows(data, flagged_sql, DAY_1) == first_night  # the first night, as it was
    assert _rows(
        data, "select * from nightly_reports where run_date = ? order by record", DAY_1
    ) == (reports)
    assert _rows(data, "select count(*) from beat_scores where run_date = ?", DAY_2) == [(n_beats,)]
    # each night's rows belong to the beat set they scored
    keys = _rows(
        data,
        "select run_date, count(distinct preprocess_key) from beat_scores group by all order by 1",
    )
    assert [k for _, k in keys] == [1, 1]
    (current,) = _rows(data, "select distinct preprocess_key from beat_sets")
    assert _rows(
        data, "select distinct preprocess_key from beat_scores where run_date = ?", DAY_2
    ) == [current]


def test_a_corrupt_champion_file_stops_scoring_with_a_clear_error(night_setup) -> None:
    data, run = night_setup
    run(DAY_1)
    (path,) = _rows(data, "select file_path from model_versions where status = 'champion'")[0]
    original = Path(path).read_bytes()
    Path(path).write_bytes(original[:-10] + b"x" * 10)
    with pytest.raises(NightFailedError, match=re.escape(Path(path).name)):
        run(DAY_2)
    status, note, scored = _rows(
        data, "select status, note, beats_scored from nightly_runs where run_date = ?", DAY_2
    )[0]
    assert status == "scoring_failed"
    assert "corrupt" in note
    assert scored == 0
    assert _rows(data, "select count(*) from beat_scores where run_date = ?", DAY_2) == [(0,)]
    assert _rows(data, "select count(*) from model_versions") == [(1,)]  # no silent retrain

    Path(path).write_bytes(original)  # repaired: re-running the night scores it
    assert run(DAY_2).scoring.error is None


def test_the_night_publishes_a_report_and_artifacts(night_setup) -> None:
    data, run = night_setup
    summary = run(DAY_1)
    report = summary.scoring.report
    assert report == data / "reports" / "night-2026-11-20.html"
    page = report.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 2  # flagged beats over time, top beats; strips when any
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert _rows(data, "select report_path from nightly_runs") == [(str(report),)]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["nightly-summary", "nightly-records"])
            )
        )
    mine = [a for a in artifacts if str(a.flow_run_id) == summary.run_id]
    assert {a.key for a in mine} == {"nightly-summary", "nightly-records"}
    markdown = next(a for a in mine if a.key == "nightly-summary").data
    assert report.as_uri() in markdown


def test_an_empty_first_night_trains_nothing_and_does_not_fail(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    summary = nightly_flow(data_dir=tmp_path / "data", inbox=inbox, run_date=DAY_1)
    assert summary.scoring.model_version is None
    assert summary.scoring.error is None
    assert summary.scoring.report.is_file()


@pytest.fixture
def first_night_then_r9(night_setup, make_record):
    """The first night has run (it trained the champion); a new recording, r9, has arrived."""
    data, run = night_setup
    run(DAY_1)
    make_record(data.parent / "inbox", "r9", seed=9, pvc_rate=0.1, duration_s=90.0)
    return data, run


def _scores(data: Path, record: str, day: date) -> list[tuple]:
    return _rows(
        data,
        "select beat_index, score, recon_error, relative_score, flagged from beat_scores"
        " where record = ? and run_date = ? order by beat_index",
        record,
        day,
    )


def test_a_new_recording_is_scored_as_its_beats_are_derived_exactly_as_from_the_lake(
    first_night_then_r9,
) -> None:
    data, run = first_night_then_r9
    night = run(DAY_2)  # the champion scores r9 straight from preprocessing
    assert night.scoring.records_scored == 1
    assert night.scoring.failed == []
    stored = _scores(data, "r9", DAY_2)
    assert len(stored) == night.scoring.beats_scored > 50

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        scoring = load_scoring_model(champion(con))
        (beats_path,) = con.execute(
            "select beats_path from beat_sets where record = 'r9'"
        ).fetchone()
    from_lake = score_beat_table("r9", pq.read_table(beats_path), scoring)
    table = from_lake.table
    assert stored == list(
        zip(
            *(
                table.column(c).to_pylist()
                for c in ("beat_index", "score", "recon_error", "relative_score", "flagged")
            ),
            strict=True,
        )
    )


def _scoring_fails(monkeypatch: pytest.MonkeyPatch, record: str, *, times: int) -> list[str]:
    """Make scoring ``record`` raise the first ``times`` times it is tried; returns the
    records scoring is tried on, in order."""
    calls: list[str] = []
    real = tasks.score.score_beat_table

    def scorer(name: str, *args, **kwargs):
        calls.append(name)
        if name == record and calls.count(name) <= times:
            raise RuntimeError("out of memory (simulated)")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(tasks.score, "score_beat_table", scorer)
    return calls


def test_a_record_whose_scoring_fails_in_preprocess_is_scored_again_by_the_score_stage(
    first_night_then_r9, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, run = first_night_then_r9
    calls = _scoring_fails(monkeypatch, "r9", times=1)
    night = run(DAY_2)
    assert calls == ["r9", "r9"]  # preprocess's attempt, then the score stage's
    assert night.scoring.failed == []
    assert night.scoring.records_scored == 1
    assert len(_scores(data, "r9", DAY_2)) == night.scoring.beats_scored > 50


def test_a_record_that_cannot_be_scored_keeps_its_beats_and_waits_for_the_next_night(
    first_night_then_r9, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, run = first_night_then_r9
    _scoring_fails(monkeypatch, "r9", times=2)  # in preprocess, then in the score stage
    night = run(DAY_2)
    assert night.scoring.failed == [("r9", "RuntimeError: out of memory (simulated)")]
    assert night.scoring.records_scored == 0
    assert _rows(data, "select count(*) from beat_sets where record = 'r9'") == [(1,)]
    assert _rows(data, "select records_failed from nightly_runs where run_date = ?", DAY_2) == [
        (1,)
    ]

    monkeypatch.undo()  # scoring works again
    day_3 = date(2026, 11, 22)
    assert run(day_3).scoring.records_scored == 1  # the next night scores it
    assert len(_scores(data, "r9", day_3)) > 50


def test_the_reports_top_beats_are_drawn_as_scored_with_their_strips(
    night_setup, tmp_path: Path
) -> None:
    data, run = night_setup
    run(DAY_1)
    settings = load_settings(config_file=tmp_path / "fast.toml", data_dir=data)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        scoring = load_scoring_model(champion(con))
        sets = con.execute(
            "select b.record, b.beats_path, r.signal_path, r.fs_hz, b.lead"
            " from beat_sets b join recordings r using (record)"
        ).fetchall()
    beat_files = {record: pq.read_table(path) for record, path, *_ in sets}
    lead_of = {record: (Path(signal), fs, lead) for record, _, signal, fs, lead in sets}
    scored = [score_beat_table(r, table, scoring) for r, table in sorted(beat_files.items())]

    drawn = top_beats(settings, scored, scoring)

    assert 0 < len(drawn) <= settings.scoring.top_beats
    every_top = sorted((t.score for s in scored for t in s.top), reverse=True)
    assert [b.score for b in drawn] == every_top[: len(drawn)]
    for beat in drawn:  # as if read from the lake, one by one
        row = beat_files[beat.record].slice(beat.beat_index, 1)
        normalised, reconstruction = reconstruct(scoring.model, beat_windows(row))
        np.testing.assert_array_equal(beat.window, normalised[0])
        np.testing.assert_allclose(beat.reconstruction, reconstruction[0], rtol=0, atol=1e-5)
        signal, fs_hz, lead = lead_of[beat.record]
        r_sample = row.column("r_sample")[0].as_py()
        half = round(settings.scoring.strip_s * fs_hz / 2)
        start = max(0, r_sample - half)
        strip = read_lead_mv(signal, lead, start, r_sample + half)
        np.testing.assert_array_equal(beat.strip_mv, strip)
        assert beat.strip_start_s == start / fs_hz
        assert beat.ref_symbol == row.column("ref_symbol")[0].as_py()
