"""R-peak detection (draft)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import butter, find_peaks, sosfiltfilt

OPT = {k[4:]: float(v) for k, v in os.environ.items() if k.startswith("RPK_")}


def opt(name, default):
    return OPT.get(name, default)


@dataclass(frozen=True)
class RPeakConfig:
    band_low_hz: float = 5.0
    band_high_hz: float = 15.0
    filter_order: int = 2
    integration_s: float = 0.150
    refractory_s: float = 0.200
    t_wave_s: float = 0.360
    t_wave_slope_ratio: float = 0.5
    search_back_factor: float = 1.66
    learning_s: float = 8.0
    refine_s: float = 0.075
    threshold_fraction: float = 0.25


def _bandpass(x: np.ndarray, fs: float, cfg: RPeakConfig) -> np.ndarray:
    sos = butter(
        cfg.filter_order,
        [opt("LO", cfg.band_low_hz), opt("HI", cfg.band_high_hz)],
        btype="bandpass",
        fs=fs,
        output="sos",
    )
    return sosfiltfilt(sos, x)


def detect_r_peaks(
    signal_mv: np.ndarray, fs_hz: float, cfg: RPeakConfig = RPeakConfig()
) -> np.ndarray:
    x = np.asarray(signal_mv, dtype=np.float64)
    fs = float(fs_hz)
    bp = _bandpass(x, fs, cfg)
    d = np.empty_like(bp)
    d[1:-1] = bp[2:] - bp[:-2]
    d[0] = d[-1] = 0.0
    d *= fs / 2  # mV/s
    sq = d * d
    win = max(1, round(opt("WIN", cfg.integration_s) * fs))
    mwi = uniform_filter1d(sq, win, mode="constant")
    if opt("SQRT", 1):
        np.sqrt(mwi, out=mwi)
    refr = round(cfg.refractory_s * fs)
    cand, _ = find_peaks(mwi, distance=max(1, refr))
    if cand.size == 0:
        return np.empty(0, np.int64)
    slope = maximum_filter1d(np.abs(d), win)[cand]
    beats = _classify(cand, mwi[cand], slope, mwi, fs, cfg)
    b = np.asarray(beats, dtype=np.int64)
    return np.unique(b)


def _classify(cand, heights, slopes, mwi, fs, cfg):
    refr = round(cfg.refractory_s * fs)
    t_wave = round(cfg.t_wave_s * fs)
    nlearn = min(mwi.size, round(cfg.learning_s * fs))
    blk = max(1, round(1.0 * fs))
    nb = max(1, nlearn // blk)
    maxima = [float(mwi[k * blk : (k + 1) * blk].max()) for k in range(nb)]
    spk_init = float(np.median(maxima)) * opt("SPK0", 0.7)
    npk = float(np.median(mwi[:nlearn])) * opt("NPK0", 1.0)
    levels = [spk_init] * 8
    spk = spk_init
    nw = opt("NW", 0.125)
    f = opt("F", cfg.threshold_fraction)
    sbf = opt("SB", cfg.search_back_factor)
    tr = opt("TR", cfg.t_wave_slope_ratio)
    sbthr = opt("SBTHR", 0.5)
    rr_hist: list[int] = []
    rr_mean = fs
    beats: list[int] = []
    pos = cand.tolist()
    hs = heights.tolist()
    sl = slopes.tolist()
    last = -10 * refr
    last_slope = 0.0
    k = 0
    searched_from = -1
    n = len(pos)

    def accept(p, h, s):
        nonlocal last, last_slope, spk, rr_mean
        levels.append(h)
        del levels[0]
        spk = sorted(levels)[4] if opt("MED", 1) else 0.125 * h + 0.875 * spk
        if beats:
            rr_hist.append(p - last)
            if len(rr_hist) > 8:
                del rr_hist[0]
            rr_mean = sum(rr_hist) / len(rr_hist)
        beats.append(p)
        last, last_slope = p, s

    while k < n:
        p, h = pos[k], hs[k]
        thr1 = npk + f * (spk - npk)
        if beats and p - last > sbf * rr_mean and searched_from != last:
            searched_from = last
            thr2 = sbthr * thr1
            best = -1
            bh = 0.0
            j = k - 1
            while j >= 0 and pos[j] > last:
                pj = pos[j]
                if pj - last >= refr and hs[j] > thr2 and hs[j] > bh:
                    if not (pj - last < t_wave and sl[j] < tr * last_slope):
                        best, bh = j, hs[j]
                j -= 1
            if best >= 0:
                accept(pos[best], bh, sl[best])
                k = best + 1
                continue
        if p - last < refr:
            k += 1
            continue
        if h > thr1 and not (p - last < t_wave and sl[k] < tr * last_slope):
            accept(p, h, sl[k])
        else:
            npk = nw * h + (1 - nw) * npk
        k += 1
    return beats
