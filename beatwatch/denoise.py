"""Denoising one ECG lead: baseline wander, high-frequency noise, power-line hum.

Two chains, chosen by :class:`DenoiseConfig.method`:

* ``"bandpass"`` (default): zero-phase Butterworth band-pass (``highpass_hz`` removes
  baseline wander and respiration, ``lowpass_hz`` muscle and high-frequency noise), then an
  optional zero-phase notch at the mains frequency and its harmonics below Nyquist;
* ``"fft_wiener"``: the approach of the seed projects: remove the FFT bins below
  ``highpass_hz`` and above ``lowpass_hz`` (a brick-wall cut-off), then a local Wiener
  filter (``wiener_window_s``) that smooths where the local variance is noise-like.

Both are zero-phase, so R peaks do not move. NaN samples (WFDB's invalid value) are
interpolated linearly before filtering and put back as NaN afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import signal as sps

DenoiseMethod = Literal["bandpass", "fft_wiener", "none"]


@dataclass(frozen=True)
class DenoiseConfig:
    """Filter settings; frequencies in Hz, durations in seconds."""

    method: DenoiseMethod = "bandpass"
    highpass_hz: float = 0.5
    """Below this, baseline wander (respiration, movement) is removed."""
    lowpass_hz: float = 40.0
    """Above this, muscle and high-frequency noise is removed."""
    order: int = 2
    """Butterworth order of each band edge (doubled by the forward-backward pass)."""
    notch_hz: float | None = None
    """Mains frequency (50 or 60 Hz) to notch out with its harmonics; ``None``: no notch."""
    notch_q: float = 30.0
    wiener_window_s: float = 0.03
    """Window of the local Wiener filter (``fft_wiener`` only)."""

    def __post_init__(self) -> None:
        if self.method not in ("bandpass", "fft_wiener", "none"):
            raise ValueError(
                f"DenoiseConfig.method must be bandpass, fft_wiener or none, got {self.method!r}"
            )
        if not 0 < self.highpass_hz < self.lowpass_hz:
            raise ValueError(
                f"DenoiseConfig.highpass_hz ({self.highpass_hz}) must be > 0 and below "
                f"lowpass_hz ({self.lowpass_hz})"
            )
        if self.order < 1:
            raise ValueError(f"DenoiseConfig.order must be >= 1, got {self.order}")
        if self.notch_hz is not None and self.notch_hz <= 0:
            raise ValueError(f"DenoiseConfig.notch_hz must be positive, got {self.notch_hz}")
        if self.notch_q <= 0 or self.wiener_window_s <= 0:
            raise ValueError("DenoiseConfig.notch_q and wiener_window_s must be positive")


def denoise(
    signal_mv: np.ndarray, fs_hz: float, cfg: DenoiseConfig = DenoiseConfig()
) -> np.ndarray:
    """Denoise one lead.

    Parameters
    ----------
    signal_mv
        One lead, 1-D, in mV.
    fs_hz
        Its sampling rate, Hz.
    cfg
        Which chain and its settings. A ``lowpass_hz`` at or above Nyquist (``fs_hz / 2``) is
        lowered to 45 % of ``fs_hz``.

    Returns
    -------
    numpy.ndarray
        float32, same length, in mV; NaN exactly where the input was NaN or infinite.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"denoise takes one lead (1-D), got shape {x.shape}")
    if fs_hz <= 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    missing = ~np.isfinite(x)  # NaN or +-inf: a gap, filled for filtering, NaN again after
    if missing.all():
        return np.full(x.size, np.nan, dtype=np.float32)
    if missing.any():
        x = _fill_gaps(x, missing)
    if cfg.method != "none" and x.size >= 16:
        lowpass = min(cfg.lowpass_hz, 0.45 * fs_hz)
        if cfg.method == "bandpass":
            x = _bandpass(x, fs_hz, cfg.highpass_hz, lowpass, cfg.order)
            if cfg.notch_hz is not None:
                x = _notch(x, fs_hz, cfg.notch_hz, cfg.notch_q)
        else:
            x = _fft_wiener(x, fs_hz, cfg.highpass_hz, lowpass, cfg.wiener_window_s)
    out = x.astype(np.float32)
    out[missing] = np.nan
    return out


def _fill_gaps(x: np.ndarray, missing: np.ndarray) -> np.ndarray:
    idx = np.arange(x.size)
    filled = x.copy()
    filled[missing] = np.interp(idx[missing], idx[~missing], x[~missing])
    return filled


def _bandpass(x: np.ndarray, fs: float, low: float, high: float, order: int) -> np.ndarray:
    sos = sps.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), x.size - 1)
    return sps.sosfiltfilt(sos, x, padlen=padlen)


def _notch(x: np.ndarray, fs: float, mains_hz: float, q: float) -> np.ndarray:
    harmonic = mains_hz
    while harmonic < 0.48 * fs:
        b, a = sps.iirnotch(harmonic, q, fs=fs)
        x = sps.filtfilt(b, a, x, padlen=min(3 * max(len(a), len(b)), x.size - 1))
        harmonic += mains_hz
    return x


def _fft_wiener(x: np.ndarray, fs: float, low: float, high: float, window_s: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, d=1.0 / fs)
    spectrum[(freqs < low) | (freqs > high)] = 0.0
    cut = np.fft.irfft(spectrum, n=x.size)
    window = max(3, round(window_s * fs) | 1)  # odd, at least 3 samples
    with np.errstate(divide="ignore", invalid="ignore"):
        smoothed = sps.wiener(cut, mysize=window)
    return np.where(np.isfinite(smoothed), smoothed, cut)
