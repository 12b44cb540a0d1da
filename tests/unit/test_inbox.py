"""Scanning the inbox: which files form a record, which are strays, and their identities."""

import hashlib
from pathlib import Path

from beatwatch.digests import sha256_file
from beatwatch.inbox import scan_inbox


def test_groups_record_files_and_finds_strays(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "a1")
    make_record(tmp_path / "ward7", "b2", annotations=False)
    (tmp_path / "notes.txt").write_text("shift handover")
    (tmp_path / "lonely.dat").write_bytes(b"\x01\x02")
    (tmp_path / "c3.atr").write_bytes(b"\x00\x00")
    (tmp_path / "empty.bin").write_bytes(b"")
    (tmp_path / ".d4.hea.part").write_text("in flight")  # a delivery in progress: ignored

    scan = scan_inbox(tmp_path)

    by_name = {d.name: d for d in scan.records}
    assert set(by_name) == {"a1", "b2"}
    assert {p.name for p in by_name["a1"].files} == {"a1.hea", "a1.dat", "a1.atr"}
    assert by_name["a1"].annotation_file == tmp_path / "a1.atr"
    assert by_name["b2"].annotation_file is None
    assert all(d.problem is None for d in scan.records)
    kinds = {s.path.name: s.kind for s in scan.strays}
    assert kinds == {
        "notes.txt": "not_ecg",
        "lonely.dat": "orphan_signal",
        "c3.atr": "orphan_annotation",
        "empty.bin": "empty_file",
    }


def test_missing_signal_file_is_a_problem(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "m1")
    (tmp_path / "m1.dat").unlink()
    (delivery,) = scan_inbox(tmp_path).records
    assert delivery.problem is not None
    assert delivery.problem.kind == "missing_signal_file"
    assert "m1.dat" in delivery.problem.reason


def test_empty_header_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "e1.hea").write_text("")
    (delivery,) = scan_inbox(tmp_path).records
    assert delivery.problem is not None
    assert delivery.problem.kind == "empty_file"


def test_checksum_list_is_enforced(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "s1")
    make_record(tmp_path, "s2", seed=1)
    lines = [f"{sha256_file(p)}  {p.name}" for p in sorted(tmp_path.iterdir())]
    (tmp_path / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "RECORDS").write_text("s1\ns2\n")
    dat = tmp_path / "s2.dat"
    data = bytearray(dat.read_bytes())
    data[100] ^= 0xFF
    dat.write_bytes(bytes(data))

    scan = scan_inbox(tmp_path)

    problems = {d.name: d.problem for d in scan.records}
    assert problems["s1"] is None
    assert problems["s2"] is not None
    assert problems["s2"].kind == "checksum_mismatch"
    assert problems["s2"].path == dat
    assert scan.strays == ()  # index files are not strays
    assert {p.name for p in scan.index_files} == {"SHA256SUMS.txt", "RECORDS"}


def test_content_identity(tmp_path: Path, make_record) -> None:
    make_record(tmp_path / "x", "r1")
    make_record(tmp_path / "y", "r1")
    make_record(tmp_path / "z", "r1", seed=5)
    (a,) = scan_inbox(tmp_path / "x").records
    (b,) = scan_inbox(tmp_path / "y").records
    (c,) = scan_inbox(tmp_path / "z").records
    assert a.content_sha256 == b.content_sha256
    assert a.content_sha256 != c.content_sha256
    assert a.signal_sha256 != c.signal_sha256
    assert a.digests[0].sha256 == hashlib.sha256(a.digests[0].path.read_bytes()).hexdigest()


def test_missing_inbox_scans_empty(tmp_path: Path) -> None:
    scan = scan_inbox(tmp_path / "nope")
    assert scan.records == ()
    assert scan.strays == ()
