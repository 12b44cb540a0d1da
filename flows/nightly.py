"""The nightly flow: ingest -> validate -> preprocess -> publish (score and report follow)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from beatwatch.settings import load_settings
from beatwatch.summary import IngestSummary, StageTimer
from flows.ingest import current_run_id, ingest_inbox, publish_run
from tasks.preprocess import pending_recordings, preprocess_records


@flow(name="nightly")
def nightly_flow(
    data_dir: Path | None = None, inbox: Path | None = None, config_file: Path | None = None
) -> IngestSummary:
    """Everything a night does, in order. Parameters as for ``beatwatch nightly``."""
    settings = load_settings(config_file=config_file, data_dir=data_dir, inbox=inbox)
    timer = StageTimer()
    night = ingest_inbox(settings, current_run_id(), timer)  # ingest -> validate
    with timer("preprocess"):  # denoise -> resample -> R peaks -> beat windows
        beats = preprocess_records(pending_recordings(settings), settings, night.run_id)
    night.beat_files = [beat_file for _, beat_file in beats.done]
    night.preprocess_failed = beats.failed
    publish_run(settings, night, timer)
    return night
