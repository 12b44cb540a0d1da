"""Threshold rules and the per-record relative score on constructed errors."""

import math

import numpy as np
import pytest

from beatwatch.thresholds import (
    RELATIVE_THRESHOLD,
    mean_k_std,
    percentile_threshold,
    relative_to_record,
)

ERRORS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # mean 3, population std sqrt(2)


def test_mean_k_std_uses_population_std() -> None:
    assert mean_k_std(ERRORS) == pytest.approx(3 + 3 * math.sqrt(2))
    assert mean_k_std(ERRORS, k=1.0) == pytest.approx(3 + math.sqrt(2))
    assert mean_k_std(ERRORS, k=0.0) == 3.0


def test_percentile_interpolates_linearly() -> None:
    assert percentile_threshold(ERRORS, q=50.0) == 3.0
    assert percentile_threshold(ERRORS, q=99.0) == pytest.approx(4.96)  # 4 + 0.96 * (5 - 4)
    assert percentile_threshold(ERRORS, q=100.0) == 5.0


def test_relative_to_record_divides_by_each_records_median() -> None:
    errors = np.array([1.0, 10.0, 2.0, 20.0, 3.0, 40.0, 1000.0])
    records = np.array(["a", "b", "a", "b", "a", "b", "b"])
    relative = relative_to_record(errors, records)
    # a: median 2; b: median of 10, 20, 40, 1000 = 30
    np.testing.assert_allclose(relative, [0.5, 1 / 3, 1.0, 2 / 3, 1.5, 4 / 3, 100 / 3])
    flagged = relative >= RELATIVE_THRESHOLD
    assert flagged.tolist() == [False] * 6 + [True]


def test_relative_score_of_a_zero_median_record_is_finite() -> None:
    relative = relative_to_record(np.array([0.0, 0.0, 1.0]), np.array([7, 7, 7]))
    assert np.all(np.isfinite(relative))
    assert relative[2] == pytest.approx(1e12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mean_k_std(ERRORS, k=-1.0), "k must be"),
        (lambda: mean_k_std(np.array([])), "empty"),
        (lambda: percentile_threshold(ERRORS, q=101.0), "q must be"),
        (lambda: percentile_threshold(np.array([1.0, np.nan])), "NaN"),
        (lambda: relative_to_record(ERRORS, np.array(["a", "b"])), "shape"),
    ],
)
def test_invalid_inputs_raise(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
