"""The nightly flow over all 48 MIT-BIH records: ingest -> validate -> preprocess -> train ->
score -> report, on two nights (see the ``mitdb_nights`` fixture)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

N_REFERENCE_BEATS = 109_494  # beat annotations in the 48 .atr files (SOURCES.md)


@pytest.fixture(scope="module")
def night(mitdb_nights):
    con = duckdb.connect(str(mitdb_nights.warehouse), read_only=True)
    yield mitdb_nights.data_dir, mitdb_nights.first, mitdb_nights.second, con
    con.close()


def test_every_record_gets_beat_windows(night) -> None:
    data, first, _, con = night
    assert len(first.beat_files) == 48
    assert first.preprocess_failed == []
    (n_sets, n_beats, n_ref, matched, missed) = con.execute(
        "select count(*), sum(n_beats), sum(n_reference), sum(matched), sum(missed) from beat_sets"
    ).fetchone()
    assert n_sets == 48
    assert 105_000 <= n_beats <= 115_000  # about one window per reference beat
    assert n_ref == N_REFERENCE_BEATS
    assert matched + missed == N_REFERENCE_BEATS  # every reference beat matched or missed
    assert matched >= 0.99 * N_REFERENCE_BEATS
    assert con.execute("select count(*) from beats").fetchone() == (n_beats,)

    for record, path, n in con.execute(
        "select record, beats_path, n_beats from beat_sets"
    ).fetchall():
        meta = pq.read_metadata(path)
        assert meta.num_rows == n, record
        assert pq.read_schema(path).field("window").type.list_size == 320
        assert Path(path).parent == data / "lake" / "beats"


def test_labels_follow_the_reference(night) -> None:
    _, _, _, con = night
    rows = dict(
        con.execute(
            "select aami_class, count(*) from beats where aami_class is not null group by 1"
        ).fetchall()
    )
    assert set(rows) == {"N", "S", "V", "F", "Q"}
    assert rows["V"] > 6_500
    assert rows["N"] > 80_000


def test_second_night_rederives_nothing(night) -> None:
    _, _, second, con = night
    assert second.beat_files == []
    assert second.new == []
    assert con.execute("select count(distinct run_id) from beat_sets").fetchone() == (1,)


def test_first_night_trains_the_first_champion_and_scores_every_beat(night, mitdb_nights) -> None:
    _, first, _, con = night
    night_1 = mitdb_nights.night_1
    assert first.scoring.model_trained == mitdb_nights.first_champion
    assert first.scoring.model_version == mitdb_nights.first_champion
    assert first.scoring.records_scored == 48
    n_beats = con.execute("select count(*) from beats").fetchone()[0]
    scored = con.execute(
        "select count(*), count(distinct record) from beat_scores where run_date = ?", [night_1]
    ).fetchone()
    assert scored == (n_beats, 48)  # every beat, once
    run = con.execute(
        "select status, beats_scored, records_scored, model_trained, train_s > 0, report_path"
        " from nightly_runs where run_date = ?",
        [night_1],
    ).fetchone()
    assert run[:4] == ("ok", n_beats, 48, mitdb_nights.first_champion)
    assert run[4] is True
    assert Path(run[5]).is_file()


def test_second_night_rescores_every_record_with_the_new_champion(night, mitdb_nights) -> None:
    _, _, second, con = night
    night_1, night_2 = mitdb_nights.night_1, mitdb_nights.night_2
    assert second.scoring.model_trained is None  # a champion exists: the night only scores
    assert second.scoring.model_version == mitdb_nights.second_champion
    assert second.scoring.records_scored == 48
    versions = dict(
        con.execute(
            "select run_date, any_value(model_version) from beat_scores group by 1"
        ).fetchall()
    )
    assert versions == {night_1: mitdb_nights.first_champion, night_2: mitdb_nights.second_champion}
    per_night = con.execute(
        "select n.run_date, n.beats_scored, sum(r.beats_scored), sum(r.beats_flagged),"
        " n.beats_flagged from nightly_runs n join nightly_reports r using (run_id) group by all"
    ).fetchall()
    assert len(per_night) == 2
    for _, beats, beats_in_reports, flagged_in_reports, flagged in per_night:
        assert beats == beats_in_reports
        assert flagged == flagged_in_reports


def test_flagged_beats_are_mostly_abnormal_and_ectopy_scores_high(night, mitdb_nights) -> None:
    _, _, _, con = night
    night_2 = mitdb_nights.night_2
    by_class = dict(
        con.execute(
            "select b.aami_class, median(s.score) from beat_scores s join beats b"
            " using (record, beat_index) where s.run_date = ? and b.aami_class is not null"
            " group by 1",
            [night_2],
        ).fetchall()
    )
    assert by_class["V"] > by_class["N"] + 3  # ventricular beats: far from normal
    assert by_class["S"] > by_class["N"] + 1  # supraventricular: early, then a pause
    share_n, share_v = con.execute(
        "select avg(s.flagged::int) filter (where b.aami_class = 'N'),"
        " avg(s.flagged::int) filter (where b.aami_class = 'V')"
        " from beat_scores s join beats b using (record, beat_index) where s.run_date = ?",
        [night_2],
    ).fetchone()
    assert share_n < 0.05
    assert share_v > 0.5
