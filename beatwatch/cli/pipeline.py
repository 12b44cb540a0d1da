"""Commands that run the pipeline and read its results: ingest, nightly, report, demo,
fetch, evaluate, status, sql."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from beatwatch.cli.common import (
    ConfigFile,
    DataDir,
    Inbox,
    NightDate,
    app,
    build_settings,
    quiet_prefect,
    run_flow,
)
from beatwatch.settings import REPO_ROOT, Settings


@app.command()
def ingest(config: ConfigFile = None, data_dir: DataDir = None, inbox: Inbox = None) -> None:
    """Ingest new WFDB records from the inbox: validate, write Parquet, catalogue in DuckDB.

    Records already ingested with identical content are skipped; bad ones are moved to
    <data dir>/quarantine with the reason. Safe to run again at any time.
    """
    from flows.ingest import ingest_flow

    run_flow(ingest_flow, build_settings(config, data_dir, inbox), config)


@app.command()
def nightly(
    config: ConfigFile = None,
    data_dir: DataDir = None,
    inbox: Inbox = None,
    date: NightDate = None,
) -> None:
    """Run the whole night once, now: ingest, validate, preprocess, train (first model
    only), score, report, publish.

    This is what the scheduled deployment runs. Running a night again (same --date)
    replaces its results.
    """
    from flows.nightly import nightly_flow

    run_date = None if date is None else date.date()
    run_flow(nightly_flow, build_settings(config, data_dir, inbox), config, run_date=run_date)


@app.command()
def report(date: NightDate = None, data_dir: DataDir = None) -> None:
    """Print a night's summary and the path of its HTML report (default: the latest night)."""
    settings = build_settings(None, data_dir, None)
    from warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        where = "run_date = ?" if date is not None else "true"
        row = con.execute(
            "select run_date, status, records_scored, beats_scored, beats_flagged,"
            " share_flagged, model_version, report_path, note from nightly_runs"
            f" where {where} order by run_date desc limit 1",
            [date.date()] if date is not None else [],
        ).fetchone()
        if row is None:
            wanted = "no night" if date is None else f"no night {date:%Y-%m-%d}"
            typer.echo(f"{wanted} in {settings.warehouse_path}", err=True)
            raise typer.Exit(1)
        night, state, records, beats, flagged, share, model, path, note = row
        typer.echo(
            f"Night {night}: {state}; {beats} beats of {records} recordings scored by "
            f"{model}, {flagged} flagged ({100 * (share or 0):.2f} %)"
        )
        if note:
            typer.echo(f"  note: {note}")
        con.sql(
            "select record, beats_scored as beats, beats_flagged as flagged,"
            " round(100 * share_flagged, 2) as pct_flagged, round(mean_hr_bpm) as mean_hr_bpm"
            " from nightly_reports where run_date = ? order by share_flagged desc",
            params=[night],
        ).show(max_rows=60)
    typer.echo(f"Report: {path}")


@app.command()
def demo(
    data_dir: DataDir = None,
    records: Annotated[int, typer.Option(help="How many synthetic recordings to write.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic recordings.")] = 7,
) -> None:
    """Write seeded synthetic ECG recordings to the inbox and run the nightly flow on them.

    The recordings (5 minutes each, 360 Hz, leads MLII and V1) have realistic beats,
    some premature ventricular and atrial beats, and reference annotations.
    """
    settings = build_settings(None, data_dir, None)
    from beatwatch.sources import SyntheticSource
    from flows.nightly import nightly_flow

    written = SyntheticSource(records=records, seed=seed).deliver(settings.inbox)
    typer.echo(f"wrote {len(written)} files of {records} synthetic records to {settings.inbox}")
    quiet_prefect()
    summary = nightly_flow(data_dir=settings.data_dir, inbox=settings.inbox)
    typer.echo("\n" + summary.render())
    typer.echo("\n" + _status_text(settings))
    from warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        typer.echo("\nWhat landed (view recording_overview):")
        con.sql(
            "select record, duration_min, fs_hz, leads, n_reference_beats"
            " from recording_overview order by record"
        ).show()
        typer.echo("The night's highest-scoring flagged beats (view flagged_beats):")
        con.sql(
            "select record, time_into_recording, round(score, 1) as score, hr_around_bpm,"
            " ref_symbol from flagged_beats order by score desc limit 8"
        ).show()
    bin_dir = Path(sys.executable).parent
    typer.echo(
        "\nTry some SQL (read-only, safe while the pipeline runs):\n"
        f"  {bin_dir / 'beatwatch'} sql --data-dir {settings.data_dir} \\\n"
        '    "select record, symbol, count(*) as n from annotations group by all order by n desc"\n'
        f"  {bin_dir / 'duckdb'} -readonly {settings.warehouse_path} \\\n"
        '    "select * from recording_overview"'
        f"\nThe night's report: {bin_dir / 'beatwatch'} report --data-dir {settings.data_dir}"
        "\nThe warehouse, for clinicians: docs/warehouse.md"
    )
    raise typer.Exit(1 if summary.failed or summary.preprocess_failed else 0)


