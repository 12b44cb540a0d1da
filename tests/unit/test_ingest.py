"""The exactly-once rules, quarantine moves and the warehouse writes, without Prefect."""

import json
from pathlib import Path

import duckdb
import pytest

from beatwatch.inbox import scan_inbox
from beatwatch.ingest import (
    KnownDelivery,
    promote_to_lake,
    stage_recording,
    triage,
    validation_rejection,
)
from beatwatch.quarantine import Rejection, quarantine
from beatwatch.validation import ExpectationOutcome
from warehouse import apply_schema, connect, publish_snapshot, writes
from warehouse.store import SQL_DIR


def _known(delivery) -> KnownDelivery:
    return KnownDelivery(
        delivery.name,
        delivery.content_sha256,
        delivery.signal_sha256,
        {d.path.name: d.sha256 for d in delivery.digests},
    )


def test_triage_new_unchanged_duplicate_conflict(tmp_path: Path, make_record) -> None:
    first = tmp_path / "first"
    make_record(first, "r1")
    (accepted,) = scan_inbox(first).records

    inbox = tmp_path / "inbox"
    make_record(inbox, "r1")  # identical content: unchanged
    make_record(inbox, "r2", seed=9)  # new
    make_record(inbox / "again", "r9")  # same samples as r1 under another name: duplicate
    changed = tmp_path / "changed"
    make_record(changed, "r1", seed=4)
    make_record(inbox / "ward", "r3", seed=11)  # new, in a subfolder
    plan = triage(scan_inbox(inbox), {"r1": _known(accepted)}, quarantined=set())
    assert sorted(d.name for d in plan.new) == ["r2", "r3"]
    assert [d.name for d in plan.unchanged] == ["r1"]
    assert [(r.record, r.kind) for r in plan.rejected] == [("r9", "duplicate")]
    assert "identical to record 'r1'" in plan.rejected[0].reason

    plan = triage(scan_inbox(changed), {"r1": _known(accepted)}, quarantined=set())
    (conflict,) = plan.rejected
    assert conflict.kind == "conflict"
    assert "r1.dat" in conflict.reason
    assert "never overwritten" in conflict.reason


def test_triage_skips_what_was_already_quarantined(tmp_path: Path, make_record) -> None:
    make_record(tmp_path, "q1")
    (tmp_path / "q1.dat").unlink()
    (tmp_path / "junk.txt").write_text("x")
    scan = scan_inbox(tmp_path)
    first = triage(scan, {}, quarantined=set())
    assert {r.kind for r in first.rejected} == {"missing_signal_file", "not_ecg"}
    again = triage(scan, {}, quarantined={r.content_sha256 for r in first.rejected})
    assert again.rejected == ()
    assert again.new == ()


def test_quarantine_moves_originals_and_writes_reason(tmp_path: Path, make_record) -> None:
    inbox = tmp_path / "inbox"
    files = make_record(inbox / "sub", "z1")
    before = {p.name: p.read_bytes() for p in files}
    rejection = Rejection(
        "z1", "truncated_signal", "z1.dat: truncated", files[0], tuple(files), "abc"
    )
    entry = quarantine(rejection, inbox=inbox, quarantine_dir=tmp_path / "q", run_id="run1")
    folder = Path(entry.quarantine_path)
    assert all(not p.exists() for p in files)
    after = {p.name: p.read_bytes() for p in (folder / "sub").iterdir()}
    assert after == before  # every byte kept
    reason = json.loads((folder / "reason.json").read_text())
    assert reason["kind"] == "truncated_signal"
    assert reason["record"] == "z1"
    assert reason["reason"] == f"{files[0].name}: z1.dat: truncated"
    assert reason["original_paths"] == [str(p) for p in files]


