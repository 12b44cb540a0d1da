"""Tasks of the ingest stage: scan, triage, read, validate, commit, quarantine, publish.

They add orchestration only: names, retries, logging. Each works on the whole night's batch,
so Prefect's per-task cost is paid a handful of times a night, not per record. Side effects
(files, warehouse rows) make result caching wrong here, so these tasks use ``NO_CACHE``;
exactly-once comes from content hashes in the warehouse instead (see ``beatwatch.ingest``).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

# Every ingest and nightly run validates, so Great Expectations (about 1.7 s to import) loads
# with the flow's other modules (Prefect, torch), before the run starts, not in the middle
# of the night's validate stage; commands that never validate still never import it.
import great_expectations  # noqa: F401
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.inbox import InboxScan, RecordDelivery, scan_inbox
from beatwatch.ingest import (
    StageBatch,
    StagedRecording,
    Triage,
    promote_to_lake,
    stage_all,
    triage,
    validate_all,
    validation_rejection,
)
from beatwatch.quarantine import QuarantineEntry, Rejection, quarantine
from beatwatch.settings import Settings
from beatwatch.validation import suite_runner
from tasks.retries import DB_RETRIES
from warehouse import apply_schema, connect, publish_snapshot, writes


@task(name="scan-inbox", cache_policy=NO_CACHE)
def scan(settings: Settings) -> InboxScan:
    """List the inbox's deliveries; those still being written are logged and left for later."""
    found = scan_inbox(
        settings.inbox, annotator=settings.annotator, settle_s=settings.inbox_settle_s
    )
    log = get_run_logger()
    for waiting in found.waiting:
        log.info("not ingested yet, %s: %s", waiting.record or waiting.path.name, waiting.reason)
    return found


@task(name="triage-deliveries", cache_policy=NO_CACHE, **DB_RETRIES)
def triage_deliveries(found: InboxScan, settings: Settings, run_id: str) -> Triage:
    """Sort the scan into new, unchanged and rejected; registers the run."""
    with connect(settings.work_db_path) as con:
        apply_schema(con)
        writes.start_run(con, run_id=run_id, inbox=settings.inbox)
        return triage(found, writes.known_deliveries(con), writes.quarantined_contents(con))


@task(name="read-records", cache_policy=NO_CACHE)
def read_records(
    deliveries: Sequence[RecordDelivery], settings: Settings, run_id: str
) -> StageBatch:
    """Read each new record with wfdb into staging Parquet, logging progress."""
    log = get_run_logger()

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("read %d/%d %s: %s", done, total, record, outcome)

    return stage_all(deliveries, settings.staging_dir / run_id, progress=progress)


@task(name="validate-records", cache_policy=NO_CACHE, **DB_RETRIES)
def validate_records(
    staged: Sequence[StagedRecording], settings: Settings, run_id: str
) -> tuple[list[StagedRecording], list[Rejection]]:
    """Run the expectation suites, store every result; split into accepted and rejected."""
    if not staged:
        return [], []
    outcomes = validate_all(
        staged, suite_runner(settings.data_dir), settings.validation, run_id=run_id
    )
    with connect(settings.work_db_path) as con:
        writes.insert_validations(con, [o for per in outcomes.values() for o in per], run_id=run_id)
    accepted, rejected = [], []
    for s in staged:
        rejection = validation_rejection(s, outcomes[s.delivery.name])
        if rejection is None:
            accepted.append(s)
        else:
            rejected.append(rejection)
    get_run_logger().info(
        "validated %d records: %d passed, %d failed", len(staged), len(accepted), len(rejected)
    )
    return accepted, rejected


@task(name="commit-records", cache_policy=NO_CACHE, **DB_RETRIES)
def commit_records(staged: Sequence[StagedRecording], settings: Settings, run_id: str) -> list[str]:
    """Move each accepted record's Parquet into the lake, then register it (one transaction
    per record)."""
    with connect(settings.work_db_path) as con:
        for s in staged:
            signals, annotations = promote_to_lake(s, settings.lake_dir)
            writes.insert_recording(
                con,
                s,
                signal_path=signals,
                annotation_path=annotations,
                annotator=settings.annotator,
                run_id=run_id,
            )
    return [s.delivery.name for s in staged]


@task(name="quarantine", cache_policy=NO_CACHE)
def quarantine_all(
    rejections: Sequence[Rejection], settings: Settings, run_id: str
) -> list[QuarantineEntry]:
    """Move every rejected delivery to quarantine with its reason, and record it.

    A delivery that cannot be quarantined (e.g. its files vanished meanwhile) is logged and
    left; the others go on.
    """
    log = get_run_logger()
    entries = []
    with connect(settings.work_db_path) as con:
        for rejection in rejections:
            try:
                entry = quarantine(
                    rejection,
                    inbox=settings.inbox,
                    quarantine_dir=settings.quarantine_dir,
                    run_id=run_id,
                )
            except OSError as exc:
                log.error("could not quarantine %s: %s", rejection.message, exc)
                continue
            writes.insert_quarantine(con, entry)
            log.warning("quarantined %s", entry.reason)
            entries.append(entry)
    return entries


@task(name="discard-staging", cache_policy=NO_CACHE)
def discard_staging(settings: Settings, run_id: str) -> None:
    """Remove this run's staging folder (derived data; the originals are untouched)."""
    shutil.rmtree(settings.staging_dir / run_id, ignore_errors=True)


@task(name="build-data-docs", cache_policy=NO_CACHE)
def build_data_docs(settings: Settings) -> Path:
    return suite_runner(settings.data_dir).build_data_docs()


@task(name="finish-run", cache_policy=NO_CACHE, **DB_RETRIES)
def finish_run(settings: Settings, run_id: str, counts: dict[str, float | int]) -> None:
    with connect(settings.work_db_path) as con:
        writes.finish_run(con, run_id=run_id, counts=counts)


@task(name="publish-warehouse", cache_policy=NO_CACHE, **DB_RETRIES)
def publish_warehouse(settings: Settings) -> Path:
    """Swap a consistent copy of the working database into ``<data>/warehouse.duckdb``."""
    return publish_snapshot(settings.work_db_path, settings.warehouse_path)
