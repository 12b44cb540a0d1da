"""Tasks of the train and score stages: the champion, a new model, the night's scores."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
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


@dataclass(frozen=True)
class ScoreWriter:
    """Scores one record's beat table with the night's champion and stores the scores (one
    transaction, :func:`warehouse.writes.insert_record_scores`). Threads may share it: its
    writes go through ``con`` one at a time, under ``write_lock``."""

    settings: Settings
    scoring: ScoringModel
    run_id: str
    run_date: date
    con: duckdb.DuckDBPyConnection
    write_lock: threading.Lock

    def __call__(self, record: str, beats: pa.Table, *, workers: int = 1) -> RecordScores:
        """``beats``: the record's whole beat table; ``workers``: its batches at once."""
        scores = score_beat_table(
            record,
            beats,
            self.scoring,
            top_n=self.settings.scoring.top_per_record,
            workers=workers,
        )
        with self.write_lock:
            writes.insert_record_scores(
                self.con,
                scores,
                model_version=self.scoring.version,
                threshold_rule=self.scoring.threshold_rule,
                run_id=self.run_id,
                run_date=self.run_date,
            )
        return scores


def passes_at_once(records: int, records_at_once: int = 2) -> tuple[int, int]:
    """(records, batches per record) scored side by side, for ``records`` to score.

    Torch runs one intra-op thread per forward pass (:func:`torch_threads`), and passes run
    side by side instead: two records at a time, or, for a single record (a 24-hour
    recording), two of its batches at a time. The model's layers are small: on 2 cores this
    scored MIT-BIH 1.5x faster than one two-threaded pass at a time, and a 24-hour
    recording 1.3x faster.
    """
    at_once = max(1, min(records_at_once, records))
    return at_once, max(1, 2 // at_once)


@task(name="score-records", cache_policy=NO_CACHE, **DB_RETRIES)
def score_records(
    settings: Settings,
    scoring: ScoringModel,
    run_id: str,
    run_date: date,
    scored_already: Collection[str] = (),
) -> BatchResult[tuple[str, Path], RecordScores]:
    """Score the beat sets the champion has not scored yet, but for ``scored_already``
    (records the night scored as their beats were derived); one transaction per record.

    Two records at a time (:func:`passes_at_once`): one's Parquet read and warehouse write
    overlap the other's model. Writes share one connection (opening the file per record cost
    more than the scoring), one at a time.
    """
    log = get_run_logger()

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("score %d/%d %s: %s", done, total, record, outcome)

    with connect(settings.work_db_path) as con, torch_threads(1):
        pending = [
            (record, path)
            for record, path in writes.pending_scoring(
                con, model_version=scoring.version, run_date=run_date
            )
            if record not in scored_already
        ]
        records_at_once, batches_at_once = passes_at_once(len(pending))
        store = ScoreWriter(settings, scoring, run_id, run_date, con, threading.Lock())

        def score_one(item: tuple[str, Path]) -> RecordScores:
            record, path = item
            return store(record, pq.read_table(path), workers=batches_at_once)

        return map_isolated(
            score_one,
            pending,
            name=lambda item: item[0],
            workers=records_at_once,
            progress=progress,
            describe=describe_scores,
        )


def describe_scores(scores: RecordScores) -> str:
    return f"{scores.beats_flagged} of {scores.beats_scored} beats flagged"
