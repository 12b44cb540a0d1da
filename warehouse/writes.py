"""Writes to the pipeline's working database, each in one short transaction.

Every write is idempotent where a re-run could repeat it: a recording and its annotations are
replaced as a unit, so a run interrupted after the lake rename but before this write leaves
nothing half-done for the next run to trip over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from beatwatch.ingest import KnownDelivery, StagedRecording
from beatwatch.preprocess import BeatFile, PendingRecording, PreprocessConfig
from beatwatch.quarantine import QuarantineEntry
from beatwatch.scoring import RecordScores
from beatwatch.validation import ExpectationOutcome
from warehouse.store import query_sql, transaction


def _insert_row(con: duckdb.DuckDBPyConnection, table: str, row: Mapping[str, Any]) -> None:
    """Insert one row given as {column: value}; table and column names come from our code."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"insert into {table} ({columns}) values ({marks})", list(row.values()))


def _delete_record(con: duckdb.DuckDBPyConnection, table: str, record: str) -> bool:
    """Delete ``record``'s row of a per-record table (``recordings``, ``beat_sets``); whether
    there was one.

    A writer deletes from the record's big table (``annotations``, ``beats``) only if so.
    That delete reads the table's whole ``record`` column where DuckDB's min/max statistics
    cannot rule a row group out (record names that do not sort in delivery order): about
    15 ms a record with 20 million rows, and 0.4 s for the night's first (from disk).
    """
    deleted = con.execute(f"delete from {table} where record = ? returning record", [record])
    return bool(deleted.fetchall())


def known_deliveries(con: duckdb.DuckDBPyConnection) -> dict[str, KnownDelivery]:
    """Accepted recordings by name, with the SHA-256 of each of their files."""
    rows = con.execute(
        "select record, content_sha256, signal_sha256, source_files from recordings"
    ).fetchall()
    return {
        r: KnownDelivery(r, content, signal, {f["name"]: f["sha256"] for f in files})
        for r, content, signal, files in rows
    }


def quarantined_contents(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(query_sql("quarantined_contents")).fetchall()}


def insert_recording(
    con: duckdb.DuckDBPyConnection,
    staged: StagedRecording,
    *,
    signal_path: Path,
    annotation_path: Path | None,
    annotator: str,
    run_id: str,
) -> None:
    """Register an accepted recording and load its annotations, replacing any earlier rows."""
    d = staged.delivery
    h = staged.header
    row: dict[str, Any] = {
        "record": d.name,
        **h,
        "n_annotations": staged.n_annotations,
        "annotator": annotator if annotation_path is not None else None,
        "content_sha256": d.content_sha256,
        "signal_sha256": d.signal_sha256,
        "source_files": [
            {"name": f.path.name, "bytes": f.bytes, "sha256": f.sha256} for f in d.digests
        ],
        "source_dir": str(d.header.parent),
        "signal_path": str(signal_path),
        "annotation_path": None if annotation_path is None else str(annotation_path),
        "ingested_at": datetime.now(UTC),
        "run_id": run_id,
    }
    with transaction(con, "recordings"):
        if _delete_record(con, "recordings", d.name):  # only then can it have annotations
            con.execute("delete from annotations where record = ?", [d.name])
        _insert_row(con, "recordings", row)
        if annotation_path is not None:
            con.execute(
                "insert into annotations select record, sample, time_s, symbol, subtype, chan,"
                " num, aux_note from read_parquet(?)",
                [str(annotation_path)],
            )


def insert_validations(
    con: duckdb.DuckDBPyConnection, outcomes: Iterable[ExpectationOutcome], *, run_id: str
) -> None:
    """A record's expectation results, replacing any earlier ones of the same record: a run
    killed after validating re-validates, and the table keeps each record's latest results."""
    now = datetime.now(UTC)
    rows = [
        (run_id, o.record, o.suite, o.expectation, o.column, o.success, o.observed, now)
        for o in outcomes
    ]
    if rows:
        with transaction(con, "validations"):
            records = sorted({row[1] for row in rows})
            con.execute("delete from validations where list_contains(?, record)", [records])
            con.executemany("insert into validations values (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def insert_quarantine(con: duckdb.DuckDBPyConnection, entry: QuarantineEntry) -> None:
    con.execute(
        "insert into quarantine values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.quarantined_at,
            entry.run_id,
            entry.record,
            entry.kind,
            entry.reason,
            entry.failed_file,
            list(entry.original_paths),
            entry.quarantine_path,
            entry.content_sha256,
        ],
    )


