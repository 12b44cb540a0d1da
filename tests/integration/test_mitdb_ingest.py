"""All 48 MIT-BIH records through the ingest flow: the foundation's acceptance on real data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import wfdb

from flows.ingest import ingest_flow

N_RECORDS = 48
N_ANNOTATIONS = 112_647  # wfdb.rdann over all 48 .atr files (see ../shared/data/SOURCES.md)


@pytest.fixture(scope="module")
def ingested(mitdb_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("mitdb-data")
    first = ingest_flow(data_dir=data, inbox=mitdb_dir)
    second = ingest_flow(data_dir=data, inbox=mitdb_dir)
    return data, first, second


def _count(data: Path, sql: str) -> int:
    """Count rows from a separate process holding a read-only connection."""
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        "print(con.execute(sys.argv[2]).fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data / "warehouse.duckdb"), sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(out.stdout)


def test_every_record_and_annotation_lands(ingested) -> None:
    data, first, _ = ingested
    assert len(first.new) == N_RECORDS
    assert not first.quarantined
    assert not first.failed
    assert _count(data, "select count(*) from recordings") == N_RECORDS
    assert _count(data, "select count(*) from annotations") == N_ANNOTATIONS
    assert _count(data, "select sum(n_annotations) from recordings") == N_ANNOTATIONS
    assert (
        _count(data, "select count(*) from recordings where fs_hz = 360 and n_samples = 650000")
        == N_RECORDS
    )
    assert _count(data, "select count(*) from validations where not success") == 0


def test_signal_parquet_equals_wfdb_physical_signal(ingested, mitdb_dir: Path) -> None:
    data, _, _ = ingested
    for name in (mitdb_dir / "RECORDS").read_text().split():
        table = pq.read_table(data / "lake" / "signals" / f"{name}.parquet")
        ref = wfdb.rdrecord(str(mitdb_dir / name))
        assert table.column_names == ["sample", *ref.sig_name]
        np.testing.assert_array_equal(table.column("sample").to_numpy(), np.arange(ref.sig_len))
        for j, lead in enumerate(ref.sig_name):
            got = table.column(lead).to_numpy()
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, ref.p_signal[:, j].astype(np.float32), err_msg=name)
        ann = pq.read_table(data / "lake" / "annotations" / f"{name}.parquet")
        ref_ann = wfdb.rdann(str(mitdb_dir / name), "atr")
        np.testing.assert_array_equal(ann.column("sample").to_numpy(), ref_ann.sample)
        assert ann.column("symbol").to_pylist() == ref_ann.symbol
        np.testing.assert_allclose(ann.column("time_s").to_numpy(), ref_ann.sample / 360.0)


def test_second_run_adds_nothing_and_says_so(ingested) -> None:
    data, _, second = ingested
    assert second.new == []
    assert second.quarantined == []
    assert second.failed == []
    assert len(second.unchanged) == N_RECORDS
    assert "nothing new" in second.render()
    assert _count(data, "select count(*) from recordings") == N_RECORDS
    assert _count(data, "select count(*) from annotations") == N_ANNOTATIONS
    assert _count(data, "select records_new from ingest_runs order by started_at desc limit 1") == 0


def test_shared_data_untouched(mitdb_dir: Path) -> None:
    assert len(list(mitdb_dir.glob("*.hea"))) == N_RECORDS
    assert len(list(mitdb_dir.glob("*.atr"))) == N_RECORDS
