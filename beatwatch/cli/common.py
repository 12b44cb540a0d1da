"""What every ``beatwatch`` command shares: the Typer app, the common options, building the
settings (the one place the environment is read) and running a flow in-process."""

from __future__ import annotations

import logging
import os
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


def quiet_prefect() -> None:
    """Keep routine per-task chatter off the terminal; progress, warnings and errors stay."""
    logging.getLogger("prefect.task_runs").addFilter(_DropRoutineStates())
    for name in ("prefect.server", "prefect._internal", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_settings(config: Path | None, data_dir: Path | None, inbox: Path | None) -> Settings:
    """The command's settings (flags > environment > TOML > defaults), environment prepared."""
    settings = load_settings(config_file=config, data_dir=data_dir, inbox=inbox)
    _prepare_environment(settings)
    return settings


def run_flow(
    flow: Callable[..., IngestSummary], settings: Settings, config: Path | None, **params: object
) -> None:
    """Run an ingest-like flow in-process and print its summary.

    Exit status: 0 all done; 1 some records failed (retried next run); 2 the night could not
    score (published what it ingested; the message says why).
    """
    from flows.nightly import NightFailedError

    quiet_prefect()
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
