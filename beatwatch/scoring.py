"""Training a scoring model on a night's normal beats, and scoring every beat with it.

Plain functions over Arrow beat tables (the lake's ``beats/<record>.parquet``, schema
:func:`beatwatch.preprocess.beat_schema`); no Prefect, no DuckDB.

A *scoring model* is an autoencoder plus what turns its reconstruction errors into a
decision: the :class:`~beatwatch.rhythm.ScoreCalibration` of the combined score and a
threshold with its rule (:data:`THRESHOLD_RULES`). A beat's stored values:

* ``score``: the combined shape + timing score (:func:`beatwatch.rhythm.anomaly_score`),
  in normal-beat standard deviations (about 0 for a typical normal beat);
* ``recon_error``: the autoencoder's mean squared error (normalised units squared);
* ``relative_score``: ``recon_error`` over the median ``recon_error`` of the record's beats
  scored together (unitless; 1 = the record's typical beat);
* ``flagged``: ``score >= threshold``, or for the ``relative`` rule
  ``relative_score >= threshold``.

Raw scores are stored, so a stricter threshold can be applied later in SQL without rescoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from torch import nn

from beatwatch import thresholds
from beatwatch.inference import InferenceModel, reconstruction_errors
from beatwatch.registry import ModelVersion, load_model
from beatwatch.rhythm import RhythmContext, ScoreCalibration, anomaly_score, rhythm_context
from beatwatch.training import TrainConfig, TrainResult
from beatwatch.training import train as train_autoencoder
from models import AutoencoderConfig, build_model

ThresholdRule = Literal["percentile", "mean_k_std", "relative"]
THRESHOLD_RULES: tuple[str, ...] = ("percentile", "mean_k_std", "relative")

CLEARLY_NORMAL_SCORE: float = 1.0
"""Beats of unlabelled recordings that the champion scores at or below this (within one
normal-beat standard deviation of a typical normal beat) are trained on as normal."""

NORMAL_CLASS = "N"


class NothingToTrainError(ValueError):
    """No recording has normal beats to train on yet (an empty lake, or all excluded)."""


def beat_windows(table: pa.Table) -> np.ndarray:
    """The ``window`` column of a beat table as float32 (n_beats, n_samples), mV."""
    column = table.column("window").combine_chunks()
    width = column.type.list_size
    return column.flatten().to_numpy().reshape(table.num_rows, width)


def table_context(table: pa.Table) -> RhythmContext:
    """Timing features of the beats of one record's beat table (in beat order)."""
    return rhythm_context(
        table.column("rr_prev_s").to_numpy(zero_copy_only=False),
        table.column("rr_next_s").to_numpy(zero_copy_only=False),
    )


def describe_rule(rule: str, value: float) -> str:
    """Human-readable threshold rule, stored in ``model_versions.threshold_rule``."""
    return {
        "percentile": f"percentile {value:g} of held-out normal scores",
        "mean_k_std": f"mean + {value:g} std of training normal scores",
        "relative": f"reconstruction error >= {value:g} x the record's median",
    }[rule]


# --------------------------------------------------------------------------- training set


@dataclass(frozen=True)
class TrainingSet:
    """Normal beats to train on, with their timing context and where they came from."""

    windows: np.ndarray
    """float32 (n_beats, n_samples), mV."""
    context: RhythmContext
    beats_per_record: dict[str, int]
    sources: dict[str, str]
    """Per record, how its beats were chosen: ``reference`` (annotated N), ``champion``
    (scored clearly normal by the champion) or ``all`` (no labels, no champion)."""

    @property
    def n_beats(self) -> int:
        return int(self.windows.shape[0])


def select_normal_beats(
    record: str, table: pa.Table, champion_scores: np.ndarray | None
) -> tuple[np.ndarray, str]:
    """Indices of a record's beats to train on as normal, and the rule that chose them.

    * Beats with reference labels: those of AAMI class N (``reference``).
    * Unlabelled recordings scored by the champion: the beats it scored at or below
      :data:`CLEARLY_NORMAL_SCORE` (``champion``).
    * Neither: every beat (``all``), which assumes most beats of a recording are normal;
      the percentile threshold then absorbs the few abnormal ones.

    Parameters
    ----------
    champion_scores
        (n_beats,) the champion's ``score`` of each beat in beat order, or None.
    """
    classes = np.asarray(table.column("aami_class").to_pylist(), dtype=object)
    if any(c is not None for c in classes):
        return np.flatnonzero(classes == NORMAL_CLASS), "reference"
    if champion_scores is not None:
        if champion_scores.shape != (table.num_rows,):
            raise ValueError(
                f"record {record}: {champion_scores.size} champion scores for "
                f"{table.num_rows} beats"
            )
        return np.flatnonzero(champion_scores <= CLEARLY_NORMAL_SCORE), "champion"
    return np.arange(table.num_rows), "all"


