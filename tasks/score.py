"""Tasks of the train and score stages: the champion, a new model, the night's scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from beatwatch.batch import BatchResult, map_isolated
from beatwatch.registry import ModelVersion, champion, new_version_id, register, save_model
from beatwatch.scoring import (
    RecordScores,
    ScoringModel,
    build_training_set,
    describe_rule,
    fit_scoring_model,
    load_scoring_model,
    score_beat_table,
)
from beatwatch.settings import Settings, TrainingSettings
from beatwatch.training import TrainConfig
from models import AutoencoderConfig
from warehouse import connect, writes

_DB_RETRIES = {"retries": 2, "retry_delay_seconds": 1}


def train_configs(
    training: TrainingSettings, window_samples: int
) -> tuple[TrainConfig, AutoencoderConfig]:
    """The domain configurations the training settings describe."""
    train_cfg = TrainConfig(
        epochs=training.epochs,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        lr_schedule="cosine",
        patience=3,
        seed=training.seed,
        max_train_beats=training.max_train_beats,
    )
    model_cfg = AutoencoderConfig(
        kind=training.kind,
        window_samples=window_samples,
        latent_dim=training.latent_dim,
        channels=training.channels,
        upsampling="transpose",
        kl_weight=1e-4,
    )
    return train_cfg, model_cfg


@task(name="load-champion", cache_policy=NO_CACHE, **_DB_RETRIES)
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


@dataclass(frozen=True)
class TrainingRequest:
    """What to train on: records (None: every record with beats) and the settings."""

    training: TrainingSettings
    records: tuple[str, ...] | None = None
    note: str = ""


@task(name="train-model", cache_policy=NO_CACHE)
def train_model(settings: Settings, request: TrainingRequest, run_id: str) -> ModelVersion:
    """Train a scoring model on the normal beats of the lake and register it.

    The first scoring model becomes champion; later ones are challengers (see the
    ``retrain`` flow for promotion). Normal beats: :func:`beatwatch.scoring.select_normal_beats`.
    """
    log = get_run_logger()
    with connect(settings.work_db_path) as con:
        sets = con.execute("select record, beats_path from beat_sets order by record").fetchall()
        current = champion(con)
        wanted = None if request.records is None else set(request.records)
        sets = [(r, Path(p)) for r, p in sets if wanted is None or r in wanted]
        if wanted is not None and (missing := wanted - {r for r, _ in sets}):
            raise ValueError(f"no beats for records {sorted(missing)}: ingest them first")
        champion_scores = {}
        if current is not None:
            for record, score in con.execute(
                "select record, list(score order by beat_index) from beat_scores"
                " where model_version = ? group by record",
                [current.version],
            ).fetchall():
                champion_scores[record] = np.asarray(score)
    tables = []
    for record, path in sets:
        table = pq.read_table(path)
        scores = champion_scores.get(record)
        if scores is not None and scores.size != table.num_rows:
            scores = None  # beats re-derived since the champion scored them
        tables.append((record, table, scores))
    training_set = build_training_set(tables)
    width = training_set.windows.shape[1]
    train_cfg, model_cfg = train_configs(request.training, width)
    version = new_version_id(model_cfg.kind)
    log.info(
        "training %s on %d normal beats of %d records (%s)",
        version,
        training_set.n_beats,
        len(training_set.beats_per_record),
        ", ".join(sorted(set(training_set.sources.values()))),
    )
    fitted = fit_scoring_model(
        training_set,
        train_cfg,
        model_cfg,
        rule=request.training.threshold_rule,
        value=request.training.threshold_value,
        version=version,
    )
    path, sha = save_model(fitted.scoring.model, model_cfg, settings.models_dir, version)
    config = fitted.scoring.config_json(train_cfg) | {
        "training_sources": training_set.sources,
        "run_id": run_id,
    }
    mv = ModelVersion(
        version=version,
        kind=model_cfg.kind,
        purpose="scoring",
        status="challenger",
        training_records=tuple(sorted(training_set.beats_per_record)),
        training_beats=fitted.training.n_train,
        config=config,
        threshold=fitted.scoring.threshold,
        threshold_rule=describe_rule(
            request.training.threshold_rule, request.training.threshold_value
        ),
        file_path=str(path),
        file_sha256=sha,
        metrics={
            "best_val_loss": min(fitted.training.val_loss) if fitted.training.val_loss else None,
            "epochs_run": fitted.training.epochs_run,
            "train_seconds": round(fitted.training.seconds, 1),
        },
        note=request.note or None,
    )
    with connect(settings.work_db_path) as con:
        mv = register(con, mv)
    log.info(
        "model %s: %s, threshold %.3f, %.0f s of training",
        version,
        mv.status,
        mv.threshold,
        fitted.training.seconds,
    )
    return mv


@task(name="score-records", cache_policy=NO_CACHE, **_DB_RETRIES)
def score_records(
    settings: Settings, scoring: ScoringModel, run_id: str, run_date: date
) -> BatchResult[tuple[str, Path], RecordScores]:
    """Score the beat sets the champion has not scored yet; one transaction per record."""
    log = get_run_logger()
    with connect(settings.work_db_path) as con:
        pending = writes.pending_scoring(con, model_version=scoring.version, run_date=run_date)

    def score_one(item: tuple[str, Path]) -> RecordScores:
        record, path = item
        scores = score_beat_table(
            record, pq.read_table(path), scoring, top_n=settings.scoring.top_per_record
        )
        with connect(settings.work_db_path) as con:
            writes.insert_record_scores(
                con,
                scores,
                model_version=scoring.version,
                threshold_rule=scoring.threshold_rule,
                run_id=run_id,
                run_date=run_date,
            )
        return scores

    def progress(done: int, total: int, record: str, outcome: str) -> None:
        log.info("score %d/%d %s: %s", done, total, record, outcome)

    return map_isolated(
        score_one,
        pending,
        name=lambda item: item[0],
        workers=1,
        progress=progress,
        describe=lambda s: f"{s.beats_flagged} of {s.beats_scored} beats flagged",
    )
