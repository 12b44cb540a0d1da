"""Train a scoring model on the lake's normal beats, register it, and decide whether it
becomes champion (no Prefect).

What counts as normal (:func:`beatwatch.scoring.select_normal_beats`): annotated N beats
where a recording has reference labels; in unlabelled recordings, the beats the current
champion scored as clearly normal; without either, every beat. The new model is registered
as a challenger (the very first scoring model becomes champion).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from beatwatch.promotion import Comparison, compare, held_out_records
from beatwatch.registry import (
    ModelVersion,
    champion,
    new_version_id,
    promote,
    record_decision,
    register,
    save_model,
)
from beatwatch.scoring import (
    FittedModel,
    TrainingSet,
    build_training_set,
    describe_rule,
    fit_scoring_model,
    load_scoring_model,
)
from beatwatch.settings import TrainingSettings
from beatwatch.training import TrainConfig
from models import AutoencoderConfig
from warehouse.store import connect

log = logging.getLogger(__name__)


def train_configs(
    training: TrainingSettings, window_samples: int
) -> tuple[TrainConfig, AutoencoderConfig]:
    """The domain configurations the training settings describe (``window_samples``: the
    beat windows' length in samples)."""
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


@dataclass(frozen=True)
class TrainingRequest:
    """What to train on: records (None: every record with beats) and the settings."""

    training: TrainingSettings
    records: tuple[str, ...] | None = None
    note: str = ""


def gather_training_set(
    con: duckdb.DuckDBPyConnection, records: tuple[str, ...] | None = None
) -> TrainingSet:
    """The normal beats of ``records`` (None: all) with beats in the lake."""
    sets = con.execute("select record, beats_path from beat_sets order by record").fetchall()
    wanted = None if records is None else set(records)
    chosen = [(r, Path(p)) for r, p in sets if wanted is None or r in wanted]
    if wanted is not None and (missing := wanted - {r for r, _ in chosen}):
        raise ValueError(f"no beats for records {sorted(missing)}: ingest them first")
    current = champion(con)
    champion_scores: dict[str, np.ndarray] = {}
    if current is not None:
        rows = con.execute(  # its scores of the current beat sets, not of earlier ones
            "select s.record, list(s.score order by s.beat_index) from beat_scores s"
            " join beat_sets b on b.record = s.record and b.preprocess_key = s.preprocess_key"
            " where s.model_version = ? group by s.record",
            [current.version],
        ).fetchall()
        champion_scores = {record: np.asarray(scores) for record, scores in rows}
    tables = []
    for record, path in chosen:
        table = pq.read_table(path)
        scores = champion_scores.get(record)
        if scores is not None and scores.size != table.num_rows:
            scores = None  # beats re-derived since the champion scored them
        tables.append((record, table, scores))
    return build_training_set(tables)


def train_and_register(
    work_db: Path,
    request: TrainingRequest,
    *,
    models_dir: Path,
    run_id: str,
) -> tuple[ModelVersion, FittedModel]:
    """Train on the lake's normal beats, save the weights and register the version.

    The working database is opened only to read the beats and to register the model, never
    during training: a night can write in between.
    """
    with connect(work_db) as con:
        training_set = gather_training_set(con, request.records)
    train_cfg, model_cfg = train_configs(request.training, training_set.windows.shape[1])
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
    path, sha = save_model(fitted.network, model_cfg, models_dir, version)
    val_loss = fitted.training.val_loss
    mv = ModelVersion(
        version=version,
        kind=model_cfg.kind,
        purpose="scoring",
        status="challenger",
        training_records=tuple(sorted(training_set.beats_per_record)),
        training_beats=fitted.training.n_train,
        config=fitted.scoring.config_json(train_cfg)
        | {"training_sources": training_set.sources, "run_id": run_id},
        threshold=fitted.scoring.threshold,
        threshold_rule=describe_rule(
            request.training.threshold_rule, request.training.threshold_value
        ),
        file_path=str(path),
        file_sha256=sha,
        metrics={
            "best_val_loss": min(val_loss) if val_loss else None,
            "epochs_run": fitted.training.epochs_run,
            "train_seconds": round(fitted.training.seconds, 1),
        },
        note=request.note or None,
    )
    with connect(work_db) as con:
        mv = register(con, mv)
        if mv.status == "champion":  # the first scoring model: nothing to compare with
            record_decision(con, mv.version, "first model")
    return mv, fitted


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain produced and decided."""

    version: str
    """The new model."""
    champion_before: str | None
    decision: str
    """``first model``, ``promoted`` or ``kept as challenger``."""
    comparison: Comparison | None
    training_records: tuple[str, ...]
    held_out: tuple[str, ...]
    train_seconds: float

    @property
    def promoted(self) -> bool:
        return self.decision in ("first model", "promoted")


def _beat_tables(
    con: duckdb.DuckDBPyConnection, records: tuple[str, ...]
) -> list[tuple[str, pa.Table]]:
    rows = con.execute(
        "select record, beats_path from beat_sets where list_contains(?, record) order by record",
        [list(records)],
    ).fetchall()
    return [(record, pq.read_table(path)) for record, path in rows]


def retrain(
    work_db: Path,
    request: TrainingRequest,
    *,
    models_dir: Path,
    run_id: str,
    tolerance: float,
) -> RetrainOutcome:
    """Train a challenger without the held-out recordings, compare it with the champion on
    them (:mod:`beatwatch.promotion`), promote it if it is at least as good, and record the
    decision and both figures in ``model_versions``.

    Raises ``ValueError`` if every requested recording is held out, or none has beats.
    """
    with connect(work_db) as con:
        available = tuple(r for (r,) in con.execute("select record from beat_sets").fetchall())
        before = champion(con)
    requested = available if request.records is None else tuple(request.records)
    held = held_out_records(available)
    training_records = tuple(sorted(set(requested) - set(held)))
    if not training_records:
        raise ValueError(
            f"every requested recording ({', '.join(requested) or 'none'}) is held out for "
            f"the champion/challenger comparison ({', '.join(held)}); choose others"
        )
    request = TrainingRequest(request.training, training_records, request.note)
    mv, fitted = train_and_register(work_db, request, models_dir=models_dir, run_id=run_id)
    if before is None:  # it became champion, "first model" (train_and_register)
        return RetrainOutcome(
            mv.version, None, "first model", None, training_records, held, fitted.training.seconds
        )
    compared_on = held or training_records  # a single recording: compared in-sample
    with connect(work_db) as con:
        tables = _beat_tables(con, compared_on)
    comparison = compare(load_scoring_model(before), fitted.scoring, tables, tolerance=tolerance)
    decision = "promoted" if comparison.challenger_wins else "kept as challenger"
    with connect(work_db) as con:
        if comparison.challenger_wins:
            promote(con, mv.version)
        record_decision(
            con,
            mv.version,
            decision,
            compared_with=before.version,
            metric=comparison.metric,
            value=comparison.challenger_value,
            champion_value=comparison.champion_value,
        )
    log.info("%s %s", mv.version, comparison.describe())
    return RetrainOutcome(
        mv.version,
        before.version,
        decision,
        comparison,
        training_records,
        held,
        fitted.training.seconds,
    )