def start_run(con: duckdb.DuckDBPyConnection, *, run_id: str, inbox: Path) -> None:
    con.execute(
        "insert into ingest_runs (run_id, started_at, inbox) values (?, ?, ?)"
        " on conflict (run_id) do update set inbox = excluded.inbox",
        [run_id, datetime.now(UTC), str(inbox)],
    )


def finish_run(con: duckdb.DuckDBPyConnection, *, run_id: str, counts: Mapping[str, Any]) -> None:
    """Fill in a run's counts and stage times (``records_*`` and ``*_s`` columns)."""
    assignments = ", ".join(f"{column} = ?" for column in counts)
    con.execute(
        f"update ingest_runs set finished_at = ?, {assignments} where run_id = ?",
        [datetime.now(UTC), *counts.values(), run_id],
    )


def pending_preprocess(con: duckdb.DuckDBPyConnection, key: str) -> list[PendingRecording]:
    """Accepted recordings whose beats are missing or were made under another key."""
    rows = con.execute(query_sql("pending_preprocess"), [key]).fetchall()
    return [
        PendingRecording(
            record=record,
            signal_path=Path(signal),
            annotation_path=None if annotations is None else Path(annotations),
            fs_hz=fs,
            leads=tuple(leads),
        )
        for record, signal, annotations, fs, leads in rows
    ]


def insert_beat_set(
    con: duckdb.DuckDBPyConnection, beat_file: BeatFile, *, cfg: PreprocessConfig, run_id: str
) -> None:
    """Register a recording's beat set and load its beats (without windows), replacing any
    earlier set of the same recording, in one transaction. Scores of the earlier set stay
    in ``beat_scores`` (each row carries its set and its beat's context)."""
    row = {
        "record": beat_file.record,
        "lead": beat_file.lead,
        "model_fs_hz": cfg.model_fs_hz,
        "window_samples": cfg.window.n_samples,
        "window_before_s": cfg.window.before_s,
        "n_detected": beat_file.n_detected,
        "n_beats": beat_file.n_beats,
        "n_reference": beat_file.n_reference,
        "matched": beat_file.matched,
        "missed": beat_file.missed,
        "extra": beat_file.extra,
        "beats_path": str(beat_file.path),
        "preprocess_key": cfg.key(),
        "created_at": datetime.now(UTC),
        "run_id": run_id,
    }
    with transaction(con, "beat_sets"):
        if _delete_record(con, "beat_sets", beat_file.record):  # only then can it have beats
            con.execute("delete from beats where record = ?", [beat_file.record])
        _insert_row(con, "beat_sets", row)
        con.execute(
            "insert into beats select record, beat_index, r_sample, time_s, rr_prev_s, rr_next_s,"
            " lead, ref_symbol, aami_class from read_parquet(?)",
            [str(beat_file.path)],
        )


# --------------------------------------------------------------------------- nights


def begin_night(
    con: duckdb.DuckDBPyConnection, *, run_id: str, run_date: date, started_at: datetime
) -> None:
    """Open a night's ``nightly_runs`` row, replacing any earlier run of the same night.

    An earlier run of ``run_date`` (a re-run, or a run that crashed) loses its row, its
    ``nightly_reports`` and its ``beat_scores``; its records are scored again tonight.
    """
    with transaction(con):
        for table in ("beat_scores", "nightly_reports", "nightly_runs"):
            con.execute(f"delete from {table} where run_date = ?", [run_date])
        con.execute(
            "insert into nightly_runs (run_id, run_date, started_at, status) values (?, ?, ?, ?)",
            [run_id, run_date, started_at, "running"],
        )
        con.execute(  # ties this run's ingest to the night, across re-runs
            "insert into ingest_runs (run_id, started_at, inbox, run_date) values (?, ?, '', ?)"
            " on conflict (run_id) do update set run_date = excluded.run_date",
            [run_id, started_at, run_date],
        )


