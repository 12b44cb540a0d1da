"""Seeded synthetic ECG recordings with reference beat annotations.

Each beat is a sum of Gaussian waves (P, Q, R, S, T) around its R peak, amplitudes in mV
after McSharry et al. (2003), ECGSYN, evaluated over a local window per wave, so 24 h of
2-lead ECG at 360 Hz takes seconds. Leads other than MLII/II and V1 are fixed mixes of
those two projections. Noise, wander and hum are drawn last, so a seed keeps its beat
times (s) across ``noise_mv`` and ``fs_hz``.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import numpy as np
import wfdb
from scipy.signal import lfilter

ADC_GAIN_PER_MV = 200.0  # adc units per mV, as in MIT-BIH
_FMT_LIMIT = {"212": 2047, "16": 32767}  # -(limit + 1) is WFDB's "invalid sample"
_EDGE_MARGIN_S = 0.3  # no beats this close to either end, s
_SNAP_S = 0.06  # half window in which an annotation snaps to the QRS peak, s
_MIN_INTERVAL_S = 0.2  # shortest RR interval generated, s
_TRUNCATE_SIGMAS = 4.5  # each Gaussian is evaluated over +-4.5 std only
_SAMPLES_PER_BLOCK = 1 << 20
_RECORD_NAME = re.compile(r"[A-Za-z0-9_-]+")

# Wave slots 0 P, 1-3 QRS, 4 T: offsets from the R peak and widths (std), s, at RR = 1 s.
_N_MU_S = np.array([-0.16, -0.028, 0.0, 0.026, 0.25])
_N_SIGMA_S = np.array([0.022, 0.008, 0.010, 0.009, 0.055])
_V_MU_S = np.array([-0.16, -0.035, 0.0, 0.045, 0.28])  # PVC: QRS ~150 ms wide, no P
_V_SIGMA_S = np.array([0.022, 0.016, 0.024, 0.020, 0.075])
# Amplitudes, mV, columns (MLII, V1); V1 has a small r and a dominant negative S.
_N_AMP_MV = np.array([[0.15, 0.08], [-0.12, 0], [1.2, 0.28], [-0.28, -1.1], [0.3, 0.1]])
_V_AMP_MV = np.array([[0.0, 0.0], [0.3, 0.2], [1.7, 1.3], [-0.5, -0.3], [-0.5, -0.4]])
_LEAD_MIX = {"MLII": (1.0, 0.0), "II": (1.0, 0.0), "V1": (0.0, 1.0)}
_Arrays = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters (Hz, s, mV) of one recording; cross-field rules checked when built.

    Rates are fractions in [0, 1]: of beats that are PVCs ('V') or PACs ('A'), sum
    <= 0.5; of sinus RR intervals stretched to 1.8-2.5 x the nominal RR (pauses).
    Lead 0 carries the annotated R peaks. Invalid values raise ``ValueError``.
    """

    fs_hz: float = 360.0  # sampling rate, Hz, >= 50
    duration_s: float = 60.0  # s
    heart_rate_bpm: float = 72.0  # mean sinus rate, beats/min, 20-250
    hrv_std_s: float = 0.03  # std of the beat-to-beat RR jitter, s
    pvc_rate: float = 0.0
    pac_rate: float = 0.0
    pause_rate: float = 0.0
    noise_mv: float = 0.0  # white-noise std, mV
    baseline_wander_mv: float = 0.0  # amplitude of ~0.25 Hz respiratory wander, mV
    powerline_mv: float = 0.0  # amplitude of mains hum, mV
    powerline_hz: float = 60.0  # mains frequency, Hz
    leads: tuple[str, ...] = ("MLII", "V1")
    seed: int = 0  # seed of np.random.default_rng, >= 0

    def __post_init__(self) -> None:
        if isinstance(self.leads, list):  # e.g. from JSON parameters
            object.__setattr__(self, "leads", tuple(self.leads))
        for name in (f.name for f in fields(self) if f.type == "float"):
            value = getattr(self, name)
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (real and math.isfinite(value)):
                raise ValueError(f"SyntheticConfig.{name} must be a finite number")
        fs, hr, seed = self.fs_hz, self.heart_rate_bpm, self.seed
        integer = isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
        hum = self.powerline_mv == 0 or self.powerline_hz < fs / 2  # no hum: any frequency
        rules = (
            ("fs_hz", fs >= 50.0, "must be >= 50 Hz to resolve a QRS"),
            ("duration_s", self.duration_s * fs >= 1, "must be > 0 s and >= 1 sample"),
            ("heart_rate_bpm", 20 <= hr <= 250, "must be in [20, 250]"),
            ("hrv_std_s", 0 <= self.hrv_std_s * hr <= 15, "must be in [0, 15 / heart_rate_bpm] s"),
            ("pvc_rate", 0 <= self.pvc_rate <= 1, "must be in [0, 1]"),
            ("pac_rate", 0 <= self.pac_rate <= 1, "must be in [0, 1]"),
            ("pause_rate", 0 <= self.pause_rate <= 1, "must be in [0, 1]"),
            ("pac_rate", self.pvc_rate + self.pac_rate <= 0.5, "+ pvc_rate must be <= 0.5"),
            ("noise_mv", self.noise_mv >= 0, "must be >= 0 mV"),
            ("baseline_wander_mv", self.baseline_wander_mv >= 0, "must be >= 0 mV"),
            ("powerline_mv", self.powerline_mv >= 0, "must be >= 0 mV"),
            ("powerline_hz", self.powerline_hz > 0 and hum, "must be in (0, fs_hz / 2) Hz"),
            ("leads", _unique_names(self.leads), "must be non-empty, unique, non-blank names"),
            ("seed", integer and seed >= 0, "must be an int >= 0"),
        )
        for name, ok, rule in rules:
            if not ok:
                got = getattr(self, name)
                raise ValueError(f"SyntheticConfig.{name} {rule}, got {got!r}")


