"""Reading WFDB deliveries: physical values, metadata, and clear errors for bad input."""

from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatwatch.errors import RejectedInput
from beatwatch.inbox import scan_inbox
from beatwatch.recording import mv_per_unit, read_wfdb_recording


def _only_delivery(inbox: Path):
    scan = scan_inbox(inbox)
    assert len(scan.records) == 1
    return scan.records[0]


def test_reads_physical_signal_exactly_as_wfdb(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "r1", fs_hz=250.0, duration_s=40.0, seed=3)
    rec = read_wfdb_recording(_only_delivery(tmp_path))
    ref = wfdb.rdrecord(str(tmp_path / "r1"))
    assert rec.signals.dtype == np.float32
    assert rec.fs_hz == 250.0
    assert rec.leads == tuple(ref.sig_name)
    assert rec.n_samples == ref.sig_len == 40 * 250
    np.testing.assert_array_equal(rec.signals, ref.p_signal.astype(np.float32))
    ann = wfdb.rdann(str(tmp_path / "r1"), "atr")
    assert rec.annotations is not None
    np.testing.assert_array_equal(rec.annotations.sample, ann.sample)
    assert rec.annotations.symbol.tolist() == ann.symbol


def test_record_without_annotations(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "r2", annotations=False)
    assert read_wfdb_recording(_only_delivery(tmp_path)).annotations is None


def test_truncated_signal_names_file_and_sizes(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "r3")
    dat = tmp_path / "r3.dat"
    size = dat.stat().st_size
    with dat.open("r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(RejectedInput, match=r"truncated signal file: \d+ bytes") as err:
        read_wfdb_recording(_only_delivery(tmp_path))
    assert err.value.path == dat
    assert err.value.kind == "truncated_signal"


def test_unknown_format_is_named(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "r4")
    hea = tmp_path / "r4.hea"
    hea.write_text(hea.read_text().replace(" 212 ", " 999 ").replace(" 212", " 999"))
    with pytest.raises(RejectedInput, match="format '999'") as err:
        read_wfdb_recording(_only_delivery(tmp_path))
    assert err.value.kind == "unknown_format"


def test_corrupt_header_is_found_while_scanning(tmp_path: Path) -> None:
    (tmp_path / "r5.hea").write_text("this is not\x00 a header\n")
    (tmp_path / "r5.dat").write_bytes(b"\x00" * 30)
    delivery = _only_delivery(tmp_path)
    assert delivery.problem is not None
    assert delivery.problem.kind == "corrupt_header"
    assert set(delivery.files) == {tmp_path / "r5.hea", tmp_path / "r5.dat"}
    with pytest.raises(RejectedInput, match="corrupt header"):
        read_wfdb_recording(delivery)


def test_annotation_made_for_another_sampling_rate(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "r6", fs_hz=360.0)
    (tmp_path / "r6.atr").unlink()
    wfdb.wrann(
        "r6", "atr", np.array([100, 400]), symbol=["N", "N"], fs=250, write_dir=str(tmp_path)
    )
    with pytest.raises(RejectedInput, match=r"made for 250 Hz.*does not belong") as err:
        read_wfdb_recording(_only_delivery(tmp_path))
    assert err.value.path == tmp_path / "r6.atr"
    assert err.value.kind == "foreign_annotation"


@pytest.mark.parametrize(("unit", "factor"), [("mV", 1.0), ("uV", 1e-3), ("V", 1e3), ("?", 1.0)])
def test_units_to_millivolts(unit: str, factor: float) -> None:
    assert mv_per_unit(unit) == factor
