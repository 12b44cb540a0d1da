"""Task that clears what a killed run left behind (see :mod:`beatwatch.recovery`)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.recovery import (
    Recovery,
    sweep_staging,
    sweep_temporary_files,
    unrecorded_quarantines,
)
from beatwatch.settings import Settings
from warehouse import apply_schema, connect, writes


@task(name="recover-interrupted-runs", cache_policy=NO_CACHE)
def recover_interrupted_runs(settings: Settings, run_id: str) -> Recovery:
    """Remove temporary files and stale staging, finish interrupted quarantines.

    Call at the start of a run, holding the run lock.
    """
    log = get_run_logger()
    roots = [settings.lake_dir, settings.models_dir, settings.reports_dir, settings.state_dir]
    recovery = Recovery(
        temporary_files=sweep_temporary_files(roots, shallow=(settings.data_dir,)),
        staging_dirs=sweep_staging(settings.staging_dir, run_id),
    )
    with connect(settings.work_db_path) as con:
        apply_schema(con)
        rows = con.execute("select quarantine_path from quarantine").fetchall()
        recorded = {path for (path,) in rows}
        recovery.quarantines = unrecorded_quarantines(
            settings.quarantine_dir, recorded, settings.inbox
        )
        for entry in recovery.quarantines:
            writes.insert_quarantine(con, entry)
    if recovery.anything:
        log.warning(
            "recovered from an interrupted run: %d temporary files and %d staging folders "
            "removed, %d quarantines completed",
            len(recovery.temporary_files),
            len(recovery.staging_dirs),
            len(recovery.quarantines),
        )
    return recovery