def _unique_names(names: object) -> bool:
    """True if ``names`` is a non-empty tuple of distinct, non-blank strings."""
    if not isinstance(names, tuple) or not names:
        return False
    ok = all(isinstance(name, str) and name.strip() for name in names)
    return ok and len(set(names)) == len(names)


@dataclass(frozen=True, eq=False)
class SyntheticRecording:
    """A recording (mV at ``fs_hz`` Hz) and its reference beats (samples, symbols)."""

    signals_mv: np.ndarray  # float64 (n_samples, n_leads), mV; generated: column-major
    fs_hz: float  # sampling rate, Hz
    leads: tuple[str, ...]  # lead names, one per column
    beat_samples: np.ndarray  # int64 sample of each R peak (max |QRS| on lead 0), sorted
    beat_symbols: np.ndarray  # str MIT-BIH beat symbols: 'N', 'V' or 'A'

    def __post_init__(self) -> None:
        if self.signals_mv.ndim != 2 or self.signals_mv.shape[1] != len(self.leads):
            raise ValueError("signals_mv must have shape (n_samples, len(leads))")
        if self.beat_samples.ndim != 1 or self.beat_symbols.shape != (self.n_beats,):
            raise ValueError("beat_samples, beat_symbols must be 1-D of equal length")

    @property
    def n_samples(self) -> int:
        """Number of samples per lead."""
        return int(self.signals_mv.shape[0])

    @property
    def n_beats(self) -> int:
        """Number of annotated beats."""
        return int(self.beat_samples.shape[0])

    @property
    def duration_s(self) -> float:
        """Duration, s."""
        return self.n_samples / self.fs_hz

    @property
    def beat_times_s(self) -> np.ndarray:
        """R-peak times, s from the first sample."""
        return self.beat_samples / self.fs_hz


