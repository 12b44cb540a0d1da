"""The combined anomaly score: RR context and calibration, on constructed rhythms."""

from __future__ import annotations

import numpy as np
import pytest

from beatwatch.rhythm import ScoreCalibration, anomaly_score, rhythm_context


def _regular(n: int = 60, rr_s: float = 0.8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rr = rr_s + rng.normal(0.0, 0.01, n + 1)
    prev, nxt = rr[:-1].copy(), rr[1:].copy()
    prev[0], nxt[-1] = np.nan, np.nan
    return prev, nxt


def test_a_premature_beat_with_a_pause_is_early_and_followed_by_a_pause() -> None:
    prev, nxt = _regular()
    prev[30], nxt[30] = 0.5, 1.1  # 300 ms early, then a compensatory pause
    prev[31] = 1.1
    context = rhythm_context(prev, nxt)
    assert context.log_prematurity[30] == pytest.approx(np.log(0.5 / 0.8), abs=0.03)
    assert context.log_pause[30] == pytest.approx(np.log(1.1 / 0.5), abs=1e-9)
    others = np.delete(np.arange(prev.size), [30, 31])
    assert np.abs(context.log_prematurity[others]).max() < 0.05


def test_unknown_intervals_count_as_typical() -> None:
    prev, nxt = _regular(10)
    prev[4] = np.nan
    nxt[6] = -1.0  # impossible: treated as unknown
    context = rhythm_context(prev, nxt)
    assert np.all(np.isfinite(context.log_prematurity))
    assert np.all(np.isfinite(context.log_pause))
    assert abs(context.log_prematurity[0]) < 0.05  # the first beat has no RR before


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_beats_give_zero_context(n: int) -> None:
    context = rhythm_context(np.full(n, np.nan), np.full(n, np.nan))
    assert context.log_prematurity.shape == (n,)
    assert not context.log_prematurity.any()
    assert not context.log_pause.any()


def test_context_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="rr_next_s"):
        rhythm_context(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="local_beats"):
        rhythm_context(np.ones(3), np.ones(3), local_beats=4)


def _calibrated() -> tuple[ScoreCalibration, np.ndarray, np.ndarray]:
    prev, nxt = _regular(400, seed=1)
    errors = np.random.default_rng(2).lognormal(np.log(0.01), 0.3, prev.size)
    return ScoreCalibration.fit(errors, rhythm_context(prev, nxt)), prev, nxt


def test_a_typical_normal_beat_scores_about_zero() -> None:
    calibration, prev, nxt = _calibrated()
    parts = anomaly_score(np.full(prev.size, 0.01), rhythm_context(prev, nxt), calibration)
    assert np.median(parts.score) == pytest.approx(0.0, abs=1.0)
    assert np.all(parts.timing_z >= 0)


def test_shape_and_timing_each_raise_the_score() -> None:
    calibration, prev, nxt = _calibrated()
    prev[200], nxt[200] = 0.5, 1.1
    prev[201] = 1.1
    errors = np.full(prev.size, 0.01)
    errors[100] = 0.1  # ten times the typical error: a different shape
    parts = anomaly_score(errors, rhythm_context(prev, nxt), calibration)
    typical = np.median(parts.score)
    assert parts.score[100] > typical + 3  # shape
    assert parts.shape_z[200] == pytest.approx(parts.shape_z[0])
    assert parts.score[200] > typical + 3  # timing alone
    np.testing.assert_allclose(parts.score, parts.shape_z + parts.timing_z)


def test_a_late_beat_adds_nothing() -> None:
    calibration, prev, nxt = _calibrated()
    prev[50], nxt[50] = 1.2, 0.8  # late (escape-like), then back to the rhythm
    parts = anomaly_score(np.full(prev.size, 0.01), rhythm_context(prev, nxt), calibration)
    assert parts.timing_z[50] < 1.0


def test_calibration_round_trips_through_a_dict() -> None:
    calibration, _, _ = _calibrated()
    assert ScoreCalibration.from_dict(calibration.to_dict()) == calibration


def test_calibration_needs_data() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ScoreCalibration.fit(np.array([0.1]), rhythm_context(np.array([0.8]), np.array([0.8])))
