"""Tasks that open and close a night's ``nightly_runs`` row."""

from __future__ import annotations

from datetime import date, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from beatwatch.scoring import ScoringModel
from beatwatch.settings import Settings
from beatwatch.summary import IngestSummary, StageTimer
from tasks.retries import DB_RETRIES
from warehouse import apply_schema, connect, writes

NIGHT_STAGES: tuple[str, ...] = ("ingest", "validate", "preprocess", "train", "score", "report")
"""Stages timed in ``nightly_runs`` (``ingest`` includes the inbox scan)."""


@task(name="open-night", cache_policy=NO_CACHE, **DB_RETRIES)
def open_night(settings: Settings, run_id: str, run_date: date, started_at: datetime) -> None:
    """Start the night's row; an earlier run of the same night is replaced, not kept."""
    with connect(settings.work_db_path) as con:
        apply_schema(con)
        writes.begin_night(con, run_id=run_id, run_date=run_date, started_at=started_at)


@task(name="close-night", cache_policy=NO_CACHE, **DB_RETRIES)
def close_night(
    settings: Settings, summary: IngestSummary, scoring: ScoringModel | None, timer: StageTimer
) -> None:
    """Fill in the night's counts, model, report and stage times."""
    night = summary.scoring
    assert night is not None
    seconds = dict(timer.seconds)
    seconds["ingest"] = seconds.get("ingest", 0.0) + seconds.get("scan", 0.0)
    values = {
        "status": "scoring_failed" if night.error else "ok",
        "model_version": night.model_version,
        "threshold": None if scoring is None else scoring.threshold,
        "threshold_rule": None if scoring is None else scoring.threshold_rule,
        "records_new": None,  # filled below, from every run of the night
        "records_quarantined": None,
        "records_failed": len(summary.failed) + len(summary.preprocess_failed) + len(night.failed),
        "records_scored": night.records_scored,
        "beats_scored": night.beats_scored,
        "beats_flagged": night.beats_flagged,
        "share_flagged": night.share_flagged,
        "model_trained": night.model_trained,
        "report_path": None if night.report is None else str(night.report),
        **{f"{stage}_s": round(seconds.get(stage, 0.0), 3) for stage in NIGHT_STAGES},
        "note": night.error,
    }
    with connect(settings.work_db_path) as con:
        values["records_new"], values["records_quarantined"] = writes.night_ingest_counts(
            con, night.run_date
        )
        writes.finish_night(con, run_id=summary.run_id, values=values)
