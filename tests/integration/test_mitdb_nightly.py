"""The nightly flow over all 48 MIT-BIH records: ingest -> validate -> preprocess."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.nightly import nightly_flow

N_REFERENCE_BEATS = 109_494  # beat annotations in the 48 .atr files (SOURCES.md)


@pytest.fixture(scope="module")
def night(mitdb_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("mitdb-night")
    first = nightly_flow(data_dir=data, inbox=mitdb_dir)
    second = nightly_flow(data_dir=data, inbox=mitdb_dir)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    yield data, first, second, con
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
