"""Ingest flow: inbox -> triage -> read (wfdb -> Parquet) -> validate (GX) -> lake + warehouse."""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from beatwatch.heap import freeze_imports, keep_freed_memory
from beatwatch.settings import Settings, load_settings
from beatwatch.summary import IngestSummary, StageTimer
from tasks.ingest import (
    build_data_docs,
    commit_records,
    discard_staging,
    finish_run,
    publish_warehouse,
    quarantine_all,
    read_records,
    scan,
    triage_deliveries,
    validate_records,
)
from tasks.recovery import recover_interrupted_runs
from warehouse import run_lock


@flow(name="ingest")
def ingest_flow(
    data_dir: Path | None = None, inbox: Path | None = None, config_file: Path | None = None
) -> IngestSummary:
    """Ingest every new WFDB record in the inbox into the Parquet lake and the warehouse."""
    freeze_imports()  # full garbage collections skip what the imports made
    keep_freed_memory()  # freed arrays are reused, not faulted in again page by page
    settings = load_settings(config_file=config_file, data_dir=data_dir, inbox=inbox)
    timer = StageTimer()
    with run_lock(settings.state_dir):  # one run writes and publishes at a time
        summary = ingest_inbox(settings, current_run_id(), timer)
        publish_run(settings, summary, timer)
    return summary


def current_run_id() -> str:
    """The Prefect flow run id, which ties warehouse rows to the run in the Prefect UI."""
    return flow_run.id or uuid.uuid4().hex


def ingest_inbox(settings: Settings, run_id: str, timer: StageTimer) -> IngestSummary:
    """Scan, triage, read, validate, commit or quarantine. Call inside a flow run holding
    the run lock (after clearing what a killed run left behind)."""
    recover_interrupted_runs(settings, run_id)
    with timer("scan"):
        found = scan(settings)
        plan = triage_deliveries(found, settings, run_id)
    get_run_logger().info(
        "inbox %s: %d records, %d new, %d already ingested, %d rejected before reading",
        settings.inbox,
        len(found.records),
        len(plan.new),
        len(plan.unchanged),
        len(plan.rejected),
    )
    with timer("ingest"):
        batch = read_records(plan.new, settings, run_id)
    with timer("validate"):
        valid, invalid = validate_records(batch.staged, settings, run_id)
    with timer("ingest"):
        accepted = commit_records(valid, settings, run_id)
        rejected = quarantine_all([*plan.rejected, *batch.rejected, *invalid], settings, run_id)
        discard_staging(settings, run_id)
    return IngestSummary(
        run_id=run_id,
        inbox=settings.inbox,
        found=len(found.records),
        new=accepted,
        unchanged=[d.name for d in plan.unchanged],
        quarantined=rejected,
        failed=batch.failed,
        stage_s=timer.seconds,
        validated=bool(batch.staged),
    )


def publish_run(settings: Settings, summary: IngestSummary, timer: StageTimer) -> None:
    """Data Docs, the run's row in ``ingest_runs``, then the read-only warehouse snapshot."""
    with timer("publish"):
        if summary.validated:
            summary.data_docs = build_data_docs(settings)
        finish_run(settings, summary.run_id, summary.counts())
        summary.warehouse = publish_warehouse(settings)