def build_training_set(
    tables: Sequence[tuple[str, pa.Table, np.ndarray | None]],
) -> TrainingSet:
    """Gather the normal beats of ``(record, beat table, champion scores or None)`` triples."""
    windows, early, pause = [], [], []
    per_record: dict[str, int] = {}
    sources: dict[str, str] = {}
    for record, table, champion_scores in tables:
        chosen, source = select_normal_beats(record, table, champion_scores)
        if chosen.size == 0:
            continue
        context = table_context(table)
        windows.append(beat_windows(table)[chosen])
        early.append(context.log_prematurity[chosen])
        pause.append(context.log_pause[chosen])
        per_record[record] = int(chosen.size)
        sources[record] = source
    if not windows:
        raise NothingToTrainError("no normal beats to train on: no recording has beats yet")
    return TrainingSet(
        np.concatenate(windows),
        RhythmContext(np.concatenate(early), np.concatenate(pause)),
        per_record,
        sources,
    )


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ScoringModel:
    """An autoencoder with its score calibration and threshold: everything scoring needs."""

    version: str
    model: nn.Module
    """The trained autoencoder, frozen for inference (:class:`InferenceModel`)."""
    model_config: AutoencoderConfig
    calibration: ScoreCalibration
    threshold: float
    threshold_rule: ThresholdRule
    threshold_text: str = ""
    """How the threshold was set, for people (``model_versions.threshold_rule``)."""

    def config_json(self, train_cfg: TrainConfig) -> dict[str, Any]:
        """What ``model_versions.config`` holds for this model."""
        return {
            "model": asdict(self.model_config),
            "train": asdict(train_cfg),
            "score_calibration": self.calibration.to_dict(),
            "threshold_rule": self.threshold_rule,
        }


@dataclass(frozen=True)
class FittedModel:
    scoring: ScoringModel
    """Ready to score (its model frozen for inference)."""
    network: nn.Module
    """The trained autoencoder itself: what is saved (``registry.save_model``)."""
    training: TrainResult
    train_scores: np.ndarray
    """Combined score of every training-set beat (trained on and held out)."""


def fit_scoring_model(
    training_set: TrainingSet,
    train_cfg: TrainConfig,
    model_cfg: AutoencoderConfig,
    *,
    rule: ThresholdRule = "percentile",
    value: float = 99.5,
    version: str = "unregistered",
) -> FittedModel:
    """Train an autoencoder on ``training_set``, calibrate the score and set the threshold.

    The calibration uses the beats trained on; the ``percentile`` rule uses the held-out
    (early-stopping) beats, or the training beats if there are none.
    """
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"threshold rule must be one of {THRESHOLD_RULES}, got {rule!r}")
    if training_set.windows.shape[1] != model_cfg.window_samples:
        raise ValueError(
            f"beats have {training_set.windows.shape[1]} samples, the model expects "
            f"{model_cfg.window_samples}"
        )
    model = build_model(model_cfg, seed=train_cfg.seed)
    training = train_autoencoder(model, training_set.windows, train_cfg)
    frozen = InferenceModel(model, model_cfg.window_samples)
    errors = reconstruction_errors(frozen, training_set.windows)
    trained = training.train_index
    context = training_set.context
    calibration = ScoreCalibration.fit(
        errors[trained],
        context.subset(trained),
    )
    scores = anomaly_score(errors, context, calibration).score
    if rule == "percentile":
        held_out = training.val_index if training.val_index.size else trained
        threshold = thresholds.percentile_threshold(scores[held_out], q=value)
    elif rule == "mean_k_std":
        threshold = thresholds.mean_k_std(scores[trained], k=value)
    else:
        threshold = float(value)
    scoring = ScoringModel(version, frozen, model_cfg, calibration, threshold, rule)
    return FittedModel(scoring, model, training, scores)


def load_scoring_model(mv: ModelVersion) -> ScoringModel:
    """The registered model ``mv``, its file checked against the registry's SHA-256.

    Raises
    ------
    beatwatch.registry.ModelFileError
        If the file is missing or corrupt.
    ValueError
        If the version has no score calibration (an evaluation-only model).
    """
    if "score_calibration" not in mv.config:
        raise ValueError(f"model {mv.version} has no score calibration: it cannot score beats")
    model_config = AutoencoderConfig(**mv.config["model"])
    model = load_model(Path(mv.file_path), mv.file_sha256)
    return ScoringModel(
        version=mv.version,
        model=InferenceModel(model, model_config.window_samples),
        model_config=model_config,
        calibration=ScoreCalibration.from_dict(mv.config["score_calibration"]),
        threshold=mv.threshold,
        threshold_rule=mv.config.get("threshold_rule", "percentile"),
        threshold_text=mv.threshold_rule,
    )


# --------------------------------------------------------------------------- scoring


