"""Ingest flow: inbox -> triage -> stage (wfdb -> Parquet) -> validate (GX) -> lake + warehouse."""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from beatwatch.ingest import StagedRecording
from beatwatch.settings import Settings, load_settings
from beatwatch.summary import IngestSummary, StageTimer
from tasks.ingest import (
    build_data_docs,
    commit,
    discard_staging,
    finish_run,
    publish_warehouse,
    quarantine_rejection,
    scan,
    stage,
    triage_deliveries,
    validate,
)


@flow(name="ingest", log_prints=True)
def ingest_flow(
    data_dir: Path | None = None, inbox: Path | None = None, config_file: Path | None = None
) -> IngestSummary:
    """Ingest every new WFDB record in the inbox into the Parquet lake and the warehouse."""
    return ingest_inbox(load_settings(config_file=config_file, data_dir=data_dir, inbox=inbox))


def ingest_inbox(settings: Settings) -> IngestSummary:
    """The ingest steps, for this flow and the nightly one. Call inside a flow run."""
    log = get_run_logger()
    run_id = flow_run.id or uuid.uuid4().hex
    timer = StageTimer()
    summary = IngestSummary(run_id=run_id, inbox=settings.inbox, stage_s=timer.seconds)

    with timer("scan"):
        found = scan(settings)
        plan = triage_deliveries(found, settings, run_id)
        summary.found = len(found.records)
        summary.unchanged = [d.name for d in plan.unchanged]
        summary.quarantined = [quarantine_rejection(r, settings, run_id) for r in plan.rejected]
    log.info(
        "inbox %s: %d records, %d new, %d already ingested, %d rejected before reading",
        settings.inbox, len(found.records), len(plan.new), len(plan.unchanged), len(plan.rejected),
    )

    for i, delivery in enumerate(plan.new, 1):
        try:
            with timer("ingest"):
                staged = stage(delivery, settings, run_id)
            if isinstance(staged, StagedRecording):
                with timer("validate"):
                    rejection = validate(staged, settings, run_id)
            else:
                rejection = staged
            if rejection is None:
                with timer("ingest"):
                    commit(staged, settings, run_id)
                summary.new.append(delivery.name)
                outcome = "accepted"
            else:
                summary.quarantined.append(quarantine_rejection(rejection, settings, run_id))
                outcome = f"quarantined: {rejection.message}"
        except Exception as exc:  # our bug, not bad input: keep the record, go on with the night
            log.exception("record %s failed; left in the inbox for the next run", delivery.name)
            summary.failed.append((delivery.name, f"{type(exc).__name__}: {exc}"))
            outcome = "FAILED (see the log)"
        log.info("[%d/%d] %s %s", i, len(plan.new), delivery.name, outcome)

    discard_staging(settings, run_id)
    with timer("publish"):
        if plan.new:
            summary.data_docs = build_data_docs(settings)
        finish_run(settings, run_id, summary.counts())
        summary.warehouse = publish_warehouse(settings)
    return summary
