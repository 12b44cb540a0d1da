"""Polyphase resampling of a lead to the model's sampling rate."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps


def resample_ratio(fs_in_hz: float, fs_out_hz: float, *, max_denominator: int = 1000) -> Fraction:
    """``fs_out / fs_in`` as a small fraction ``up / down`` for the polyphase filter."""
    if fs_in_hz <= 0 or fs_out_hz <= 0:
        raise ValueError(f"sampling rates must be positive, got {fs_in_hz} and {fs_out_hz} Hz")
    return Fraction(fs_out_hz / fs_in_hz).limit_denominator(max_denominator)


def resample_lead(signal_mv: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> np.ndarray:
    """Resample one lead from ``fs_in_hz`` to ``fs_out_hz`` with a polyphase FIR filter.

    Parameters
    ----------
    signal_mv
        One lead, 1-D, in mV (NaN-free: denoise first, it fills gaps).
    fs_in_hz, fs_out_hz
        Sampling rates, Hz.

    Returns
    -------
    numpy.ndarray
        float32 in mV, ``ceil(len * up / down)`` samples; the same array (as float32) when the
        rates are equal. Sample ``i`` of the input lands at ``i * fs_out / fs_in``.
    """
    x = np.asarray(signal_mv)
    ratio = resample_ratio(fs_in_hz, fs_out_hz)
    if ratio == 1:
        return x.astype(np.float32, copy=False)
    out = sps.resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator)
    return out.astype(np.float32)


def rescale_samples(samples: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> np.ndarray:
    """Sample indices at ``fs_in_hz`` mapped to the nearest index at ``fs_out_hz`` (int64)."""
    ratio = resample_ratio(fs_in_hz, fs_out_hz)
    return np.rint(np.asarray(samples, dtype=np.float64) * float(ratio)).astype(np.int64)