@app.command()
def fetch(
    database: Annotated[
        str | None,
        typer.Argument(
            help="PhysioNet database, e.g. mitdb or mitdb/1.0.0 (pin the version for a mirror).",
            show_default=False,
        ),
    ] = None,
    records: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated record names (default: every record).", show_default=False
        ),
    ] = None,
    annotators: Annotated[str, typer.Option(help="Annotation extensions to fetch.")] = "atr",
    index_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of a PhysioNet mirror (default: PhysioNet).", show_default=False
        ),
    ] = None,
    from_folder: Annotated[
        Path | None,
        typer.Option(help="Copy records from a local WFDB folder instead.", show_default=False),
    ] = None,
    data_dir: DataDir = None,
    inbox: Inbox = None,
) -> None:
    """Deliver WFDB records into the inbox: from PhysioNet (wfdb's downloader) or a folder.

    Files arrive atomically (header last), identical files are left alone. Run
    `beatwatch ingest` afterwards, or let the nightly schedule pick them up.
    """
    settings = build_settings(None, data_dir, inbox)
    from beatwatch.sources import LocalFolderSource, PhysioNetSource, RecordingSource, SourceError

    names = tuple(r.strip() for r in records.split(",") if r.strip()) if records else None
    kinds = tuple(a.strip() for a in annotators.split(",") if a.strip())
    source: RecordingSource
    if from_folder is not None:
        source = LocalFolderSource(from_folder, records=names, annotators=kinds)
    elif database is not None:
        extra = {"index_url": index_url} if index_url else {}
        source = PhysioNetSource(database, records=names, annotators=kinds, **extra)
    else:
        raise typer.BadParameter("name a DATABASE or give --from-folder DIR")
    try:
        written = source.deliver(settings.inbox)
    except (SourceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{len(written)} files in {settings.inbox} from {source.name}")


@app.command()
def evaluate(
    protocol: Annotated[
        str,
        typer.Option(
            help="beatgan (MIT-BIH, 5 folds over normal beats), interpatient (train DS1, test "
            "DS2, our own beats), ecg5000, or all.",
        ),
    ],
    model: Annotated[str, typer.Option(help="conv_ae or vae.")] = "conv_ae",
    epochs: Annotated[
        int | None, typer.Option(help="Override the protocol's epochs.", show_default=False)
    ] = None,
    folds: Annotated[
        int | None, typer.Option(help="Override the number of folds.", show_default=False)
    ] = None,
    shared_data: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding mitdb/ and ecg5000_tf/ (default: ../shared/data).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Train and evaluate the autoencoder on a published protocol; store the figures.

    Results land in the `evaluations` table (one row per protocol, metric and model
    version), the model in `model_versions`, and an HTML report (ROC curve, error
    histograms, example reconstructions) in <data dir>/reports/.
    """
    settings = build_settings(None, data_dir, None)
    from dataclasses import replace

    from beatwatch.evaluate import record_evaluation
    from beatwatch.protocols import PROTOCOLS, default_configs, run_protocol
    from warehouse import apply_schema, connect, publish_snapshot

    chosen = PROTOCOLS if protocol == "all" else (protocol,)
    if any(p not in PROTOCOLS for p in chosen):
        raise typer.BadParameter(f"protocol must be one of {', '.join(PROTOCOLS)} or all")
    source = shared_data or REPO_ROOT.parent / "shared" / "data"
    for name in chosen:
        train_cfg, model_cfg = default_configs(name, model)  # type: ignore[arg-type]
        if epochs is not None:
            train_cfg = replace(train_cfg, epochs=epochs)
        result = run_protocol(
            name, train_cfg, model_cfg, data_dir=source, folds=folds, progress=typer.echo
        )
        with connect(settings.work_db_path) as con:
            apply_schema(con)
            record = record_evaluation(
                con, result, models_dir=settings.models_dir, reports_dir=settings.reports_dir
            )
        typer.echo(f"\n{name}: model {record.model_version}, report {record.report_path}")
        for metric, (mean, std) in record.summary.items():
            typer.echo(f"  {metric:<28} {mean:.4f} ± {std:.4f}")
    publish_snapshot(settings.work_db_path, settings.warehouse_path)


@app.command()
def status(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Show what the warehouse holds: recordings, annotations, recent runs, quarantine."""
    settings = build_settings(config, data_dir, None)
    typer.echo(_status_text(settings))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the published warehouse.")],
    data_dir: DataDir = None,
) -> None:
    """Run one SQL query on the warehouse, read-only, and print the result."""
    settings = build_settings(None, data_dir, None)
    import duckdb

    from warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        try:
            con.sql(query).show(max_rows=100, max_width=160)
        except duckdb.Error as exc:
            typer.echo(f"query failed: {exc}", err=True)
            raise typer.Exit(1) from None


def _status_text(settings: Settings) -> str:
    from warehouse import connect, query_sql

    if not settings.warehouse_path.is_file():
        return (
            f"No warehouse yet at {settings.warehouse_path}: "
            "run `beatwatch demo` or `beatwatch ingest`."
        )
    with connect(settings.warehouse_path, read_only=True) as con:
        (recs, hours, anns, quarantined, failed, runs) = con.execute(
            query_sql("status_counts")
        ).fetchone()  # type: ignore[misc]
        recent = con.execute(query_sql("recent_runs"), [5]).fetchall()
        rejected = con.execute(query_sql("recent_quarantine"), [5]).fetchall()
    lines = [
        f"Warehouse {settings.warehouse_path} (read-only)",
        f"  {recs} recordings ({hours:.1f} h of ECG), {anns} reference annotations",
        f"  {quarantined} quarantined deliveries, {failed} failed expectations, {runs} ingest runs",
    ]
    if recent:
        lines.append("  recent runs (found / new / unchanged / quarantined / failed):")
        for run_id, started, _fin, found, new, same, quar, fail in recent:
            lines.append(
                f"    {started:%Y-%m-%d %H:%M} {run_id[:8]}  "
                f"{found} / {new} / {same} / {quar} / {fail}"
            )
    if rejected:
        lines.append("  latest quarantine entries:")
        for when, record, kind, reason, _path in rejected:
            lines.append(f"    {when:%Y-%m-%d %H:%M} {record} [{kind}] {reason[:110]}")
    return "\n".join(lines)
