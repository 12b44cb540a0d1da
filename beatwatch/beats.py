"""Beat windows around R peaks, RR intervals, and the AAMI classes of reference labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

AAMI_CLASSES: dict[str, str] = {
    # N: normal and bundle-branch-block beats, escape beats
    "N": "N", "L": "N", "R": "N", "e": "N", "j": "N", "B": "N", "n": "N",
    # S: supraventricular ectopic beats
    "A": "S", "a": "S", "J": "S", "S": "S",
    # V: ventricular ectopic beats
    "V": "V", "E": "V", "r": "V",
    # F: fusion of ventricular and normal
    "F": "F",
    # Q: paced, fusion of paced and normal, unclassifiable
    "/": "Q", "f": "Q", "Q": "Q", "?": "Q",
}  # fmt: skip
"""MIT-BIH beat symbol -> AAMI EC57 class (N, S, V, F, Q). Non-beat symbols are absent."""


def aami_class(symbols: np.ndarray) -> np.ndarray:
    """AAMI class of each MIT-BIH symbol; ``None`` where the symbol is not a beat."""
    return np.array([AAMI_CLASSES.get(str(s)) for s in symbols], dtype=object)


@dataclass(frozen=True)
class BeatWindow:
    """A window around each R peak: ``before_s`` before to ``after_s`` after, at ``fs_hz``.

    The default is the published MIT-BIH protocol: 140 samples before and 180 after the R
    peak at 360 Hz (0.389 s + 0.5 s, 320 samples).
    """

    fs_hz: float = 360.0
    before_s: float = 140 / 360
    after_s: float = 180 / 360

    def __post_init__(self) -> None:
        if self.fs_hz <= 0:
            raise ValueError(f"BeatWindow.fs_hz must be positive, got {self.fs_hz}")
        if self.before_s < 0 or self.after_s <= 0:
            raise ValueError(
                "BeatWindow needs before_s >= 0 and after_s > 0 seconds, "
                f"got {self.before_s}, {self.after_s}"
            )
        if self.n_samples < 8:
            raise ValueError(f"BeatWindow of {self.n_samples} samples is too short (min 8)")

    @property
    def n_before(self) -> int:
        """Samples before the R peak."""
        return round(self.before_s * self.fs_hz)

    @property
    def n_after(self) -> int:
        """Samples from the R peak on (the peak included)."""
        return round(self.after_s * self.fs_hz)

    @property
    def n_samples(self) -> int:
        return self.n_before + self.n_after


def cut_beat_windows(
    signal_mv: np.ndarray, r_peaks: np.ndarray, window: BeatWindow
) -> tuple[np.ndarray, np.ndarray]:
    """Cut one window per R peak that lies wholly inside the signal.

    Parameters
    ----------
    signal_mv
        One lead at ``window.fs_hz``, in mV.
    r_peaks
        R-peak sample indices at ``window.fs_hz``.

    Returns
    -------
    windows
        float32, shape (n_kept, window.n_samples), mV; row ``i`` spans
        ``r - n_before .. r + n_after - 1``.
    kept
        bool mask over ``r_peaks``: False for peaks too close to either end.
    """
    x = np.asarray(signal_mv, dtype=np.float32)
    peaks = np.asarray(r_peaks, dtype=np.int64)
    kept = (peaks - window.n_before >= 0) & (peaks + window.n_after <= x.size)
    starts = peaks[kept] - window.n_before
    if starts.size == 0:
        return np.zeros((0, window.n_samples), dtype=np.float32), kept
    # rows of a strided view: no (n_kept, n_samples) index array (256 MB for a day's beats)
    return sliding_window_view(x, window.n_samples)[starts], kept


def rr_intervals(r_peaks: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """RR interval before and after each beat, in seconds (NaN at the first / last beat);
    two empty arrays for no beats."""
    peaks = np.asarray(r_peaks, dtype=np.float64)
    if peaks.size == 0:
        return np.empty(0), np.empty(0)
    rr = np.diff(peaks) / fs_hz
    before = np.concatenate(([np.nan], rr))
    after = np.concatenate((rr, [np.nan]))
    return before, after
