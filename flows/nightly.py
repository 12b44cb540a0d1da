"""The nightly flow: ingest -> validate -> preprocess + score -> report -> publish.

The champion scores each recording's beats as soon as preprocessing derives them; the score
stage then scores what is left (everything, on the night that trains the first model).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from beatwatch.heap import freeze_imports, keep_freed_memory
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
    freeze_imports()  # full garbage collections skip what the imports made
    keep_freed_memory()  # freed arrays are reused, not faulted in again page by page
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
    night = summary.scoring = ScoringSummary(run_date=night_date)
    with timer("train"):  # no training: one champion, loaded once, scores the whole night
        scoring = champion_for_the_night(settings, night)
    with timer("preprocess"):  # denoise -> resample -> R peaks -> beat windows -> scores
        derived = preprocess_records(
            pending_recordings(settings), settings, run_id, scoring, night_date
        )
    summary.beat_files = [d.beat_file for _, d in derived.done]
    summary.preprocess_failed = derived.failed
    scored = [d.scores for _, d in derived.done if d.scores is not None]

    if scoring is None and night.error is None:
        with timer("train"):  # only before the first champion (retrains: the retrain flow)
            scoring = first_model(settings, night, run_id)
    if scoring is not None:
        with timer("score"):  # what preprocess did not score: all after a first model or a
            # promotion, a re-run night's beats, retries of records whose scoring failed
            result = score_records(
                settings, scoring, run_id, night_date, scored_already={s.record for s in scored}
            )
        scored = sorted([*scored, *(s for _, s in result.done)], key=lambda s: s.record)
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


def champion_for_the_night(settings: Settings, night: ScoringSummary) -> ScoringModel | None:
    """The champion, which scores each beat set as soon as preprocessing derives it; None
    before there is one, or if its file is missing or corrupt.

    A bad champion file is never replaced silently: the night records the error
    (``night.error``), scores nothing (its beats wait for the next night) and ends failed.
    """
    try:
        return load_champion(settings)
    except ModelFileError as exc:
        night.error = f"{exc}; run `beatwatch rollback` or retrain, then re-run the night"
    get_run_logger().error("scoring skipped: %s", night.error)
    return None


def first_model(settings: Settings, night: ScoringSummary, run_id: str) -> ScoringModel | None:
    """Before there is a champion: train the first model on the lake's normal beats, which
    becomes champion (None if the lake has no beats yet). It then scores every beat set."""
    log = get_run_logger()
    log.info("no champion yet: training the first model")
    try:
        trained = train_model(
            settings,
            TrainingRequest(settings.training, note="first model, trained by the nightly flow"),
            run_id,
        )
    except NothingToTrainError:
        log.info("no beats in the lake yet: nothing to train on or score")
        return None
    night.model_trained = trained.version
    return champion_for_the_night(settings, night)
