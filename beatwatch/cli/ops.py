"""Commands for ops: the Prefect server, serving the deployments, retrains and changing
the champion by hand."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from beatwatch.cli.common import (
    ConfigFile,
    DataDir,
    Inbox,
    app,
    build_settings,
    quiet_prefect,
)
from beatwatch.settings import Settings


@app.command()
def serve(config: ConfigFile = None, data_dir: DataDir = None, inbox: Inbox = None) -> None:
    """Serve the nightly, retrain (and optional ingest) deployments from this process.

    `nightly` runs on its cron schedule, `retrain` from the UI or its own schedule, `ingest`
    on an interval if configured. Needs a Prefect server (`beatwatch server`, with
    PREFECT_API_URL pointing at it). Ctrl-C stops serving without pausing the schedules.
    """
    settings = build_settings(config, data_dir, inbox)
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
    build_settings(None, None, None)
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
    settings = build_settings(config, data_dir, None)
    from flows.retrain import retrain_flow

    quiet_prefect()
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

    settings = build_settings(None, data_dir, None)

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

    settings = build_settings(None, data_dir, None)
    try:
        _change_champion(settings, roll_back)
    except LookupError as exc:
        typer.echo(f"cannot roll back: {exc}", err=True)
        raise typer.Exit(1) from None
