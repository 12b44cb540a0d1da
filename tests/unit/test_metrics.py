"""Detection metrics against hand-computed values, ties included."""

import numpy as np
import pytest

from beatwatch.metrics import (
    accuracy,
    average_precision,
    best_f1,
    roc_auc,
    roc_curve,
    sensitivity_ppv,
)

# Sorted by score: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-).
LABELS = np.array([0, 0, 1, 1])
SCORES = np.array([0.1, 0.4, 0.35, 0.8])


def test_auc_counts_correctly_ordered_pairs() -> None:
    # pairs (pos, neg): (0.35, 0.1) ok, (0.35, 0.4) wrong, (0.8, 0.1) ok, (0.8, 0.4) ok
    assert roc_auc(LABELS, SCORES) == pytest.approx(3 / 4)


def test_average_precision_steps_over_recall() -> None:
    # recall 0.5 at precision 1 (t = 0.8), recall 1 at precision 2/3 (t = 0.35)
    assert average_precision(LABELS, SCORES) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_best_f1_and_its_threshold() -> None:
    # t = 0.8: 2/3; t = 0.4: 1/2; t = 0.35: 2*2 / (2*2 + 1 + 0) = 0.8; t = 0.1: 4/6
    f1, threshold = best_f1(LABELS, SCORES)
    assert f1 == pytest.approx(0.8)
    assert threshold == 0.35


def test_roc_curve_points() -> None:
    fpr, tpr, thresholds = roc_curve(LABELS, SCORES)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_ties_count_one_half_and_act_as_one_threshold() -> None:
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.5, 0.5, 0.2, 0.9])
    # pairs: (0.5, 0.5) tie = 1/2, (0.5, 0.2), (0.9, 0.5), (0.9, 0.2) = 1 each
    assert roc_auc(labels, scores) == pytest.approx(3.5 / 4)
    # t = 0.9: P 1, R 0.5; t = 0.5 (both tied beats at once): P 2/3, R 1
    assert average_precision(labels, scores) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert best_f1(labels, scores) == pytest.approx((0.8, 0.5))
    fpr, tpr, _ = roc_curve(labels, scores)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])


def test_tied_order_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    scores = rng.integers(0, 5, 200).astype(float)  # many ties
    perm = rng.permutation(200)
    for metric in (roc_auc, average_precision, best_f1):
        assert metric(labels, scores) == pytest.approx(metric(labels[perm], scores[perm]))


def test_auc_equals_area_under_roc_curve_and_brute_force() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(labels * 0.7, 1.0), 1)  # rounded: ties
    fpr, tpr, _ = roc_curve(labels, scores)
    trapezoid = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    pos, neg = scores[labels == 1], scores[labels == 0]
    brute = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert roc_auc(labels, scores) == pytest.approx(trapezoid)
    assert roc_auc(labels, scores) == pytest.approx(brute)


def test_perfect_inverted_and_constant_scorers() -> None:
    labels = np.array([0, 0, 1, 1])
    perfect = np.array([1.0, 2.0, 3.0, 4.0])
    assert roc_auc(labels, perfect) == 1.0
    assert average_precision(labels, perfect) == 1.0
    assert best_f1(labels, perfect) == (1.0, 3.0)
    inverted = -perfect
    assert roc_auc(labels, inverted) == 0.0
    # t = -1, -2: nothing right; t = -3: P 1/3, R 1/2; t = -4: P 1/2, R 1
    assert average_precision(labels, inverted) == pytest.approx(0.5 / 3 + 0.5 * 0.5)
    constant = np.zeros(4)
    assert roc_auc(labels, constant) == 0.5
    assert average_precision(labels, constant) == 0.5  # the positive fraction
    assert best_f1(labels, constant) == (pytest.approx(2 / 3), 0.0)


def test_sensitivity_ppv_and_accuracy() -> None:
    labels = np.array([1, 1, 1, 0, 0])
    predicted = np.array([1, 0, 1, 1, 0])
    assert sensitivity_ppv(labels, predicted) == pytest.approx((2 / 3, 2 / 3))
    assert accuracy(labels, predicted) == pytest.approx(3 / 5)
    se, ppv = sensitivity_ppv(labels, np.zeros(5, dtype=bool))
    assert se == 0.0
    assert np.isnan(ppv)
    se, ppv = sensitivity_ppv(np.zeros(5), predicted)
    assert np.isnan(se)
    assert ppv == 0.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        (np.array([1, 1]), np.array([0.1, 0.2]), "both classes"),
        (np.array([0, 2]), np.array([0.1, 0.2]), "0/1"),
        (np.array([0, 1]), np.array([0.1, np.nan]), "NaN"),
        (np.array([0, 1, 1]), np.array([0.1, 0.2]), "shape"),
    ],
)
def test_invalid_inputs_raise(labels: np.ndarray, scores: np.ndarray, message: str) -> None:
    for metric in (roc_auc, average_precision, best_f1, roc_curve):
        with pytest.raises(ValueError, match=message):
            metric(labels, scores)
