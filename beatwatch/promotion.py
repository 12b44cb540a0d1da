"""Champion or challenger: compare two scoring models on the same held-out beats.

A retrain holds out a fixed set of recordings (:func:`held_out_records`: about one in five,
chosen by a hash of the record name, so the same recordings every time) and trains on the
rest. Both models then score every beat of the held-out recordings, and:

* where the held-out beats carry reference labels (at least :data:`MIN_PER_CLASS` normal
  and abnormal beats): **ROC-AUC** of normal vs abnormal on each model's score, higher is
  better; the challenger wins if ``challenger >= champion - tolerance``;
* otherwise (unlabelled recordings): the **mean reconstruction error of the beats the
  champion scores as clearly normal**, lower is better; the challenger wins if
  ``challenger <= champion x (1 + tolerance)``.

The champion may have trained on the held-out recordings (the first model trains on
everything), which favours it: a challenger is promoted only when it is at least as good
on beats it has never seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from beatwatch import metrics
from beatwatch.scoring import CLEARLY_NORMAL_SCORE, NORMAL_CLASS, ScoringModel, score_beat_table

HELD_OUT_SHARE = 0.2
"""Share of recordings held out of retraining for the comparison."""

MIN_PER_CLASS = 20
"""Labelled normal and abnormal beats needed to compare by ROC-AUC."""

Metric = Literal["roc_auc", "normal_recon_error"]


def held_out_records(records: Sequence[str], share: float = HELD_OUT_SHARE) -> tuple[str, ...]:
    """The recordings kept out of training, stable across retrains: those whose SHA-256 of
    the name falls in the lowest ``share`` of the hash space; at least one, never all
    (None held out when there is a single recording)."""
    names = sorted(set(records))
    if len(names) < 2:
        return ()

    def position(name: str) -> float:
        return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    held = [n for n in names if position(n) < share]
    if not held:
        held = [min(names, key=position)]
    if len(held) == len(names):
        held = held[:-1]
    return tuple(held)


@dataclass(frozen=True)
class Comparison:
    """Both models' figure on the same held-out beats, and the decision."""

    metric: Metric
    champion_value: float
    challenger_value: float
    tolerance: float
    n_beats: int
    records: tuple[str, ...]

    @property
    def challenger_wins(self) -> bool:
        if self.metric == "roc_auc":
            return self.challenger_value >= self.champion_value - self.tolerance
        return self.challenger_value <= self.champion_value * (1.0 + self.tolerance)

    def describe(self) -> str:
        better = "higher" if self.metric == "roc_auc" else "lower"
        verdict = "promoted" if self.challenger_wins else "kept as challenger"
        return (
            f"{verdict}: {self.metric} ({better} is better) on {self.n_beats} held-out beats of "
            f"{len(self.records)} recordings: challenger {self.challenger_value:.4f}, champion "
            f"{self.champion_value:.4f}, tolerance {self.tolerance:g}"
        )


def compare(
    champion: ScoringModel,
    challenger: ScoringModel,
    tables: Sequence[tuple[str, pa.Table]],
    *,
    tolerance: float,
) -> Comparison:
    """Score the held-out recordings' beats with both models and compare (module docstring).

    Parameters
    ----------
    tables
        ``(record, beat table)`` of the held-out recordings, every beat in order.
    tolerance
        Absolute, on ROC-AUC; relative, on the reconstruction error. >= 0.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    tables = [(record, table) for record, table in tables if table.num_rows]
    if not tables:
        raise ValueError("no held-out beats to compare the models on")
    classes, scores = [], {"champion": [], "challenger": []}
    errors = {"champion": [], "challenger": []}
    for record, table in tables:
        classes.append(np.asarray(table.column("aami_class").to_pylist(), dtype=object))
        for role, model in (("champion", champion), ("challenger", challenger)):
            scored = score_beat_table(record, table, model).table
            scores[role].append(scored.column("score").to_numpy())
            errors[role].append(scored.column("recon_error").to_numpy())
    labels = np.concatenate(classes)
    score = {role: np.concatenate(values) for role, values in scores.items()}
    error = {role: np.concatenate(values) for role, values in errors.items()}
    labelled = np.array([c is not None for c in labels])
    abnormal = labelled & (labels != NORMAL_CLASS)
    normal = labelled & (labels == NORMAL_CLASS)
    records = tuple(record for record, _ in tables)
    if normal.sum() >= MIN_PER_CLASS and abnormal.sum() >= MIN_PER_CLASS:
        y = abnormal[labelled].astype(np.int8)
        values = {role: metrics.roc_auc(y, s[labelled]) for role, s in score.items()}
        return Comparison(
            "roc_auc",
            values["champion"],
            values["challenger"],
            tolerance,
            int(labelled.sum()),
            records,
        )
    presumed_normal = score["champion"] <= CLEARLY_NORMAL_SCORE
    if not presumed_normal.any():
        raise ValueError("the champion scores no held-out beat as clearly normal")
    values = {role: float(e[presumed_normal].mean()) for role, e in error.items()}
    return Comparison(
        "normal_recon_error",
        values["champion"],
        values["challenger"],
        tolerance,
        int(presumed_normal.sum()),
        records,
    )
