"""Champion vs challenger: the held-out recordings and the decision rule."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from beatwatch.promotion import Comparison, compare, held_out_records
from beatwatch.retrain import train_configs
from beatwatch.rhythm import RhythmContext
from beatwatch.scoring import TrainingSet, fit_scoring_model
from beatwatch.settings import TrainingSettings

RECORDS = [f"{n}" for n in range(100, 148)]


def test_held_out_records_are_stable_and_about_a_fifth() -> None:
    held = held_out_records(RECORDS)
    assert held == held_out_records(list(reversed(RECORDS)) + RECORDS[:3])  # order, repeats
    assert 4 <= len(held) <= 16
    assert set(held) <= set(RECORDS)
    # Adding recordings never moves one in or out: a record's fate depends on its name only.
    assert set(held) <= set(held_out_records([*RECORDS, "200", "201", "202"]))


@pytest.mark.parametrize(
    ("records", "expected"), [([], 0), (["a"], 0), (["a", "b"], 1), (["a", "b", "c"], 1)]
)
def test_small_lakes_hold_out_one_recording_at_most(records, expected) -> None:
    held = held_out_records(records)
    assert len(held) == expected
    assert len(held) < max(len(records), 1) or not records


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "tolerance", "wins"),
    [
        ("roc_auc", 0.90, 0.90, 0.0, True),  # at least as good
        ("roc_auc", 0.896, 0.90, 0.005, True),  # within the tolerance
        ("roc_auc", 0.894, 0.90, 0.005, False),
        ("normal_recon_error", 0.010, 0.010, 0.0, True),
        ("normal_recon_error", 0.0104, 0.010, 0.05, True),  # 4 % worse, 5 % allowed
        ("normal_recon_error", 0.0106, 0.010, 0.05, False),
    ],
)
def test_the_decision_rule(metric, challenger, champion, tolerance, wins) -> None:
    c = Comparison(metric, champion, challenger, tolerance, 100, ("a",))
    assert c.challenger_wins is wins
    assert c.describe().startswith("promoted" if wins else "kept as challenger")


def _model(windows: np.ndarray, epochs: int, seed: int = 0):
    n = windows.shape[0]
    context = RhythmContext(np.zeros(n), np.zeros(n))
    settings = TrainingSettings(epochs=epochs, latent_dim=4, channels=(4, 8, 16), seed=seed)
    train_cfg, model_cfg = train_configs(settings, windows.shape[1])
    training_set = TrainingSet(windows, context, {"x": n}, {"x": "all"})
    return fit_scoring_model(training_set, train_cfg, model_cfg).scoring


def _table(windows: np.ndarray, classes: list[str | None]) -> pa.Table:
    n = windows.shape[0]
    return pa.table(
        {
            "record": ["h"] * n,
            "beat_index": pa.array(np.arange(n, dtype=np.int32)),
            "r_sample": pa.array(np.arange(n, dtype=np.int64) * 300),
            "time_s": np.arange(n) * 0.8,
            "rr_prev_s": pa.array(np.full(n, 0.8, dtype=np.float32)),
            "rr_next_s": pa.array(np.full(n, 0.8, dtype=np.float32)),
            "aami_class": classes,
            "window": pa.FixedSizeListArray.from_arrays(
                pa.array(windows.astype(np.float32).ravel()), windows.shape[1]
            ),
        }
    )


def _beats(n: int, rng: np.random.Generator, abnormal: bool = False) -> np.ndarray:
    t = np.linspace(-1, 1, 64)
    shape = np.exp(-((t / (0.35 if abnormal else 0.08)) ** 2)) * (-1 if abnormal else 1)
    return shape + rng.normal(0, 0.02, (n, t.size))


def test_compare_uses_roc_auc_on_labelled_beats_and_prefers_the_better_model() -> None:
    rng = np.random.default_rng(0)
    train = _beats(400, rng)
    good, poor = _model(train, epochs=8), _model(train, epochs=1, seed=1)
    held = np.vstack([_beats(60, rng), _beats(30, rng, abnormal=True)])
    table = _table(held, ["N"] * 60 + ["V"] * 30)
    result = compare(poor, good, [("h", table)], tolerance=0.0)
    assert result.metric == "roc_auc"
    assert result.n_beats == 90
    assert result.challenger_value >= result.champion_value - 1e-9


def test_compare_without_labels_uses_the_error_of_presumed_normal_beats() -> None:
    rng = np.random.default_rng(1)
    train = _beats(400, rng)
    good, poor = _model(train, epochs=8), _model(train, epochs=1, seed=1)
    table = _table(_beats(80, rng), [None] * 80)
    better = compare(good, poor, [("h", table)], tolerance=0.0)
    assert better.metric == "normal_recon_error"
    assert better.champion_value < better.challenger_value  # the 8-epoch model reconstructs better
    assert not better.challenger_wins


def test_compare_needs_beats() -> None:
    rng = np.random.default_rng(2)
    model = _model(_beats(100, rng), epochs=1)
    with pytest.raises(ValueError, match="no held-out beats"):
        compare(model, model, [("h", _table(_beats(0, rng), []))], tolerance=0.0)
    with pytest.raises(ValueError, match="tolerance"):
        compare(model, model, [], tolerance=-1)