def test_stage_validate_commit_roundtrip(tmp_path: Path, make_record) -> None:
    make_record(tmp_path / "inbox", "w1", duration_s=45.0)
    (delivery,) = scan_inbox(tmp_path / "inbox").records
    staged = stage_recording(delivery, tmp_path / "staging")
    assert staged.signal_file.is_file()
    assert staged.n_annotations > 0
    ok = [ExpectationOutcome("w1", "signal", "expect_x", "lead", True, "{}")]
    assert validation_rejection(staged, ok) is None
    bad = [*ok, ExpectationOutcome("w1", "annotations", "expect_y", "sample", False, '{"n": 1}')]
    rejection = validation_rejection(staged, bad)
    assert rejection is not None
    assert rejection.failed_file == delivery.annotation_file
    assert "annotations.expect_y(sample) failed" in rejection.reason

    signals, annotations = promote_to_lake(staged, tmp_path / "lake")
    assert not staged.signal_file.exists()
    db = tmp_path / "work.duckdb"
    for _ in range(2):  # committing twice replaces, never duplicates
        with connect(db) as con:
            apply_schema(con)
            writes.insert_recording(
                con,
                staged,
                signal_path=signals,
                annotation_path=annotations,
                annotator="atr",
                run_id="r",
            )
    published = publish_snapshot(db, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from recordings").fetchone() == (1,)
        (n_ann,) = con.execute("select count(*) from annotations").fetchone()
        assert n_ann == staged.n_annotations
        (files,) = con.execute("select source_files from recordings").fetchone()
        assert {f["name"] for f in files} == {"w1.hea", "w1.dat", "w1.atr"}
        row = con.execute("select n_samples, fs_hz, duration_s from recordings").fetchone()
        assert row == (45 * 360, 360.0, 45.0)


def test_schema_is_idempotent(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        apply_schema(con)
        apply_schema(con)
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
    assert {"recordings", "annotations", "validations", "quarantine", "ingest_runs"} <= tables


def test_an_older_warehouse_gets_todays_beat_scores_with_its_rows_kept(tmp_path) -> None:
    # beat_scores as warehouses made it before: keyed, without the beat set and context
    ddl = (SQL_DIR / "100_beat_scores.sql").read_text(encoding="utf-8")
    old_ddl = ddl[: ddl.index(",\n    preprocess_key")] + (
        ",\n    primary key (record, beat_index, model_version)\n);"
    )
    with connect(tmp_path / "w.duckdb") as con:
        for table in ("060_beat_sets.sql", "070_beats.sql"):
            con.execute((SQL_DIR / table).read_text(encoding="utf-8"))
        con.execute(old_ddl)
        con.execute(
            "insert into beat_sets values ('r1', 'MLII', 360, 320, 0.39, 8, 8, null, null, null,"
            " null, '/lake/beats/r1.parquet', 'k1', now(), 'run')"
        )
        con.execute(
            "insert into beats select 'r1', i, 360 * i, i, 0.8, 0.9, 'MLII',"
            " if(i = 6, 'V', 'N'), if(i = 6, 'V', 'N') from range(8) t(i)"
        )
        con.execute(
            "insert into beat_scores select 'r1', i, 'v1', 360 * i, i, i / 10, 0, 0, 0.01, 1,"
            " 0.5, 'percentile 98', i > 5, 'run', date '2026-11-01', now() from range(8) t(i)"
        )
        apply_schema(con)
        apply_schema(con)  # a second time: nothing left to migrate
        constraints = con.execute(
            "select constraint_type, count(*) from duckdb_constraints()"
            " where table_name = 'beat_scores' group by all"
        ).fetchall()
        assert dict(constraints) == {"NOT NULL": 16}  # the key gone, every NOT NULL kept
        rows = con.execute("select count(*), sum(flagged::int) from beat_scores").fetchone()
        assert rows == (8, 2)
        # each row now names its beat set and carries its beat's context, from beats
        filled = con.execute(
            "select distinct preprocess_key, lead, rr_prev_s, rr_next_s from beat_scores"
        ).fetchall()
        assert filled == [("k1", "MLII", pytest.approx(0.8), pytest.approx(0.9))]
        # (apply_schema re-created flagged_beats, which reads these columns, after migrating)
        assert con.execute(
            "select beat_index, ref_symbol from beat_scores where flagged order by 1"
        ).fetchall() == [(6, "V"), (7, "N")]


def test_read_only_connect_names_missing_file(tmp_path: Path) -> None:
    with (
        pytest.raises(FileNotFoundError, match="no warehouse at"),
        connect(tmp_path / "x.duckdb", read_only=True),
    ):
        pass
