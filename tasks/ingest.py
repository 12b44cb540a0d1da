"""Tasks of the ingest stage: scan, triage, stage, validate, commit, quarantine, publish.

They add orchestration only. Side effects (files, warehouse rows) make result caching wrong
here, so these tasks use ``NO_CACHE``; exactly-once comes from content hashes in the
warehouse instead (see ``beatwatch.ingest``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from beatwatch.errors import RejectedInput
from beatwatch.inbox import InboxScan, RecordDelivery, scan_inbox
from beatwatch.ingest import (
    StagedRecording,
    Triage,
    promote_to_lake,
    stage_recording,
    triage,
    validate_staged,
    validation_rejection,
)
from beatwatch.quarantine import QuarantineEntry, Rejection, quarantine
from beatwatch.settings import Settings
from beatwatch.validation import suite_runner
from warehouse import apply_schema, connect, publish_snapshot
from warehouse import writes

# Writes to the working database retry briefly: the only contention is a lock held by a
# concurrent publish or a clinician mistakenly opening the private file.
_DB_RETRIES = dict(retries=2, retry_delay_seconds=1)


@task(name="scan-inbox", cache_policy=NO_CACHE)
def scan(settings: Settings) -> InboxScan:
    return scan_inbox(settings.inbox, annotator=settings.annotator)


@task(name="triage-deliveries", cache_policy=NO_CACHE, **_DB_RETRIES)
def triage_deliveries(found: InboxScan, settings: Settings, run_id: str) -> Triage:
    with connect(settings.work_db_path) as con:
        apply_schema(con)
        writes.start_run(con, run_id=run_id, inbox=settings.inbox)
        return triage(found, writes.known_deliveries(con), writes.quarantined_contents(con))


@task(name="quarantine", task_run_name="quarantine-{rejection.kind}", cache_policy=NO_CACHE)
def quarantine_rejection(rejection: Rejection, settings: Settings, run_id: str) -> QuarantineEntry:
    entry = quarantine(
        rejection, inbox=settings.inbox, quarantine_dir=settings.quarantine_dir, run_id=run_id
    )
    with connect(settings.work_db_path) as con:
        writes.insert_quarantine(con, entry)
    return entry


@task(name="stage-record", task_run_name="stage-{delivery.name}", cache_policy=NO_CACHE)
def stage(delivery: RecordDelivery, settings: Settings, run_id: str) -> StagedRecording | Rejection:
    """Read with wfdb into staging Parquet; bad input becomes a :class:`Rejection`."""
    try:
        return stage_recording(delivery, settings.staging_dir / run_id)
    except RejectedInput as exc:
        return Rejection(
            delivery.name, exc.kind, exc.reason, exc.path, delivery.files, delivery.content_sha256
        )


@task(name="validate-record", task_run_name="validate-{staged.delivery.name}", cache_policy=NO_CACHE)
def validate(staged: StagedRecording, settings: Settings, run_id: str) -> Rejection | None:
    """Run the expectation suites, store every result, and say whether the record fails."""
    outcomes = validate_staged(
        staged, suite_runner(settings.data_dir), settings.validation, run_id=run_id
    )
    with connect(settings.work_db_path) as con:
        writes.insert_validations(con, outcomes, run_id=run_id)
    return validation_rejection(staged, outcomes)


@task(name="commit-record", task_run_name="commit-{staged.delivery.name}", cache_policy=NO_CACHE, **_DB_RETRIES)
def commit(staged: StagedRecording, settings: Settings, run_id: str) -> None:
    """Move the staged Parquet into the lake, then register the recording."""
    signals, annotations = promote_to_lake(staged, settings.lake_dir)
    with connect(settings.work_db_path) as con:
        writes.insert_recording(
            con,
            staged,
            signal_path=signals,
            annotation_path=annotations,
            annotator=settings.annotator,
            run_id=run_id,
        )


@task(name="discard-staging", cache_policy=NO_CACHE)
def discard_staging(settings: Settings, run_id: str) -> None:
    """Remove this run's staging files (derived data; the originals are untouched)."""
    folder = settings.staging_dir / run_id
    for leftover in folder.glob("*") if folder.is_dir() else ():
        leftover.unlink()
    if folder.is_dir():
        folder.rmdir()


@task(name="build-data-docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings) -> Path:
    return suite_runner(settings.data_dir).build_data_docs()


@task(name="finish-run", cache_policy=NO_CACHE, **_DB_RETRIES)
def finish_run(settings: Settings, run_id: str, counts: dict[str, float | int]) -> None:
    with connect(settings.work_db_path) as con:
        writes.finish_run(con, run_id=run_id, counts=counts)


@task(name="publish-warehouse", cache_policy=NO_CACHE, **_DB_RETRIES)
def publish_warehouse(settings: Settings) -> Path:
    """Swap a consistent copy of the working database into ``<data>/warehouse.duckdb``."""
    return publish_snapshot(settings.work_db_path, settings.warehouse_path)
