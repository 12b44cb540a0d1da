"""The ``beatwatch`` command line: the one place settings are built and the environment read."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from beatwatch.settings import REPO_ROOT, Settings, load_settings

if TYPE_CHECKING:
    from beatwatch.summary import IngestSummary

app = typer.Typer(
    name="beatwatch",
    help=(
        "Beatwatch: nightly ECG anomaly detection.\n\n"
        "WFDB recordings dropped in an inbox folder are validated, stored as Parquet and "
        "catalogued in a DuckDB warehouse that clinicians query with SQL.\n\n"
        "Start with `beatwatch demo`, then `beatwatch status`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="BEATWATCH_DATA_DIR",
        help="Root of everything Beatwatch writes: lake/, quarantine/, warehouse.duckdb. "
        "Default: ./data in the checkout.",
        show_default=False,
    ),
]
Inbox = Annotated[
    Path | None,
    typer.Option(
        "--inbox",
        envvar="BEATWATCH_INBOX",
        help="Folder scanned for WFDB records (.hea + signal files + optional .atr). "
        "Default: <data dir>/inbox.",
        show_default=False,
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="BEATWATCH_CONFIG",
        help="TOML settings file (same keys as the BEATWATCH_* variables).",
        show_default=False,
    ),
]


def _prepare_environment(settings: Settings) -> None:
    """Prefect and GX state per environment, and no telemetry: this runs offline."""
    os.environ.setdefault("PREFECT_HOME", str(REPO_ROOT / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    # The ephemeral API server can take a while to start on a busy 2-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


class _DropRoutineStates(logging.Filter):
    """Drops Prefect's per-task "Finished in state Completed()" lines; keeps everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Finished in state Completed")


def _quiet_prefect() -> None:
    """Keep routine per-task chatter off the terminal; progress, warnings and errors stay."""
    logging.getLogger("prefect.task_runs").addFilter(_DropRoutineStates())
    for name in ("prefect.server", "prefect._internal", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _settings(config: Path | None, data_dir: Path | None, inbox: Path | None) -> Settings:
    settings = load_settings(config_file=config, data_dir=data_dir, inbox=inbox)
    _prepare_environment(settings)
    return settings


def _run_flow(
    flow: Callable[..., IngestSummary], settings: Settings, config: Path | None, **params: object
) -> None:
    """Run an ingest-like flow in-process and print its summary.

    Exit status: 0 all done; 1 some records failed (retried next run); 2 the night could not
    score (published what it ingested; the message says why).
    """
    from flows.nightly import NightFailedError

    _quiet_prefect()
    try:
        summary = flow(
            data_dir=settings.data_dir, inbox=settings.inbox, config_file=config, **params
        )
    except NightFailedError as exc:
        typer.echo(f"\nNIGHT FAILED: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo("\n" + summary.render())
    failed = summary.failed or summary.preprocess_failed
    if summary.scoring is not None:
        failed = failed or summary.scoring.failed
    raise typer.Exit(1 if failed else 0)


NightDate = Annotated[
    datetime | None,
    typer.Option(
        "--date",
        formats=["%Y-%m-%d"],
        help="The night, YYYY-MM-DD (default: today in schedule.timezone / the latest night).",
        show_default=False,
    ),
]


@app.command()
def ingest(config: ConfigFile = None, data_dir: DataDir = None, inbox: Inbox = None) -> None:
    """Ingest new WFDB records from the inbox: validate, write Parquet, catalogue in DuckDB.

    Records already ingested with identical content are skipped; bad ones are moved to
    <data dir>/quarantine with the reason. Safe to run again at any time.
    """
    from flows.ingest import ingest_flow

    _run_flow(ingest_flow, _settings(config, data_dir, inbox), config)


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
    _run_flow(nightly_flow, _settings(config, data_dir, inbox), config, run_date=run_date)


@app.command()
def report(date: NightDate = None, data_dir: DataDir = None) -> None:
    """Print a night's summary and the path of its HTML report (default: the latest night)."""
    settings = _settings(None, data_dir, None)
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
    settings = _settings(None, data_dir, None)
    from beatwatch.sources import SyntheticSource
    from flows.nightly import nightly_flow

    written = SyntheticSource(records=records, seed=seed).deliver(settings.inbox)
    typer.echo(f"wrote {len(written)} files of {records} synthetic records to {settings.inbox}")
    _quiet_prefect()
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
    settings = _settings(None, data_dir, inbox)
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
    settings = _settings(None, data_dir, None)
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
    settings = _settings(config, data_dir, None)
    typer.echo(_status_text(settings))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the published warehouse.")],
    data_dir: DataDir = None,
) -> None:
    """Run one SQL query on the warehouse, read-only, and print the result."""
    settings = _settings(None, data_dir, None)
    import duckdb

    from warehouse import connect

    with connect(settings.warehouse_path, read_only=True) as con:
        try:
            con.sql(query).show(max_rows=100, max_width=160)
        except duckdb.Error as exc:
            typer.echo(f"query failed: {exc}", err=True)
            raise typer.Exit(1) from None


@app.command()
def serve(config: ConfigFile = None, data_dir: DataDir = None, inbox: Inbox = None) -> None:
    """Serve the nightly, retrain (and optional ingest) deployments from this process.

    `nightly` runs on its cron schedule, `retrain` from the UI or its own schedule, `ingest`
    on an interval if configured. Needs a Prefect server (`beatwatch server`, with
    PREFECT_API_URL pointing at it). Ctrl-C stops serving without pausing the schedules.
    """
    settings = _settings(config, data_dir, inbox)
    from prefect import serve as prefect_serve

    from flows.deployments import deployments
    from flows.retrain import ensure_retrain_limit

    ensure_retrain_limit()  # created, not assumed
    prefect_serve(*deployments(settings), pause_on_shutdown=False)


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and the UI.")] = 4200,
) -> None:
    """Start the Prefect server and UI on localhost (offline; Ctrl-C stops it).

    Then, in another shell: export PREFECT_API_URL=http://127.0.0.1:4200/api and run
    `beatwatch serve`.
    """
    _settings(None, None, None)
    os.environ.setdefault("PREFECT_UI_API_URL", f"http://{host}:{port}/api")
    prefect = Path(sys.executable).with_name("prefect")
    os.execv(str(prefect), [str(prefect), "server", "start", "--host", host, "--port", str(port)])