def generate_ecg(cfg: SyntheticConfig) -> SyntheticRecording:
    """Generate a synthetic ECG and its beat annotations; same config, same bits.

    Parameters
    ----------
    cfg : SyntheticConfig
        Rhythm, morphology seed and artefacts (Hz, s, mV).

    Returns
    -------
    SyntheticRecording
        Signals (mV) at ``cfg.fs_hz`` Hz. Each beat is annotated at the max |deflection|
        of its QRS on lead 0 of the artefact-free signal; none within 0.3 s of an end.
    """
    rng = np.random.default_rng(cfg.seed)
    fs = cfg.fs_hz
    resp_hz, resp_phase = rng.uniform(0.2, 0.3), rng.uniform(0.0, 2 * np.pi)
    margin_s = _EDGE_MARGIN_S + _SNAP_S + 1.0 / fs
    times_s, symbols, rr_s = _beat_rhythm(cfg, rng, margin_s)
    mu_s, sigma_s, kind, amp_mv = _beat_waves(cfg, rng, symbols, rr_s)
    breathing = 1 + 0.05 * np.sin(2 * np.pi * resp_hz * times_s + resp_phase)
    scale = breathing + 0.02 * rng.standard_normal(times_s.size)

    signals = np.zeros((len(cfg.leads), round(cfg.duration_s * fs)))  # lead-major
    centers = np.rint(times_s * fs).astype(np.int64)
    for k in range(len(amp_mv)):
        beats = kind == k
        waves = (mu_s[beats], sigma_s[beats], scale[beats])
        _render_waves(signals, centers[beats], waves, amp_mv[k], fs)
    centers = _snap_to_peaks(signals[0], centers, int(_SNAP_S * fs))
    _add_artefacts(signals, cfg, rng, resp_hz)
    return SyntheticRecording(signals.T, fs, cfg.leads, centers, symbols)


def _beat_rhythm(cfg: SyntheticConfig, rng: np.random.Generator, margin_s: float) -> _Arrays:
    """Beat times (s), symbols and sinus RR (s) of beats >= margin_s (s) from the ends."""
    rr_nominal_s = 60.0 / cfg.heart_rate_bpm
    min_interval_s = max(_MIN_INTERVAL_S, 0.25 * rr_nominal_s)
    n_max = math.ceil(cfg.duration_s / min_interval_s) + 2
    phi = 0.6  # AR(1) correlation of successive RR jitters; stationary std = hrv_std_s
    white = rng.normal(0.0, cfg.hrv_std_s, n_max)
    zi = np.array([phi * rng.normal(0.0, cfg.hrv_std_s)])
    jitter_s = lfilter([math.sqrt(1 - phi**2)], [1.0, -phi], white, zi=zi)[0]
    rr_s = np.clip(rr_nominal_s + jitter_s, 0.5 * rr_nominal_s, 1.5 * rr_nominal_s)

    u = rng.random(n_max)
    ectopic = np.where(u < cfg.pvc_rate, "V", "A")
    symbols = np.where(u < cfg.pvc_rate + cfg.pac_rate, ectopic, "N")
    symbols[0] = "N"
    prev = np.roll(symbols, 1)
    prev[0] = "N"
    pvc_coupling = rng.uniform(0.55, 0.65) + rng.normal(0.0, 0.01, n_max)  # unifocal
    pac_coupling = rng.uniform(0.65, 0.75, n_max)
    pause = (rng.random(n_max) < cfg.pause_rate) & (symbols == "N") & (prev == "N")
    pause_s = rng.uniform(1.8, 2.5, n_max) * rr_nominal_s

    # interval_s[i] runs from beat i-1 to beat i. A PVC leaves the sinus node alone
    # (full compensatory pause); a PAC resets it.
    interval_s = np.where(prev == "V", (2 - np.roll(pvc_coupling, 1)) * rr_s, rr_s)
    interval_s = np.where(prev == "A", 1.05 * rr_s, interval_s)
    interval_s = np.where(pause, pause_s, interval_s)
    interval_s = np.where(symbols == "V", pvc_coupling * rr_s, interval_s)
    interval_s = np.where(symbols == "A", pac_coupling * rr_s, interval_s)
    interval_s = np.maximum(interval_s, min_interval_s)
    interval_s[0] = margin_s + rng.uniform(0.0, rr_nominal_s)
    times_s = np.cumsum(interval_s)
    keep = times_s <= cfg.duration_s - margin_s
    return times_s[keep], symbols[keep], rr_s[keep]


