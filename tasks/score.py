"""Tasks of the train and score stages: the champion, a new model, the night's scores."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.batch import BatchResult, map_isolated
from beatwatch.inference import torch_threads
from beatwatch.registry import ModelVersion, champion
from beatwatch.retrain import TrainingRequest, train_and_register
from beatwatch.scoring import RecordScores, ScoringModel, load_scoring_model, score_beat_table
from beatwatch.settings import Settings
from tasks.retries import DB_RETRIES
from warehouse import connect, writes


@task(name="load-champion", cache_policy=NO_CACHE)  # a bad model file is not transient
def load_champion(settings: Settings) -> ScoringModel | None:
    """The champion, loaded once: every beat of the night is scored by this one model,
    even if another is promoted meanwhile. None before any scoring model exists.

    Raises ``ModelFileError`` if its file is missing or corrupt: never score with another.
    """
    with connect(settings.work_db_path) as con:
        mv = champion(con)
    if mv is None:
        return None
    return load_scoring_model(mv)


@task(name="train-model", cache_policy=NO_CACHE)
def train_model(settings: Settings, request: TrainingRequest, run_id: str) -> ModelVersion:
    """Train a scoring model on the lake's normal beats and register it
    (:func:`beatwatch.retrain.train_and_register`): the first becomes champion, later ones
    are challengers."""
    mv, fitted = train_and_register(
        settings.work_db_path, request, models_dir=settings.models_dir, run_id=run_id
    )
    get_run_logger().info(
        "model %s: %s, threshold %.3f, %d beats, %.0f s of training",
        mv.version,
        mv.status,
        mv.threshold,
        mv.training_beats,
        fitted.training.seconds,
    )
    return mv


@task(name="score-records", cache_policy=NO_CACHE, **DB_RETRIES)
def score_records(
    settings: Settings, scoring: ScoringModel, run_id: str, run_date: date
) -> BatchResult[tuple[str, Path], RecordScores]:
    """Score the beat sets the champion has not scored yet; one transaction per record.

    Torch runs one intra-op thread per forward pass, and passes run side by side instead:
    two records at a time (one's Parquet read and warehouse write overlap the other's
    model), or, for a single record (a 24-hour recording), two of its batches at a time.
    The model's layers are small: on 2 cores this scored MIT-BIH 1.5x faster than one
    two-threaded pass at a time, and a 24-hour recording 1.3x faster. Writes share one
    connection (opening the file per record cost more than the scoring), one at a time.
    """
    log = get_run_logger()
    write_lock = threading.Lock()

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("score %d/%d %s: %s", done, total, record, outcome)

    with connect(settings.work_db_path) as con, torch_threads(1):
        pending = writes.pending_scoring(con, model_version=scoring.version, run_date=run_date)
        records_at_once = min(2, len(pending))
        batches_at_once = 2 // max(1, records_at_once)

        def score_one(item: tuple[str, Path]) -> RecordScores:
            record, path = item
            scores = score_beat_table(
                record,
                pq.read_table(path),
                scoring,
                top_n=settings.scoring.top_per_record,
                workers=batches_at_once,
            )
            with write_lock:
                writes.insert_record_scores(
                    con,
                    scores,
                    model_version=scoring.version,
                    threshold_rule=scoring.threshold_rule,
                    run_id=run_id,
                    run_date=run_date,
                )
            return scores

        return map_isolated(
            score_one,
            pending,
            name=lambda item: item[0],
            workers=records_at_once,
            progress=progress,
            describe=lambda s: f"{s.beats_flagged} of {s.beats_scored} beats flagged",
        )
