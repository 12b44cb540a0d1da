"""The nightly flow: ingest -> validate -> preprocess -> train -> score -> report -> publish."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from beatwatch.registry import ModelFileError
from beatwatch.retrain import TrainingRequest
from beatwatch.scoring import NothingToTrainError, ScoringModel
from beatwatch.settings import Settings, load_settings
from beatwatch.summary import IngestSummary, ScoringSummary, StageTimer
from flows.ingest import current_run_id, ingest_inbox, publish_run
from tasks.night import close_night, open_night
from tasks.preprocess import pending_recordings, preprocess_records
from tasks.report import write_night_report
from tasks.score import load_champion, score_records, train_model
from warehouse import run_lock


class NightFailedError(RuntimeError):
    """The night ingested and published, but could not score (the reason is in the message)."""


@flow(name="nightly")
def nightly_flow(
    data_dir: Path | None = None,
    inbox: Path | None = None,
    config_file: Path | None = None,
    run_date: date | None = None,
) -> IngestSummary:
    """Everything a night does, in order. Parameters as for ``beatwatch nightly``.

    ``run_date`` names the night (default: today in ``schedule.timezone``); running a night
    again replaces its earlier results.
    """
    settings = load_settings(config_file=config_file, data_dir=data_dir, inbox=inbox)
    with run_lock(settings.state_dir):  # one run writes and publishes at a time
        summary = run_night(settings, run_date)
    night = summary.scoring
    if night is not None and night.error is not None:
        raise NightFailedError(f"night {night.run_date} ingested but scored nothing: {night.error}")
    return summary


def run_night(settings: Settings, run_date: date | None) -> IngestSummary:
    """The stages of one night, in order; call inside a flow run holding the run lock."""
    timer = StageTimer()
    started_at = datetime.now(UTC)
    night_date = run_date or started_at.astimezone(ZoneInfo(settings.schedule.timezone)).date()
    run_id = current_run_id()
    open_night(settings, run_id, night_date, started_at)

    summary = ingest_inbox(settings, run_id, timer)  # ingest -> validate
    with timer("preprocess"):  # denoise -> resample -> R peaks -> beat windows
        beats = preprocess_records(pending_recordings(settings), settings, run_id)
    summary.beat_files = [beat_file for _, beat_file in beats.done]
    summary.preprocess_failed = beats.failed

    night = summary.scoring = ScoringSummary(run_date=night_date)
    with timer("train"):  # only when there is no champion yet (retrains: the retrain flow)
        scoring = champion_or_first_model(settings, night, run_id)
    scored = []
    if scoring is not None:
        with timer("score"):  # one champion for every beat of the night
            result = score_records(settings, scoring, run_id, night_date)
        scored = [scores for _, scores in result.done]
        night.model_version = scoring.version
        night.records_scored = len(scored)
        night.beats_scored = sum(s.beats_scored for s in scored)
        night.beats_flagged = sum(s.beats_flagged for s in scored)
        night.failed = result.failed
    with timer("report"):
        night.report = write_night_report(
            settings, summary, scored, scoring, started_at, dict(timer.seconds)
        )
    close_night(settings, summary, scoring, timer)
    publish_run(settings, summary, timer)
    return summary


def champion_or_first_model(
    settings: Settings, night: ScoringSummary, run_id: str
) -> ScoringModel | None:
    """The champion; before there is one, train the first model on the lake's normal beats.

    A champion whose file is missing or corrupt is never replaced silently: the night
    records the error, scores nothing (its beats wait for the next night) and ends failed.
    """
    log = get_run_logger()
    try:
        scoring = load_champion(settings)
        if scoring is None:
            log.info("no champion yet: training the first model")
            trained = train_model(
                settings,
                TrainingRequest(settings.training, note="first model, trained by the nightly flow"),
                run_id,
            )
            night.model_trained = trained.version
            scoring = load_champion(settings)
        return scoring
    except ModelFileError as exc:
        night.error = f"{exc}; run `beatwatch rollback` or retrain, then re-run the night"
    except NothingToTrainError:
        log.info("no beats in the lake yet: nothing to train on or score")
        return None
    log.error("scoring skipped: %s", night.error)
    return None