def _beat_waves(
    cfg: SyntheticConfig, rng: np.random.Generator, sym: np.ndarray, rr_s: np.ndarray
) -> _Arrays:
    """Offsets and widths (s) of each beat's 5 waves, beat kinds, amplitudes (mV).

    Kinds: 0 normal, 1 PVC, 2 PAC; amplitudes have shape (3 kinds, 5, n_leads). The T
    wave scales with sqrt(RR) (Bazett-like QT), the PR interval mildly; QRS is fixed.
    """
    angles = 0.35 + 0.7 * np.arange(len(cfg.leads))
    mix = np.stack([np.cos(angles), np.sin(angles)])  # (2, n_leads), for unknown names
    for j, name in enumerate(cfg.leads):
        mix[:, j] = _LEAD_MIX.get(name, mix[:, j])
    normal = (_N_AMP_MV * rng.uniform(0.85, 1.2, size=(5, 1))) @ mix
    pvc = (_V_AMP_MV * rng.choice([-1.0, 1.0], size=2) * rng.uniform(1.0, 1.2)) @ mix
    pac = normal.copy()
    pac[0] *= rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 0.9)  # ectopic P axis
    pac_p_mu_s, pac_p_sigma_s = -rng.uniform(0.11, 0.15), rng.uniform(0.015, 0.02)

    is_v, is_a = sym == "V", sym == "A"
    mu_s = np.where(is_v[:, None], _V_MU_S, _N_MU_S)
    sigma_s = np.where(is_v[:, None], _V_SIGMA_S, _N_SIGMA_S)
    qt_scale = np.clip(np.sqrt(rr_s), 0.6, 1.25)
    mu_s[:, 4] *= qt_scale
    sigma_s[:, 4] *= qt_scale
    mu_s[:, 0] *= np.clip(rr_s, 0.5, 1.5) ** 0.15
    mu_s[is_a, 0], sigma_s[is_a, 0] = pac_p_mu_s, pac_p_sigma_s
    kind = np.where(is_v, 1, np.where(is_a, 2, 0))
    return mu_s, sigma_s, kind, np.stack([normal, pvc, pac])


def _render_waves(
    out: np.ndarray, centers: np.ndarray, waves: _Arrays, amp_mv: np.ndarray, fs_hz: float
) -> None:
    """Add beats of one kind to ``out`` (n_leads, n_samples), mV, in place.

    With ``waves = (mu_s, sigma_s, scale)``, beat ``b`` centred on sample ``centers[b]`` gets
    wave ``i`` = Gaussian (offset ``mu_s[b, i]``, std ``sigma_s[b, i]``, s) times
    ``scale[b] * amp_mv[i, lead]`` (mV), evaluated over +-4.5 std only; overlapping windows
    are summed by ``np.bincount``.
    """
    mu_s, sigma_s, scale = waves
    n_samples = out.shape[1]
    edges = np.arange(0, n_samples + _SAMPLES_PER_BLOCK, _SAMPLES_PER_BLOCK)
    bounds = np.searchsorted(centers, edges)  # chunks of beats by time, not by count
    chunks = [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]
    for i in np.flatnonzero(np.any(amp_mv, axis=1) if chunks else []):
        lo = math.floor(np.min(mu_s[:, i] - _TRUNCATE_SIGMAS * sigma_s[:, i]) * fs_hz)
        hi = math.ceil(np.max(mu_s[:, i] + _TRUNCATE_SIGMAS * sigma_s[:, i]) * fs_hz)
        offsets = np.arange(lo, hi + 1)
        for chunk in chunks:
            z = (offsets / fs_hz - mu_s[chunk, i, None]) / sigma_s[chunk, i, None]
            weights = np.exp(-0.5 * z * z) * scale[chunk, None]
            idx = centers[chunk, None] + offsets
            first, last = idx[0, 0], idx[-1, -1]  # centers ascend
            summed = np.bincount((idx - first).ravel(), weights.ravel(), last - first + 1)
            a, b = max(first, 0), min(last + 1, n_samples)
            for lead, row in enumerate(out):
                row[a:b] += amp_mv[i, lead] * summed[a - first : b - first]