def pending_scoring(
    con: duckdb.DuckDBPyConnection, *, model_version: str, run_date: date
) -> list[tuple[str, Path]]:
    """(record, beats Parquet) of the beat sets ``model_version`` has yet to score."""
    rows = con.execute(
        query_sql("pending_scoring"), {"model_version": model_version, "run_date": run_date}
    ).fetchall()
    return [(record, Path(path)) for record, path in rows]


def insert_record_scores(
    con: duckdb.DuckDBPyConnection,
    scores: RecordScores,
    *,
    model_version: str,
    threshold_rule: str,
    run_id: str,
    run_date: date,
) -> None:
    """A record's beat scores and its ``nightly_reports`` row, in one transaction; replaces
    earlier scores of the record's current beat set by the same model. Scores of the beat
    sets it had before (earlier settings or detector code) stay, with the nights they
    belong to."""
    now = datetime.now(UTC)
    top = [{"beat_index": t.beat_index, "time_s": t.time_s, "score": t.score} for t in scores.top]
    with transaction(con, "beat_scores"):
        beat_set = con.execute(  # the set these beats came from (None: not registered)
            "select preprocess_key from beat_sets where record = ?", [scores.record]
        ).fetchone()
        key = None if beat_set is None else beat_set[0]
        # Earlier scores are looked for in beat_scores (one row per beat and model: the
        # biggest table) only if nightly_reports, which gets a row with every insert below,
        # says the model scored the record before (see _delete_record).
        scored_before = con.execute(
            "select count(*) from nightly_reports where record = ? and model_version = ?",
            [scores.record, model_version],
        ).fetchone()
        if scored_before is not None and scored_before[0] > 0:
            con.execute(
                "delete from beat_scores where record = ? and model_version = ?"
                " and preprocess_key is not distinct from ?",
                [scores.record, model_version, key],
            )
        con.register("scored_beats", scores.table)
        con.execute(
            "insert into beat_scores by name select record, beat_index, $model_version as"
            " model_version, r_sample, time_s, score, shape_z, timing_z, recon_error,"
            " relative_score, $threshold as threshold, $rule as threshold_rule, flagged,"
            " $run_id as run_id, $run_date as run_date, $now as scored_at,"
            " $key as preprocess_key, rr_prev_s, rr_next_s, lead, ref_symbol, aami_class"
            " from scored_beats",
            {
                "key": key,
                "model_version": model_version,
                "threshold": scores.threshold,
                "rule": threshold_rule,
                "run_id": run_id,
                "run_date": run_date,
                "now": now,
            },
        )
        con.unregister("scored_beats")
        _insert_row(
            con,
            "nightly_reports",
            {
                "run_id": run_id,
                "run_date": run_date,
                "record": scores.record,
                "model_version": model_version,
                "threshold": scores.threshold,
                "beats_scored": scores.beats_scored,
                "beats_flagged": scores.beats_flagged,
                "share_flagged": scores.share_flagged,
                "mean_hr_bpm": scores.mean_hr_bpm,
                "top_anomalies": top,
                "scored_at": now,
            },
        )


def night_ingest_counts(con: duckdb.DuckDBPyConnection, run_date: date) -> tuple[int, int]:
    """Recordings accepted and deliveries quarantined by every run of the night ``run_date``
    (a night killed and run again counts what both runs did, once)."""
    return con.execute(
        "select (select count(*) from recordings r join ingest_runs i using (run_id)"
        "        where i.run_date = $d),"
        "       (select count(*) from quarantine q join ingest_runs i using (run_id)"
        "        where i.run_date = $d)",
        {"d": run_date},
    ).fetchone()


def finish_night(con: duckdb.DuckDBPyConnection, *, run_id: str, values: Mapping[str, Any]) -> None:
    """Fill in a night's results: counts, model, report path, stage times, status."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    con.execute(
        f"update nightly_runs set finished_at = ?, {assignments} where run_id = ?",
        [datetime.now(UTC), *values.values(), run_id],
    )
