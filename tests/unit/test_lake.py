"""The lake's files: schema, metadata, and atomic replacement."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beatwatch import lake
from beatwatch.recording import Annotations, Recording


def _recording(leads: tuple[str, ...] = ("MLII", "V1")) -> Recording:
    n = 1000
    return Recording(
        name="r1",
        fs_hz=250.0,
        leads=leads,
        units=("mV",) * len(leads),
        adc_gains=(200.0,) * len(leads),
        baselines=(0,) * len(leads),
        formats=("212",) * len(leads),
        n_samples_header=n,
        start_time=None,
        comments=(),
        signals=np.random.default_rng(0).normal(size=(n, len(leads))).astype(np.float32),
        annotations=None,
    )


def test_signal_table_layout_and_metadata() -> None:
    rec = _recording()
    table = lake.signals_table(rec)
    assert table.column_names == ["sample", "MLII", "V1"]
    assert table.schema.field("V1").type == pa.float32()
    assert table.schema.field("V1").metadata[b"unit"] == b"mV"
    assert json.loads(table.schema.metadata[b"beatwatch"]) == {"record": "r1", "fs_hz": 250.0}
    np.testing.assert_array_equal(table.column("V1").to_numpy(), rec.signals[:, 1])


def test_repeated_lead_names_get_suffixes() -> None:
    assert lake.signal_column_names(("ECG", "ECG", "V1", "ECG")) == ["ECG", "ECG_2", "V1", "ECG_3"]


def test_annotation_times_in_seconds() -> None:
    ann = Annotations(
        sample=np.array([0, 250, 500]),
        symbol=np.array(["N", "V", "+"]),
        subtype=np.zeros(3, np.int16),
        chan=np.zeros(3, np.int16),
        num=np.zeros(3, np.int16),
        aux_note=np.array(["", "", "(AFIB"]),
    )
    table = lake.annotations_table("r1", ann, 250.0)
    assert table.column("time_s").to_pylist() == [0.0, 1.0, 2.0]
    assert table.column("aux_note").to_pylist() == [None, None, "(AFIB"]


def test_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "signals" / "r1.parquet"
    lake.write_parquet_atomic(lake.signals_table(_recording()), target)
    before = target.read_bytes()

    def crash(table: pa.Table, where: Path, **kwargs: object) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        lake.write_parquet_atomic(lake.signals_table(_recording(("II",))), target)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["r1.parquet"]