@app.command()
def retrain(
    epochs: Annotated[int, typer.Option(min=1)] = 10,
    learning_rate: Annotated[float, typer.Option(min=0.0)] = 6e-3,
    latent_dim: Annotated[int, typer.Option(min=1)] = 8,
    records: Annotated[
        str | None, typer.Option(help="Comma-separated recordings to train on (default: all).")
    ] = None,
    tolerance: Annotated[float, typer.Option(min=0.0, help="Promotion tolerance.")] = 0.005,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Run the retrain flow now, in this process (what the UI's `retrain` deployment runs)."""
    settings = _settings(config, data_dir, None)
    from flows.retrain import retrain_flow

    _quiet_prefect()
    outcome = retrain_flow(
        epochs=epochs,
        learning_rate=learning_rate,
        latent_dim=latent_dim,
        records=None if records is None else [r.strip() for r in records.split(",")],
        promotion_tolerance=tolerance,
        data_dir=str(settings.data_dir),
        config_file=None if config is None else str(config),
    )
    typer.echo(f"model {outcome.version}: {outcome.decision}")
    if outcome.comparison is not None:
        typer.echo(f"  {outcome.comparison.describe()}")


def _change_champion(settings: Settings, change: Callable[..., object]) -> None:
    from beatwatch.registry import champion
    from tasks.ingest import publish_warehouse
    from warehouse import apply_schema, connect, run_lock

    with connect(settings.work_db_path) as con:
        apply_schema(con)
        before = champion(con)
        change(con)
        after = champion(con)
    typer.echo(
        f"champion: {before.version if before else 'none'} -> {after.version if after else 'none'}"
    )
    with run_lock(settings.state_dir, wait=False) as free:
        if free:
            publish_warehouse(settings)
            typer.echo(f"published {settings.warehouse_path}")
        else:
            typer.echo("a run is in progress: it publishes the change when it ends")


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="The model version to make champion.")],
    data_dir: DataDir = None,
) -> None:
    """Make a model version the champion by hand (the previous one is retired)."""
    from beatwatch.registry import promote as promote_version
    from beatwatch.registry import record_decision

    settings = _settings(None, data_dir, None)

    def change(con: object) -> None:
        promote_version(con, version)  # type: ignore[arg-type]
        record_decision(con, version, "promoted by hand")  # type: ignore[arg-type]

    try:
        _change_champion(settings, change)
    except (KeyError, ValueError) as exc:
        typer.echo(f"cannot promote {version}: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def rollback(data_dir: DataDir = None) -> None:
    """Make the previous champion the champion again."""
    from beatwatch.registry import rollback as roll_back

    settings = _settings(None, data_dir, None)
    try:
        _change_champion(settings, roll_back)
    except LookupError as exc:
        typer.echo(f"cannot roll back: {exc}", err=True)
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


def main() -> None:
    """Entry point of the ``beatwatch`` script."""
    app(prog_name="beatwatch")


if __name__ == "__main__":
    sys.exit(main())