def _snap_to_peaks(lead0_mv: np.ndarray, centers: np.ndarray, half: int) -> np.ndarray:
    """Move each beat to the max |deflection| of ``lead0_mv`` within +-half samples."""
    if centers.size == 0 or half == 0:
        return centers
    offsets = np.arange(-half, half + 1)
    window = lead0_mv[centers[:, None] + offsets]
    return centers + offsets[np.argmax(np.abs(window), axis=1)]


def _add_artefacts(
    out: np.ndarray, cfg: SyntheticConfig, rng: np.random.Generator, resp_hz: float
) -> None:
    """Add wander (``resp_hz`` Hz), hum and white noise (mV) to ``out`` (n_leads, n).

    Works in blocks of samples, so a 24 h recording needs no full-length temporaries;
    a sinusoid's block at sample s is sin(w k + p) cos(w s) + cos(w k + p) sin(w s).
    """
    phases = rng.uniform(0.0, 2 * np.pi, size=(out.shape[0], 2))
    waves = ((resp_hz, cfg.baseline_wander_mv), (cfg.powerline_hz, cfg.powerline_mv))
    size = min(out.shape[1], _SAMPLES_PER_BLOCK)
    steps, buf = np.arange(size), np.empty(size)
    for lead, row in enumerate(out):
        for k, (freq_hz, amp_mv) in enumerate(waves):
            omega = 2 * np.pi * freq_hz / cfg.fs_hz  # rad per sample
            sin0 = amp_mv * np.sin(omega * steps + phases[lead, k])
            cos0 = amp_mv * np.cos(omega * steps + phases[lead, k])
            for start in range(0, row.size, size) if amp_mv > 0 else ():
                block, tmp = row[start : start + size], buf[: row.size - start]
                block += np.multiply(sin0[: tmp.size], math.cos(omega * start), out=tmp)
                block += np.multiply(cos0[: tmp.size], math.sin(omega * start), out=tmp)
        for start in range(0, row.size, size) if cfg.noise_mv > 0 else ():
            tmp = rng.standard_normal(out=buf[: row.size - start])
            row[start : start + size] += np.multiply(tmp, cfg.noise_mv, out=tmp)


