"""The nightly flow: ingest -> validate (for now; preprocess, score and report follow)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from beatwatch.settings import load_settings
from beatwatch.summary import IngestSummary
from flows.ingest import ingest_inbox


@flow(name="nightly", log_prints=True)
def nightly_flow(
    data_dir: Path | None = None, inbox: Path | None = None, config_file: Path | None = None
) -> IngestSummary:
    """Everything a night does, in order. Parameters as for ``beatwatch nightly``."""
    settings = load_settings(config_file=config_file, data_dir=data_dir, inbox=inbox)
    return ingest_inbox(settings)