_BEAT_CONTEXT = ("rr_prev_s", "rr_next_s", "lead", "ref_symbol", "aami_class")
"""Columns of the beat table that ride along with its scores (see ``beat_scores``)."""


def _beat_context(table: pa.Table) -> list[pa.ChunkedArray | pa.Array]:
    """The beat table's context columns; nulls for those it lacks (a bare set of windows)."""
    types = score_schema()
    return [
        table.column(name)
        if name in table.column_names
        else pa.nulls(table.num_rows, types.field(name).type)
        for name in _BEAT_CONTEXT
    ]


def score_schema() -> pa.Schema:
    """Arrow schema of one record's scores (the per-beat columns of ``beat_scores``): the
    beat, its scores, and its context from the beat table (RR intervals in s, the lead, the
    matched reference symbol and its AAMI class), kept with the scores."""
    return pa.schema(
        [
            pa.field("record", pa.string(), nullable=False),
            pa.field("beat_index", pa.int32(), nullable=False),
            pa.field("r_sample", pa.int64(), nullable=False),
            pa.field("time_s", pa.float64(), nullable=False),
            pa.field("score", pa.float64(), nullable=False),
            pa.field("shape_z", pa.float64(), nullable=False),
            pa.field("timing_z", pa.float64(), nullable=False),
            pa.field("recon_error", pa.float64(), nullable=False),
            pa.field("relative_score", pa.float64(), nullable=False),
            pa.field("flagged", pa.bool_(), nullable=False),
            pa.field("rr_prev_s", pa.float32()),
            pa.field("rr_next_s", pa.float32()),
            pa.field("lead", pa.string()),
            pa.field("ref_symbol", pa.string()),
            pa.field("aami_class", pa.string()),
        ]
    )


@dataclass(frozen=True)
class TopAnomaly:
    beat_index: int
    time_s: float
    """R peak, seconds from the recording's start."""
    score: float
    window_mv: np.ndarray = field(compare=False)
    """The beat's window as scored (float32 mV at the model's rate), kept for the night's
    report, which would otherwise read a row group of the beat file again to draw it."""


@dataclass(frozen=True)
class RecordScores:
    """One record's beats scored by one model."""

    record: str
    table: pa.Table
    """One row per beat: :func:`score_schema`."""
    threshold: float
    mean_hr_bpm: float | None
    """60 / mean RR interval, beats per minute (None for fewer than 2 beats)."""
    top: tuple[TopAnomaly, ...]
    """The highest-scoring flagged beats, highest first."""

    @property
    def beats_scored(self) -> int:
        return self.table.num_rows

    @property
    def beats_flagged(self) -> int:
        return int(pc.sum(self.table.column("flagged")).as_py() or 0)

    @property
    def share_flagged(self) -> float:
        return self.beats_flagged / self.beats_scored if self.beats_scored else 0.0


def score_beat_table(
    record: str, table: pa.Table, scoring: ScoringModel, *, top_n: int = 5, workers: int = 1
) -> RecordScores:
    """Score every beat of one record's beat table (all beats of the record, in order);
    ``workers`` as for :func:`~beatwatch.inference.reconstruction_errors`."""
    n = table.num_rows
    windows = beat_windows(table)
    if n:
        errors = reconstruction_errors(scoring.model, windows, workers=workers)
        parts = anomaly_score(errors, table_context(table), scoring.calibration)
        relative = thresholds.relative_to_record(errors, np.zeros(n))
    else:
        errors = relative = np.empty(0)
        parts = anomaly_score(errors, rhythm_context(errors, errors), scoring.calibration)
    basis = relative if scoring.threshold_rule == "relative" else parts.score
    flagged = basis >= scoring.threshold
    scores = pa.Table.from_arrays(
        [
            table.column("record"),
            table.column("beat_index"),
            table.column("r_sample"),
            table.column("time_s"),
            pa.array(parts.score),
            pa.array(parts.shape_z),
            pa.array(parts.timing_z),
            pa.array(errors),
            pa.array(relative),
            pa.array(flagged),
            *_beat_context(table),
        ],
        schema=score_schema(),
    )
    rr = table.column("rr_prev_s").to_numpy(zero_copy_only=False).astype(np.float64)
    rr = rr[np.isfinite(rr) & (rr > 0)]
    mean_hr = float(60.0 / rr.mean()) if rr.size else None
    candidates = np.flatnonzero(flagged)
    top_index = candidates[np.argsort(-parts.score[candidates], kind="stable")[:top_n]]
    time_s = table.column("time_s").to_numpy()
    beat_index = table.column("beat_index").to_numpy()
    top = tuple(  # the top windows copied out: the record's windows are not kept alive
        TopAnomaly(int(beat_index[i]), float(time_s[i]), float(parts.score[i]), window)
        for i, window in zip(top_index, windows[top_index], strict=True)
    )
    return RecordScores(record, scores, scoring.threshold, mean_hr, top)