def write_wfdb_record(
    rec: SyntheticRecording,
    directory: Path,
    record_name: str,
    *,
    comments: Sequence[str] = (),
    with_annotations: bool = True,
    fmt: str = "212",
    saturate: bool = False,
    start: datetime | None = None,
) -> list[Path]:
    """Write ``<record_name>.hea``/``.dat`` and (optionally) ``.atr`` into ``directory``.

    Samples are stored at 200 adc units/mV (MIT-BIH gain), baseline 0: reading back
    gives ``signals_mv`` within 1/200 mV, range +-10.235 mV ("212") or +-163.835 mV
    ("16"). Non-finite samples become WFDB's invalid value (read back as NaN).

    Parameters
    ----------
    rec : SyntheticRecording
        Recording to write (mV, Hz).
    directory : Path
        Output folder, created if missing.
    record_name : str
        WFDB record name: letters, digits, '_' or '-'.
    comments : sequence of str
        Header comment lines, without line breaks.
    with_annotations : bool
        Also write the reference beats as annotator ``atr`` (needs >= 1 beat).
    fmt : {"212", "16"}
        WFDB storage format.
    saturate : bool
        Clip samples beyond the format's range instead of raising ``ValueError``.
    start : datetime, optional
        Wall-clock time of the first sample, written as the header's base date and time.

    Returns
    -------
    list of Path
        The written files: .hea, .dat, then .atr if written.
    """
    if not _RECORD_NAME.fullmatch(record_name):
        raise ValueError(f"record_name must be letters, digits, _ or -: {record_name!r}")
    if fmt not in _FMT_LIMIT:
        raise ValueError(f"fmt must be one of {sorted(_FMT_LIMIT)}, got {fmt!r}")
    if any("\n" in line or "\r" in line for line in comments):
        raise ValueError("comments must not contain line breaks")
    if with_annotations and rec.n_beats == 0:
        raise ValueError("recording has no beats; pass with_annotations=False")
    limit = _FMT_LIMIT[fmt]
    digital = np.rint(rec.signals_mv * ADC_GAIN_PER_MV)
    finite = np.isfinite(digital)
    peak = float(np.max(np.abs(digital), where=finite, initial=0.0))
    if peak > limit and not saturate:
        raise ValueError(
            f"signal reaches {peak / ADC_GAIN_PER_MV} mV, beyond format {fmt}'s "
            f"+-{limit / ADC_GAIN_PER_MV} mV; use fmt='16' or saturate=True"
        )
    np.clip(digital, -limit, limit, out=digital)
    digital[~finite] = -limit - 1
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    per_lead = {"units": "mV", "fmt": fmt, "adc_gain": ADC_GAIN_PER_MV, "baseline": 0}
    wfdb.wrsamp(
        record_name,
        fs=rec.fs_hz,
        sig_name=list(rec.leads),
        d_signal=digital.astype(np.int32),
        comments=list(comments),
        write_dir=str(directory),
        base_date=None if start is None else start.date(),
        base_time=None if start is None else start.time(),
        **{key: [value] * len(rec.leads) for key, value in per_lead.items()},
    )
    paths = [directory / f"{record_name}.hea", directory / f"{record_name}.dat"]
    if with_annotations:
        symbols = [str(symbol) for symbol in rec.beat_symbols]
        samples = rec.beat_samples.astype(np.int64)
        wfdb.wrann(record_name, "atr", samples, symbols, fs=rec.fs_hz, write_dir=str(directory))
        paths.append(directory / f"{record_name}.atr")
    return paths


def demo_recordings(
    n_records: int = 4, *, seed: int = 7, fs_hz: float = 360.0, duration_s: float = 300.0
) -> dict[str, SyntheticRecording]:
    """A fixed, seeded set of varied recordings for the demo: 'syn001', 'syn002', ...

    Heart rates spread over 55-110 bpm; (PVC, PAC) fractions cycle through (0, 0.03),
    (0.05, 0), (0.12, 0.02), (0.02, 0.06), the last with a few pauses; noise std
    0.01-0.04 mV, baseline wander 0.05-0.2 mV. ``fs_hz`` in Hz, ``duration_s`` in s.
    """
    if n_records < 1:
        raise ValueError(f"n_records must be >= 1, got {n_records!r}")
    rng = np.random.default_rng(seed)
    rates_bpm = rng.permutation(np.linspace(55.0, 110.0, n_records))
    ectopy = ((0.0, 0.03), (0.05, 0.0), (0.12, 0.02), (0.02, 0.06))
    recordings = {}
    for i, rate_bpm in enumerate(rates_bpm):
        pvc_rate, pac_rate = ectopy[i % 4]
        cfg = SyntheticConfig(
            fs_hz=fs_hz,
            duration_s=duration_s,
            heart_rate_bpm=float(rate_bpm),
            pvc_rate=pvc_rate,
            pac_rate=pac_rate,
            pause_rate=0.01 if i % 4 == 3 else 0.0,
            noise_mv=float(rng.uniform(0.01, 0.04)),
            baseline_wander_mv=float(rng.uniform(0.05, 0.2)),
            seed=int(rng.integers(0, 2**31)),
        )
        recordings[f"syn{i + 1:03d}"] = generate_ecg(cfg)
    return recordings
