"""Detection metrics for anomaly scores, in pure NumPy.

Conventions: ``labels`` are 1 (or True) for the positive class, an abnormal beat, and 0 for
a normal beat; a higher score means more abnormal; a threshold ``t`` flags ``score >= t``.
Tied scores are handled as one threshold (they are flagged together), so no metric depends
on the order of tied beats: the AUC is the Mann-Whitney U statistic with average ranks (a
tied positive-negative pair counts one half) and the average precision is the step-wise
sum over distinct thresholds, as in scikit-learn.
"""

from __future__ import annotations

import numpy as np


def _labels_scores(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0/1 or boolean")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("labels need both classes (at least one positive and one negative)")
    return y, s


def _cumulative_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives flagged at each distinct score, highest score first."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last_of_group].astype(np.float64)
    fps = (last_of_group + 1) - tps
    return tps, fps, s_sorted[last_of_group]


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative) + 1/2 P(tie).

    Computed as the Mann-Whitney U statistic from average ranks. 1.0 for a perfect scorer,
    0.0 for a perfectly inverted one, 0.5 for a constant one.
    """
    y, s = _labels_scores(labels, scores)
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each value
    ranks = average_rank[inverse]
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold.

    Returns
    -------
    fpr, tpr
        float64, increasing, from (0, 0) to (1, 1).
    thresholds
        Decreasing; ``thresholds[0]`` is +inf (nothing flagged), then each distinct score.
    """
    y, s = _labels_scores(labels, scores)
    tps, fps, thresholds = _cumulative_counts(y, s)
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    return fpr, tpr, np.r_[np.inf, thresholds]


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over distinct thresholds of (R_k - R_(k-1)) * P_k.

    ``P_k``, ``R_k`` are the precision and recall flagging ``score >= t_k``; ``R_0 = 0``.
    Equals the positive fraction for a constant scorer and 1.0 for a perfect one.
    """
    y, s = _labels_scores(labels, scores)
    tps, fps, _ = _cumulative_counts(y, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_f1(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Highest F1 over all thresholds, and the threshold reaching it.

    Returns
    -------
    f1
        The best F1 = 2 TP / (2 TP + FP + FN).
    threshold
        The (highest) distinct score at which it is reached: flag ``score >= threshold``.
    """
    y, s = _labels_scores(labels, scores)
    tps, fps, thresholds = _cumulative_counts(y, s)
    f1 = 2 * tps / (tps + fps + tps[-1])
    best = int(np.argmax(f1))
    return float(f1[best]), float(thresholds[best])


def sensitivity_ppv(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Sensitivity TP / (TP + FN) and positive predictive value TP / (TP + FP).

    Parameters
    ----------
    labels
        0/1 truth (1: the class of interest).
    predicted
        0/1 or boolean predictions (1: flagged).

    Returns
    -------
    sensitivity, ppv
        Fractions in [0, 1]; NaN where the denominator is 0 (no positives, nothing flagged).
    """
    y = np.asarray(labels).ravel().astype(bool)
    p = np.asarray(predicted).ravel().astype(bool)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predicted {p.shape} differ in shape")
    tp = float(np.sum(y & p))
    positives, flagged = float(y.sum()), float(p.sum())
    sensitivity = tp / positives if positives else float("nan")
    ppv = tp / flagged if flagged else float("nan")
    return sensitivity, ppv


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of beats whose prediction equals the label."""
    y = np.asarray(labels).ravel().astype(bool)
    p = np.asarray(predicted).ravel().astype(bool)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"labels {y.shape} and predicted {p.shape} must be equal and non-empty")
    return float(np.mean(y == p))
