"""Operating thresholds on reconstruction errors, and the per-record adaptive score.

A beat is flagged abnormal when its score is at or above the threshold (``score >=
threshold``, as in :mod:`beatwatch.metrics`). Three rules:

* :func:`mean_k_std`: mean + k standard deviations of the training normals' errors (k = 3
  assumes roughly Gaussian errors: about 0.1 % of normals above it; the TensorFlow ECG5000
  tutorial uses k = 1);
* :func:`percentile_threshold`: the q-th percentile of held-out normal errors (q = 99: by
  construction about 1 % of normals flagged, whatever the error distribution);
* :func:`relative_to_record`: each beat's error divided by the median error of its own
  record, flagged above :data:`RELATIVE_THRESHOLD` (a recording whose beats all reconstruct
  badly, e.g. an unusual but normal morphology or a noisy lead, is judged against itself).
"""

from __future__ import annotations

import numpy as np

RELATIVE_THRESHOLD: float = 3.0
"""Default threshold on :func:`relative_to_record` scores: three times the record's median."""

_MEDIAN_FLOOR = 1e-12  # a record whose median error is 0 is divided by this instead


def _errors(values: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def mean_k_std(train_normal_errors: np.ndarray, k: float = 3.0) -> float:
    """Mean + ``k`` population standard deviations (ddof = 0) of the errors.

    Parameters
    ----------
    train_normal_errors
        Reconstruction errors of the training normal beats (normalised units squared).
    k
        Number of standard deviations, >= 0.

    Returns
    -------
    float
        The threshold, in the errors' unit.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    x = _errors(train_normal_errors, "train_normal_errors")
    return float(x.mean() + k * x.std())


def percentile_threshold(val_normal_errors: np.ndarray, q: float = 99.0) -> float:
    """The ``q``-th percentile (linear interpolation, NumPy's default) of the errors.

    Parameters
    ----------
    val_normal_errors
        Errors of normal beats the model did not train on (or training normals, if no
        held-out normals exist).
    q
        Percentile in [0, 100].

    Returns
    -------
    float
        The threshold, in the errors' unit.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    return float(np.percentile(_errors(val_normal_errors, "val_normal_errors"), q))


def relative_to_record(errors: np.ndarray, records: np.ndarray) -> np.ndarray:
    """Each beat's error divided by the median error of the beats of its record.

    Unsupervised and label-free: the median is taken over all the beats given for that
    record, so pass every beat of a recording (as a nightly run scores it). Where most of
    a record's beats are abnormal the median is an abnormal beat's error and the abnormal
    beats score low: the rule assumes most beats of a recording are normal.

    Parameters
    ----------
    errors
        (n_beats,) reconstruction errors.
    records
        (n_beats,) record identifier of each beat (any hashable values).

    Returns
    -------
    numpy.ndarray
        float64, (n_beats,), unitless (1.0 = the record's median beat). A record whose
        median error is 0 is divided by 1e-12.
    """
    x = _errors(errors, "errors")
    ids = np.asarray(records).ravel()
    if ids.shape != x.shape:
        raise ValueError(f"records has shape {ids.shape}, errors {x.shape}")
    _, group = np.unique(ids, return_inverse=True)
    medians = np.array([np.median(x[group == g]) for g in range(group.max() + 1)])
    return x / np.maximum(medians[group], _MEDIAN_FLOOR)
