"""The beat's anomaly score: its shape (reconstruction error) and its timing (RR context).

A convolutional autoencoder judges a beat window's *shape*. Supraventricular ectopic beats
(S) usually have a normal shape and differ in *timing*: they come early (a short RR
interval before, against the record's local rhythm) and are often followed by a pause.
So the score a night stores combines three label-free, per-beat quantities:

* ``log_error``: log of the reconstruction error
  (:func:`beatwatch.inference.reconstruction_errors`);
* ``log_prematurity``: log(RR before / local median RR before), the local median taken over
  the :data:`LOCAL_BEATS` beats centred on the beat in its own recording (< 0: early);
* ``log_pause``: log(RR after / RR before) (> 0: a pause after the beat).

Each is standardised by a robust centre and scale (median and 1.4826 x MAD) of the
*normal training beats*, held in a :class:`ScoreCalibration` stored with the model, and

    score = z(log_error) + sqrt(min(z(log_prematurity), 0)^2 + max(z(log_pause), 0)^2)

in units of normal-beat standard deviations: about 0 for a typical normal beat, larger is
more abnormal. Only earliness and a following pause add; a late beat or a shortened
following interval does not. On the MIT-BIH inter-patient split (train on DS1 normals,
test on DS2) this raised ROC-AUC from 0.75 (shape alone) to 0.87 (see the README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

LOCAL_BEATS: int = 21
"""Beats in the running median that defines a beat's local RR, centred on the beat."""

_MAD_TO_STD = 1.4826  # MAD of a normal distribution times this is its standard deviation
_ERROR_FLOOR = 1e-12  # reconstruction errors are clipped here before the log


@dataclass(frozen=True)
class RhythmContext:
    """Per-beat timing features of one recording (unitless log ratios)."""

    log_prematurity: np.ndarray
    """log(RR before / local median RR before); < 0 for an early beat."""
    log_pause: np.ndarray
    """log(RR after / RR before); > 0 for a pause after the beat."""

    def subset(self, index: np.ndarray) -> RhythmContext:
        """The features of the beats ``index`` selects (indices or a boolean mask)."""
        return RhythmContext(self.log_prematurity[index], self.log_pause[index])

    @staticmethod
    def concat(parts: Sequence[RhythmContext]) -> RhythmContext:
        """The features of several recordings' beats, one after the other."""
        return RhythmContext(
            np.concatenate([p.log_prematurity for p in parts]),
            np.concatenate([p.log_pause for p in parts]),
        )


def rhythm_context(
    rr_prev_s: np.ndarray, rr_next_s: np.ndarray, *, local_beats: int = LOCAL_BEATS
) -> RhythmContext:
    """Timing features of every beat of one recording, in time order.

    Parameters
    ----------
    rr_prev_s, rr_next_s
        (n_beats,) RR interval before and after each beat, seconds; NaN where unknown (the
        first and last beat). Unknown or non-positive intervals are replaced by the
        recording's median RR, so they contribute no timing anomaly.
    local_beats
        Length of the running median of RR-before, in beats (odd, >= 1).

    Returns
    -------
    RhythmContext
        float64 arrays of shape (n_beats,). All zeros for fewer than 2 beats' worth of RR.
    """
    prev = np.asarray(rr_prev_s, dtype=np.float64).ravel()
    nxt = np.asarray(rr_next_s, dtype=np.float64).ravel()
    if prev.shape != nxt.shape:
        raise ValueError(f"rr_prev_s has shape {prev.shape}, rr_next_s {nxt.shape}")
    if local_beats < 1 or local_beats % 2 == 0:
        raise ValueError(f"local_beats must be odd and >= 1, got {local_beats}")
    known = np.concatenate([prev, nxt])
    known = known[np.isfinite(known) & (known > 0)]
    if prev.size == 0 or known.size == 0:
        zeros = np.zeros(prev.size)
        return RhythmContext(zeros, zeros.copy())
    typical = float(np.median(known))
    prev = np.where(np.isfinite(prev) & (prev > 0), prev, typical)
    nxt = np.where(np.isfinite(nxt) & (nxt > 0), nxt, typical)
    local = ndimage.median_filter(prev, size=local_beats, mode="nearest")
    return RhythmContext(np.log(prev / local), np.log(nxt / prev))


def _robust(values: np.ndarray, name: str) -> tuple[float, float]:
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise ValueError(f"{name}: need at least 2 finite values to calibrate, got {x.size}")
    centre = float(np.median(x))
    scale = _MAD_TO_STD * float(np.median(np.abs(x - centre)))
    if scale <= 0:  # more than half the values identical: fall back to the standard deviation
        scale = float(x.std())
    return centre, max(scale, 1e-6)


@dataclass(frozen=True)
class ScoreCalibration:
    """Robust centre and scale of each score component over normal training beats.

    Stored in ``model_versions.config`` beside the weights, so a beat scored tonight and
    the same beat scored next year by the same model version get the same score.
    """

    log_error_centre: float
    log_error_scale: float
    log_prematurity_centre: float
    log_prematurity_scale: float
    log_pause_centre: float
    log_pause_scale: float

    @classmethod
    def fit(cls, errors: np.ndarray, context: RhythmContext) -> ScoreCalibration:
        """Calibrate on the reconstruction errors and timing of normal training beats."""
        e = _robust(np.log(np.clip(errors, _ERROR_FLOOR, None)), "log reconstruction error")
        p = _robust(context.log_prematurity, "log prematurity")
        q = _robust(context.log_pause, "log pause")
        return cls(*e, *p, *q)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ScoreCalibration:
        return cls(**{k: float(v) for k, v in values.items()})


@dataclass(frozen=True)
class ScoreParts:
    """The combined anomaly score of each beat and its two parts (normal-beat SD units)."""

    score: np.ndarray
    """Shape part + timing part; the value the threshold applies to."""
    shape_z: np.ndarray
    """Standardised log reconstruction error (may be negative)."""
    timing_z: np.ndarray
    """Earliness and following pause, >= 0."""


def anomaly_score(
    errors: np.ndarray, context: RhythmContext, calibration: ScoreCalibration
) -> ScoreParts:
    """The combined score (module docstring) of beats from their errors and timing.

    Parameters
    ----------
    errors
        (n_beats,) reconstruction errors (normalised units squared), >= 0.
    context
        The beats' :class:`RhythmContext` (same order).
    calibration
        The model's :class:`ScoreCalibration`.
    """
    err = np.asarray(errors, dtype=np.float64).ravel()
    if err.shape != context.log_prematurity.shape:
        raise ValueError(f"errors has shape {err.shape}, context {context.log_prematurity.shape}")
    c = calibration
    shape_z = (np.log(np.clip(err, _ERROR_FLOOR, None)) - c.log_error_centre) / c.log_error_scale
    early = (context.log_prematurity - c.log_prematurity_centre) / c.log_prematurity_scale
    pause = (context.log_pause - c.log_pause_centre) / c.log_pause_scale
    timing_z = np.sqrt(np.minimum(early, 0.0) ** 2 + np.maximum(pause, 0.0) ** 2)
    return ScoreParts(shape_z + timing_z, shape_z, timing_z)
