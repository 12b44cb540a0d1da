"""Property-based tests (hypothesis) of the signal functions on random signals.

Every test states a property the docstrings promise (or that the field requires) and checks
it on random inputs: random finite leads from 1 µV to 10 mV with an optional DC offset, at
the sampling rates ingest accepts (:class:`beatwatch.settings.ValidationLimits`), and seeded
synthetic ECG with known beat times. Long leads are drawn as a seed plus a recipe (white
noise, random walk, spikes, sine) rather than sample by sample, so the file stays fast.

Three bugs these found (beats closer than the refractory period, RR arrays of no beats, an
infinite sample flooding the filter with NaN) are fixed; their reproducers stay as tests.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from beatwatch.beat_matching import match_beats
from beatwatch.beats import BeatWindow, cut_beat_windows, rr_intervals
from beatwatch.denoise import DenoiseConfig, denoise
from beatwatch.preprocess import PreprocessConfig, preprocess_recording
from beatwatch.resample import resample_lead, resample_ratio, rescale_samples
from beatwatch.rhythm import rhythm_context
from beatwatch.rpeaks import RPeakConfig, detect_r_peaks
from beatwatch.settings import ValidationLimits
from beatwatch.synthetic import SyntheticConfig, SyntheticRecording, generate_ecg
from beatwatch.training import normalise_beats


@pytest.fixture(autouse=True)
def _tier_harness() -> None:
    """Opt out of the tier's session-wide Prefect harness (autouse in this folder's conftest):
    these tests call plain signal functions, and the harness takes ~20 s to start."""


# No example database: nothing is written into the repository; a failure prints its seed.
FAST = settings(deadline=None, database=None, max_examples=100)
SLOW = settings(FAST, max_examples=30)

ALLOWED_FS_HZ: tuple[float, ...] = ValidationLimits().allowed_fs_hz
F32_TINY = float(np.finfo(np.float32).tiny)  # below this (1e-38 mV) float32 output underflows
fs_hz = st.sampled_from(ALLOWED_FS_HZ)
unit_floats = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)

denoise_configs = st.builds(
    DenoiseConfig,
    method=st.sampled_from(["bandpass", "fft_wiener", "none"]),
    lowpass_hz=st.sampled_from([40.0, 100.0, 1000.0]),  # at/above Nyquist: lowered to 0.45 fs
    notch_hz=st.sampled_from([None, 50.0, 60.0]),
)
filtering_configs = denoise_configs.filter(lambda cfg: cfg.method != "none")


@st.composite
def leads_mv(
    draw: st.DrawFn, fs: float, *, min_samples: int = 1, max_s: float = 30.0
) -> np.ndarray:
    """A random finite lead in mV: amplitude 1 µV .. 10 mV, optional offset up to +-10 mV.

    Short leads (<= 256 samples) are drawn sample by sample, so hypothesis shrinks them
    well; longer ones (up to ``max_s`` seconds at ``fs`` Hz) from a seed and a recipe.
    """
    amplitude_mv = 10.0 ** draw(st.floats(-3.0, 1.0))
    offset_mv = draw(st.one_of(st.just(0.0), st.floats(-10.0, 10.0)))
    longest = max(min_samples, round(max_s * fs))
    if min_samples <= 256 and draw(st.booleans()):
        size = draw(st.integers(min_samples, 256))
        unit = draw(hnp.arrays(np.float64, size, elements=unit_floats))
    else:
        size = draw(st.integers(max(min_samples, 257), max(longest, 257)))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        recipe = draw(st.sampled_from(["white", "walk", "spikes", "sine"]))
        if recipe == "white":
            unit = rng.standard_normal(size)
        elif recipe == "walk":  # baseline wander
            unit = np.cumsum(rng.standard_normal(size))
        elif recipe == "spikes":  # sparse QRS-like impulses
            unit = rng.standard_normal(size) * (rng.random(size) < 0.01)
        else:
            freq_hz = rng.uniform(0.05, 0.5 * fs)
            unit = np.sin(2 * np.pi * freq_hz * np.arange(size) / fs + rng.uniform(0, 7))
        unit /= max(float(np.max(np.abs(unit))), 1e-300)
    return offset_mv + amplitude_mv * unit


def _with_gaps(draw: st.DrawFn, x: np.ndarray, fill: float) -> np.ndarray:
    """``x`` with some samples (at least one kept) replaced by ``fill``."""
    gaps = draw(hnp.arrays(np.bool_, x.size, elements=st.booleans()))
    assume(gaps.any() and not gaps.all())
    y = x.copy()
    y[gaps] = fill
    return y


# ---------------------------------------------------------------------------------------
# denoise


@FAST
@given(data=st.data(), fs=fs_hz, cfg=denoise_configs)
def test_denoise_keeps_length_and_gives_finite_float32_mv(
    data: st.DataObject, fs: float, cfg: DenoiseConfig
) -> None:
    x = data.draw(leads_mv(fs))
    out = denoise(x, fs, cfg)
    assert out.shape == x.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all(), "no NaN (or inf) out when no NaN in"


@FAST
@given(n=st.integers(1, 20_000), fs=fs_hz, cfg=denoise_configs)
def test_denoise_zero_in_zero_out(n: int, fs: float, cfg: DenoiseConfig) -> None:
    out = denoise(np.zeros(n), fs, cfg)
    assert out.shape == (n,)
    assert not out.any()


@FAST
@given(
    data=st.data(),
    fs=fs_hz,
    cfg=denoise_configs,
    scale=st.floats(1e-3, 1e3),
    negative=st.booleans(),
)
def test_denoise_scales_with_the_signal(
    data: st.DataObject, fs: float, cfg: DenoiseConfig, scale: float, negative: bool
) -> None:
    """denoise(a x) = a denoise(x): the chain is linear (bandpass) or homogeneous (Wiener)."""
    a = -scale if negative else scale
    x = data.draw(leads_mv(fs))
    plain = denoise(x, fs, cfg).astype(np.float64)
    scaled = denoise(a * x, fs, cfg).astype(np.float64)
    # float32 output rounding (relative 6e-8) plus the offset's leak (<= 1e-12 relative)
    atol = abs(a) * (1e-6 * np.max(np.abs(plain)) + 1e-10 * np.max(np.abs(x))) + F32_TINY
    np.testing.assert_allclose(scaled, a * plain, rtol=1e-5, atol=atol)


@FAST
@given(data=st.data(), fs=fs_hz, cfg=filtering_configs, offset_mv=st.floats(-10.0, 10.0))
def test_denoise_removes_a_dc_offset(
    data: st.DataObject, fs: float, cfg: DenoiseConfig, offset_mv: float
) -> None:
    """From 16 samples on, a constant offset does not reach the output (high-pass / DC bin).

    (Shorter leads are returned unfiltered.)
    """
    x = data.draw(leads_mv(fs, min_samples=16))
    flat = denoise(np.full(x.size, offset_mv), fs, cfg)
    assert np.max(np.abs(flat)) <= 1e-9 * max(abs(offset_mv), 1e-3)
    shifted = denoise(x + offset_mv, fs, cfg).astype(np.float64)
    plain = denoise(x, fs, cfg).astype(np.float64)
    atol = 1e-6 * np.max(np.abs(plain)) + 1e-9 * (abs(offset_mv) + np.max(np.abs(x))) + F32_TINY
    np.testing.assert_allclose(shifted, plain, rtol=1e-5, atol=atol)


@FAST
@given(data=st.data(), fs=fs_hz, cfg=denoise_configs)
def test_denoise_nan_stays_exactly_where_it_was_and_is_bridged_linearly(
    data: st.DataObject, fs: float, cfg: DenoiseConfig
) -> None:
    """Docstring: NaN samples are interpolated linearly before filtering, put back after."""
    x = data.draw(leads_mv(fs, max_s=5.0))
    holed = _with_gaps(data.draw, x, np.nan)
    out = denoise(holed, fs, cfg)
    missing = np.isnan(holed)
    np.testing.assert_array_equal(np.isnan(out), missing)  # no NaN spreads
    idx = np.arange(x.size)
    bridged = np.interp(idx, idx[~missing], holed[~missing])
    np.testing.assert_array_equal(out[~missing], denoise(bridged, fs, cfg)[~missing])


@FAST
@given(n=st.integers(0, 5000), fs=fs_hz, cfg=denoise_configs)
def test_denoise_all_nan_lead_stays_all_nan(n: int, fs: float, cfg: DenoiseConfig) -> None:
    out = denoise(np.full(n, np.nan), fs, cfg)
    assert out.shape == (n,)
    assert np.isnan(out).all()


def test_denoise_an_infinite_sample_does_not_spread_nan() -> None:
    x = np.zeros(100)
    x[50] = np.inf
    out = denoise(x, 360.0)
    assert np.isnan(out).tolist() == (~np.isfinite(x)).tolist()  # a gap, not a flood


# ---------------------------------------------------------------------------------------
# resample


@FAST
@given(data=st.data(), fs_in=fs_hz, fs_out=fs_hz)
def test_resample_length_rule_and_bounded_finite_output(
    data: st.DataObject, fs_in: float, fs_out: float
) -> None:
    """``ceil(len * up / down)`` samples; for the allowed rates up/down is fs_out/fs_in exactly."""
    x = data.draw(leads_mv(fs_in, max_s=10.0))
    ratio = resample_ratio(fs_in, fs_out)
    assert ratio == Fraction(fs_out) / Fraction(fs_in)
    out = resample_lead(x, fs_in, fs_out)
    assert out.dtype == np.float32
    assert out.shape == (math.ceil(x.size * fs_out / fs_in),)
    assert out.size == math.ceil(x.size * ratio.numerator / ratio.denominator)
    assert np.isfinite(out).all()
    # The Kaiser FIR overshoots by at most the L1 norm of a polyphase branch, < 2.25 here.
    assert np.max(np.abs(out)) <= 2.25 * np.max(np.abs(x)) * (1 + 1e-6)
    if fs_in == fs_out:
        np.testing.assert_array_equal(out, x.astype(np.float32))


@FAST
@given(n=st.integers(1, 50_000), fs_in=fs_hz, fs_out=fs_hz)
def test_rescale_samples_is_monotonic_nearest_and_in_bounds(
    n: int, fs_in: float, fs_out: float
) -> None:
    samples = np.arange(n)
    mapped = rescale_samples(samples, fs_in, fs_out)
    assert mapped.dtype == np.int64
    assert mapped.shape == (n,)
    assert (np.diff(mapped) >= 0).all()
    # the nearest output sample: within half an output period of the input sample's time
    assert np.all(np.abs(mapped / fs_out - samples / fs_in) <= 0.5 / fs_out + 1e-12)
    out_len = math.ceil(n * fs_out / fs_in)
    assert mapped[0] == 0
    if fs_out > fs_in / 2:
        assert mapped[-1] < out_len, "an index of the resampled lead"
    else:
        # Downsampling by 2 or more, the last samples' nearest grid point can be index
        # out_len, one past the resampled lead (n=8, 1000 -> 360 Hz: [0 0 1 1 1 2 2 3], 3
        # samples out): a grid index, not always a sample of the resampled lead.
        assert mapped[-1] <= out_len


# ---------------------------------------------------------------------------------------
# R peaks


@st.composite
def leads_with_holes(draw: st.DrawFn, fs: float) -> np.ndarray:
    x = draw(leads_mv(fs, max_s=20.0))
    hole = draw(st.sampled_from([None, np.nan, np.inf, -np.inf]))
    return x if hole is None or x.size < 2 else _with_gaps(draw, x, hole)


@FAST
@given(data=st.data(), fs=fs_hz)
def test_r_peaks_are_sorted_unique_int64_indices_inside_the_lead(
    data: st.DataObject, fs: float
) -> None:
    x = data.draw(leads_with_holes(fs))
    peaks = detect_r_peaks(x, fs)
    assert peaks.dtype == np.int64
    assert peaks.ndim == 1
    assert (np.diff(peaks) > 0).all(), "sorted and unique"
    assert peaks.size == 0 or (peaks[0] >= 0 and peaks[-1] < x.size)
    if x.size < 0.5 * fs:
        assert peaks.size == 0, "shorter than 0.5 s: no beats"
    # Beats are never closer than the refractory period RPeakConfig promises.
    assert (np.diff(peaks) >= round(RPeakConfig().refractory_s * fs)).all()


@FAST
@given(data=st.data(), fs=fs_hz, exponent=st.integers(-20, 20))
def test_r_peaks_do_not_depend_on_amplitude_or_polarity(
    data: st.DataObject, fs: float, exponent: int
) -> None:
    """Thresholds are relative: scaling by a power of two (exact) or flipping the sign
    gives exactly the same beats, so tiny noise is treated like large noise."""
    x = data.draw(leads_mv(fs, max_s=15.0))
    peaks = detect_r_peaks(x, fs)
    np.testing.assert_array_equal(detect_r_peaks(x * 2.0**exponent, fs), peaks)
    np.testing.assert_array_equal(detect_r_peaks(-x, fs), peaks)


@FAST
@given(
    n=st.integers(0, 20_000),
    fs=fs_hz,
    level_mv=st.one_of(st.just(0.0), st.floats(-10.0, 10.0)),
    jitter=st.floats(0.0, 1e-12),
    seed=st.integers(0, 2**32 - 1),
)
def test_flat_or_numerically_flat_lead_has_no_beats(
    n: int, fs: float, level_mv: float, jitter: float, seed: int
) -> None:
    noise = np.random.default_rng(seed).standard_normal(n)
    x = level_mv + jitter * abs(level_mv) * noise
    assert detect_r_peaks(x, fs).size == 0


def _mlii(
    fs: float,
    duration_s: float,
    heart_rate_bpm: float,
    noise_mv: float,
    wander_mv: float,
    seed: int,
) -> SyntheticRecording:
    """A seeded synthetic single-lead (MLII) ECG; noise and baseline wander in mV."""
    return generate_ecg(
        SyntheticConfig(
            fs_hz=fs,
            duration_s=duration_s,
            heart_rate_bpm=heart_rate_bpm,
            noise_mv=noise_mv,
            baseline_wander_mv=wander_mv,
            leads=("MLII",),
            seed=seed,
        )
    )


def test_beats_are_at_least_one_refractory_period_apart() -> None:
    fs = 360.0
    x = np.random.default_rng(0).standard_normal(720)  # 2 s of white noise, mV
    peaks = detect_r_peaks(x, fs)
    assert np.diff(peaks).min() >= round(RPeakConfig().refractory_s * fs)


@SLOW
@given(
    fs=fs_hz,
    heart_rate_bpm=st.floats(40.0, 180.0),
    noise_mv=st.floats(0.0, 0.1),
    wander_mv=st.floats(0.0, 0.3),
    duration_s=st.floats(10.0, 30.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_r_peaks_find_the_synthetic_beats(
    fs: float,
    heart_rate_bpm: float,
    noise_mv: float,
    wander_mv: float,
    duration_s: float,
    seed: int,
) -> None:
    rec = _mlii(fs, duration_s, heart_rate_bpm, noise_mv, wander_mv, seed)
    peaks = detect_r_peaks(rec.signals_mv[:, 0], fs)
    assert abs(peaks.size - rec.n_beats) <= max(2, math.ceil(0.05 * rec.n_beats))
    match = match_beats(rec.beat_samples, peaks, round(0.05 * fs))
    assert match.tp >= 0.9 * rec.n_beats, "sensitivity"
    assert match.tp >= 0.95 * peaks.size, "positive predictivity"


# ---------------------------------------------------------------------------------------
# beat windows and RR intervals

beat_windows = st.builds(
    BeatWindow,
    fs_hz=fs_hz,
    before_s=st.floats(0.0, 0.5),
    after_s=st.floats(0.064, 0.8),  # >= 8 samples at 125 Hz
)


@FAST
@given(data=st.data(), window=beat_windows)
def test_beat_windows_are_the_signal_slices_around_the_kept_peaks(
    data: st.DataObject, window: BeatWindow
) -> None:
    x = data.draw(hnp.arrays(np.float64, st.integers(0, 1500), elements=unit_floats))
    peaks = np.asarray(
        data.draw(st.lists(st.integers(-200, x.size + 200), max_size=40)), dtype=np.int64
    )
    windows, kept = cut_beat_windows(x, peaks, window)
    nb, na = window.n_before, window.n_after
    np.testing.assert_array_equal(kept, (peaks - nb >= 0) & (peaks + na <= x.size))
    assert windows.dtype == np.float32
    assert windows.shape == (int(kept.sum()), window.n_samples)
    for row, r in zip(windows, peaks[kept], strict=True):
        np.testing.assert_array_equal(row, x[r - nb : r + na].astype(np.float32))
        assert row[nb] == np.float32(x[r]), "the R peak sits at index n_before"


@FAST
@given(
    peaks=st.lists(st.integers(0, 10**7), min_size=1, max_size=200, unique=True).map(sorted),
    fs=fs_hz,
)
def test_rr_intervals_are_peak_differences_in_seconds(peaks: list[int], fs: float) -> None:
    before, after = rr_intervals(np.asarray(peaks), fs)
    assert before.shape == after.shape == (len(peaks),)
    assert np.isnan(before[0])
    assert np.isnan(after[-1])
    expected = np.diff(peaks) / fs
    np.testing.assert_allclose(before[1:], expected, rtol=1e-12)
    np.testing.assert_allclose(after[:-1], expected, rtol=1e-12)
    assert (before[1:] > 0).all(), "NaN only at the ends, positive seconds elsewhere"


def test_rr_intervals_of_no_beats_are_empty() -> None:
    before, after = rr_intervals(np.array([], dtype=np.int64), 360.0)
    assert before.shape == after.shape == (0,)


# ---------------------------------------------------------------------------------------
# rhythm context

rr_values_s = st.one_of(
    st.floats(1e-6, 1e6),  # any positive interval, s
    st.floats(-1e6, 0.0),  # non-positive: replaced by the median
    st.sampled_from([np.nan, np.inf, -np.inf]),  # unknown
)


@FAST
@given(
    rr=st.lists(st.tuples(rr_values_s, rr_values_s), max_size=300),
    local_beats=st.integers(0, 20).map(lambda k: 2 * k + 1),
    scale=st.floats(1e-3, 1e3),
)
def test_rhythm_context_is_finite_same_shape_and_unit_free(
    rr: list[tuple[float, float]], local_beats: int, scale: float
) -> None:
    prev = np.array([p for p, _ in rr], dtype=np.float64)
    nxt = np.array([q for _, q in rr], dtype=np.float64)
    ctx = rhythm_context(prev, nxt, local_beats=local_beats)
    for values in (ctx.log_prematurity, ctx.log_pause):
        assert values.shape == prev.shape
        assert values.dtype == np.float64
        assert np.isfinite(values).all()
    # log ratios: seconds or milliseconds give the same features
    scaled = rhythm_context(prev * scale, nxt * scale, local_beats=local_beats)
    np.testing.assert_allclose(scaled.log_prematurity, ctx.log_prematurity, atol=1e-9)
    np.testing.assert_allclose(scaled.log_pause, ctx.log_pause, atol=1e-9)


@FAST
@given(n=st.integers(1, 300), rr_s=st.floats(0.2, 3.0))
def test_rhythm_context_of_a_regular_rhythm_is_zero(n: int, rr_s: float) -> None:
    prev, nxt = rr_intervals(np.cumsum(np.full(n, rr_s)), 1.0)  # beat times in s, fs 1 Hz
    ctx = rhythm_context(prev, nxt)
    np.testing.assert_allclose(ctx.log_prematurity, 0.0, atol=1e-9)
    np.testing.assert_allclose(ctx.log_pause, 0.0, atol=1e-9)


# ---------------------------------------------------------------------------------------
# normalise_beats


@st.composite
def beat_batches(draw: st.DrawFn) -> np.ndarray:
    """(n_beats, n_samples) windows in mV, some rows constant or zero."""
    shape = (draw(st.integers(0, 12)), draw(st.integers(1, 400)))
    beats_mv = draw(hnp.arrays(np.float64, shape, elements=st.floats(-20.0, 20.0)))
    for i in range(shape[0]):
        flat = draw(st.one_of(st.none(), st.just(0.0), st.floats(-20.0, 20.0)))
        if flat is not None:
            beats_mv[i] = flat
    return beats_mv


@FAST
@given(beats_mv=beat_batches())
def test_normalise_beats_is_finite_rowwise_and_keeps_the_shape(beats_mv: np.ndarray) -> None:
    out = normalise_beats(beats_mv)
    assert out.shape == beats_mv.shape
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    std_in = beats_mv.std(axis=1)
    expected_std = std_in / np.sqrt(np.maximum(std_in, 1e-3))  # sqrt(std), floor 1e-3
    np.testing.assert_allclose(out.mean(axis=1, dtype=np.float64), 0.0, atol=1e-5)
    np.testing.assert_allclose(
        out.std(axis=1, dtype=np.float64), expected_std, rtol=1e-4, atol=1e-6
    )
    flat = np.ptp(beats_mv, axis=1) == 0
    np.testing.assert_allclose(out[flat], 0.0, atol=1e-6)  # a flat row stays 0
    for i in range(beats_mv.shape[0]):  # the same alone or in a batch
        np.testing.assert_array_equal(normalise_beats(beats_mv[i : i + 1])[0], out[i])


# ---------------------------------------------------------------------------------------
# preprocess_recording


@SLOW
@given(
    fs=fs_hz,
    heart_rate_bpm=st.floats(40.0, 150.0),
    noise_mv=st.floats(0.0, 0.05),
    gain=st.floats(0.2, 5.0),
    duration_s=st.floats(10.0, 20.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_preprocess_recording_table_invariants(
    fs: float,
    heart_rate_bpm: float,
    noise_mv: float,
    gain: float,
    duration_s: float,
    seed: int,
) -> None:
    rec = _mlii(fs, duration_s, heart_rate_bpm, noise_mv, 0.1, seed)
    lead_mv = gain * rec.signals_mv[:, 0]
    cfg = PreprocessConfig()
    reference = (rec.beat_samples, rec.beat_symbols)
    beat_set = preprocess_recording("syn", lead_mv, "MLII", fs, reference, cfg)
    table = beat_set.table.to_pydict()
    n_rows = beat_set.table.num_rows
    fs_out, window = cfg.model_fs_hz, cfg.window

    # rows == detected peaks whose whole window fits, by the public steps of the chain
    at_model_rate = resample_lead(denoise(lead_mv, fs, cfg.denoise), fs, fs_out)
    peaks = detect_r_peaks(at_model_rate, fs_out, cfg.rpeaks)
    expected_windows, kept = cut_beat_windows(at_model_rate, peaks, window)
    assert beat_set.n_detected == peaks.size
    assert n_rows == int(kept.sum())
    assert n_rows >= 0.8 * rec.n_beats - 2  # only edge beats (no whole window) and misses go

    assert table["beat_index"] == list(range(n_rows))
    assert set(table["record"]) <= {"syn"}
    assert set(table["lead"]) <= {"MLII"}
    time_s = np.asarray(table["time_s"])
    r_sample = np.asarray(table["r_sample"])
    assert (np.diff(time_s) > 0).all()
    assert ((r_sample >= 0) & (r_sample < lead_mv.size)).all()
    assert np.all(np.abs(r_sample / fs - time_s) <= 0.5 / fs + 1e-9)
    assert (time_s >= window.n_before / fs_out - 1e-9).all()
    assert (time_s + window.n_after / fs_out <= at_model_rate.size / fs_out + 1e-9).all()

    windows = np.asarray(table["window"], dtype=np.float64).reshape(n_rows, window.n_samples)
    assert np.isfinite(windows).all()
    np.testing.assert_array_equal(np.rint(time_s * fs_out), peaks[kept])
    np.testing.assert_array_equal(windows, expected_windows)  # the slices at the rows' peaks
    rr_prev, rr_next = (np.asarray(table[k], dtype=np.float64) for k in ("rr_prev_s", "rr_next_s"))
    assert (rr_prev[1:] > 0).all(), "NaN only at the ends"
    assert (rr_next[:-1] > 0).all(), "NaN only at the ends"

    # still mV: QRS swing of the windows ~ that of the raw lead around the reference beats
    half = round(0.06 * fs)
    raw = np.array([np.ptp(lead_mv[max(b - half, 0) : b + half + 1]) for b in rec.beat_samples])
    ratio = np.median(np.ptp(windows, axis=1)) / np.median(raw)
    assert 0.5 <= ratio <= 2.0

    assert beat_set.n_reference == rec.n_beats
    assert beat_set.matched + beat_set.missed == beat_set.n_reference
    assert beat_set.matched + beat_set.extra == beat_set.n_detected
