"""The ingest flow on a corpus of bad deliveries beside good ones.

Each bad input must get a clear reason naming the file, a quarantine entry, its original
bytes kept in quarantine; the good records must be ingested all the same.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import wfdb

from flows.ingest import ingest_flow

# record or file name -> (quarantine kind, words the reason must contain)
EXPECTED = {
    "nosig": ("missing_signal_file", "nosig.dat"),
    "trunc": ("truncated_signal", "truncated signal file"),
    "corrupt": ("corrupt_header", "corrupt header"),
    "oddfmt": ("unknown_format", "format '999'"),
    "foreign": (
        "validation_failed",
        "annotations.expect_column_pair_values_a_to_be_greater_than_b(n_samples,sample)",
    ),
    "otherfs": ("foreign_annotation", "made for 250 Hz"),
    "g1copy": ("duplicate", "identical to record 'g1'"),
    "flat": ("validation_failed", "longest_flat_s"),
    "blank": ("empty_file", "empty file"),
    "notes.txt": ("not_ecg", "not part of any WFDB record"),
    "scan.jpg": ("not_ecg", "not part of any WFDB record"),
    "zero.dat": ("empty_file", "empty file"),
}


@pytest.fixture
def corpus(tmp_path: Path, make_record) -> Path:
    inbox = tmp_path / "inbox"
    make_record(inbox, "g1", seed=1)
    make_record(inbox / "ward2", "g2", seed=2, heart_rate_bpm=95.0, pvc_rate=0.1)

    make_record(inbox, "nosig", seed=3)
    (inbox / "nosig.dat").unlink()

    make_record(inbox, "trunc", seed=4)
    with (inbox / "trunc.dat").open("r+b") as fh:
        fh.truncate(5000)

    (inbox / "corrupt.hea").write_bytes(b"\x89PNG\r\n\x1a\n not a header at all")
    (inbox / "corrupt.dat").write_bytes(bytes(range(256)) * 10)

    make_record(inbox, "oddfmt", seed=5)
    hea = inbox / "oddfmt.hea"
    hea.write_text(hea.read_text().replace(" 212 ", " 999 "))

    # An annotation file that belongs to a 5-minute record, delivered with a 1-minute one.
    make_record(inbox, "foreign", seed=6, duration_s=60.0)
    other = tmp_path / "elsewhere"
    make_record(other, "foreign", seed=7, duration_s=300.0)
    shutil.copyfile(other / "foreign.atr", inbox / "foreign.atr")

    make_record(inbox, "otherfs", seed=8)
    (inbox / "otherfs.atr").unlink()
    wfdb.wrann(
        "otherfs", "atr", np.array([100, 500]), symbol=["N", "N"], fs=250, write_dir=str(inbox)
    )

    make_record(inbox / "again", "g1copy", seed=1)  # same samples as g1 under another name

    signal = np.zeros((360 * 60, 2))
    signal[:, 0] = np.sin(np.arange(360 * 60) / 20.0)
    wfdb.wrsamp(
        "flat",
        fs=360,
        units=["mV", "mV"],
        sig_name=["MLII", "V1"],
        p_signal=signal,
        fmt=["212", "212"],
        adc_gain=[200, 200],
        baseline=[0, 0],
        write_dir=str(inbox),
    )

    (inbox / "blank.hea").write_bytes(b"")
    (inbox / "notes.txt").write_text("patient moved to ward 3")
    (inbox / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0fake jpeg")
    (inbox / "zero.dat").write_bytes(b"")
    return inbox


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_bad_inputs_are_quarantined_and_good_ones_ingested(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    delivered = _snapshot(corpus)

    summary = ingest_flow(data_dir=data, inbox=corpus)

    assert sorted(summary.new) == ["g1", "g2"]
    assert summary.failed == []
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    rows = con.execute(
        "select coalesce(record, parse_filename(failed_file)), kind, reason, failed_file,"
        " quarantine_path from quarantine"
    ).fetchall()
    found = {name: (kind, reason, failed, folder) for name, kind, reason, failed, folder in rows}
    assert set(found) == set(EXPECTED)
    for name, (kind, words) in EXPECTED.items():
        got_kind, reason, failed_file, folder = found[name]
        assert got_kind == kind, (name, reason)
        assert words in reason, (name, reason)
        assert reason.startswith(f"{Path(failed_file).name}: "), reason
        assert (Path(folder) / "reason.json").is_file()

    # Nothing lost: every delivered byte is either still in the inbox (accepted records)
    # or in quarantine.
    kept = _snapshot(corpus) | _snapshot(data / "quarantine")
    for name, content in delivered.items():
        assert kept.get(name) == content, name
    assert {p.stem for p in corpus.rglob("*.hea")} == {"g1", "g2"}

    # Every record that was read was validated, and the results say why.
    suites = con.execute(
        "select record, count(*) filter (where not success) from validations group by record"
    ).fetchall()
    assert dict(suites) == {"g1": 0, "g2": 0, "foreign": 1, "flat": 1}
    assert con.execute("select count(*) from recordings").fetchone() == (2,)
    con.close()


def test_second_run_adds_nothing_and_changed_content_is_a_conflict(
    corpus: Path, tmp_path: Path, make_record
) -> None:
    data = tmp_path / "data"
    ingest_flow(data_dir=data, inbox=corpus)
    again = ingest_flow(data_dir=data, inbox=corpus)
    assert again.new == []
    assert again.quarantined == []
    assert sorted(again.unchanged) == ["g1", "g2"]
    assert "nothing new" in again.render()

    # The same name delivered again with other samples: never overwritten.
    late = tmp_path / "late"
    make_record(late, "g1", seed=99)
    for path in late.iterdir():
        shutil.copyfile(path, corpus / path.name)
    third = ingest_flow(data_dir=data, inbox=corpus)
    assert [q.kind for q in third.quarantined] == ["conflict"]
    assert "g1.dat" in third.quarantined[0].reason
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from recordings").fetchone() == (2,)
        assert con.execute("select count(*) from ingest_runs").fetchone() == (3,)


def test_another_process_reads_the_published_warehouse(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest_flow(data_dir=data, inbox=corpus)
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
        "print(con.execute('select count(*) from recordings').fetchone()[0],"
        " con.execute('select count(*) from annotations').fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data / "warehouse.duckdb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert int(out[0]) == 2
    assert int(out[1]) > 100
