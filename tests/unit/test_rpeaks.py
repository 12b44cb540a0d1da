"""R-peak detection on seeded synthetic ECG with known beat times (no disk, no network)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from beatwatch.beat_matching import match_beats
from beatwatch.rpeaks import RPeakConfig, detect_r_peaks
from beatwatch.synthetic import SyntheticConfig, SyntheticRecording, generate_ecg

RATES_HZ = (125.0, 250.0, 360.0, 500.0, 1000.0)
TOLERANCE_S = 0.05
ECTOPIC = {
    "duration_s": 120.0,
    "pvc_rate": 0.15,
    "pac_rate": 0.05,
    "pause_rate": 0.05,  # sinus pauses of 1.8-2.5 RR
    "noise_mv": 0.03,
    "baseline_wander_mv": 0.1,
    "seed": 3,
}


def _record(**cfg: float) -> SyntheticRecording:
    cfg.setdefault("duration_s", 60.0)
    return generate_ecg(SyntheticConfig(**cfg))


def _score(rec: SyntheticRecording, detected: np.ndarray) -> tuple[float, float]:
    """Sensitivity and positive predictivity of ``detected`` against the reference beats."""
    match = match_beats(rec.beat_samples, detected, round(TOLERANCE_S * rec.fs_hz))
    return match.tp / (match.tp + match.fn), match.tp / max(match.tp + match.fp, 1)


def _lead0(rec: SyntheticRecording) -> np.ndarray:
    return rec.signals_mv[:, 0]


# --- accuracy on synthetic rhythms -----------------------------------------------------------


@pytest.mark.parametrize("fs_hz", RATES_HZ)
@pytest.mark.parametrize(
    "artefacts",
    [
        {"noise_mv": 0.0},
        {"noise_mv": 0.05, "baseline_wander_mv": 0.3, "powerline_mv": 0.05},
    ],
    ids=["clean", "noisy"],
)
def test_finds_sinus_beats_at_any_sampling_rate(fs_hz: float, artefacts: dict) -> None:
    rec = _record(fs_hz=fs_hz, seed=11, **artefacts)
    detected = detect_r_peaks(_lead0(rec), fs_hz)
    se, ppv = _score(rec, detected)
    assert se >= 0.99, se
    assert ppv >= 0.99, ppv


@pytest.mark.parametrize("fs_hz", RATES_HZ)
def test_finds_ectopic_beats_and_survives_pauses(fs_hz: float) -> None:
    rec = _record(fs_hz=fs_hz, **ECTOPIC)
    assert {"V", "A", "N"} <= set(rec.beat_symbols.tolist())
    detected = detect_r_peaks(_lead0(rec), fs_hz)
    se, ppv = _score(rec, detected)
    assert se >= 0.99, se
    assert ppv >= 0.99, ppv
    pvcs = rec.beat_samples[rec.beat_symbols == "V"]
    pvc_match = match_beats(pvcs, detected, round(TOLERANCE_S * fs_hz))
    assert pvc_match.fn == 0  # wide, tall ventricular beats are all found


def test_detections_sit_on_the_annotated_r_peaks() -> None:
    fs_hz = 500.0
    rec = _record(fs_hz=fs_hz, noise_mv=0.02, seed=5)
    detected = detect_r_peaks(_lead0(rec), fs_hz)
    match = match_beats(rec.beat_samples, detected, round(TOLERANCE_S * fs_hz))
    error_s = (detected[match.matched_detected] - rec.beat_samples[match.matched_reference]) / fs_hz
    assert np.median(np.abs(error_s)) <= 0.01  # within 10 ms for a typical beat


def test_no_beats_invented_in_a_three_second_pause() -> None:
    fs_hz = 360.0
    rec = _record(fs_hz=fs_hz, heart_rate_bpm=60.0, hrv_std_s=0.0, seed=2)
    signal = _lead0(rec).copy()
    beats = rec.beat_samples
    # Silence the beats between two cut points in the T-P segments: a 3.3 s sinus arrest.
    first, resume = 20, 24  # beat indices: last beat before the pause, first after it
    cut_from = beats[first] + round(0.6 * fs_hz)  # after the T wave
    cut_to = beats[resume] - round(0.35 * fs_hz)  # before the next P wave
    signal[cut_from:cut_to] = 0.0
    signal += np.random.default_rng(0).normal(0.0, 0.02, signal.size)
    kept = np.concatenate((beats[: first + 1], beats[resume:]))
    assert (beats[resume] - beats[first]) / fs_hz >= 3.0

    detected = detect_r_peaks(signal, fs_hz)
    in_pause = (detected > beats[first] + 0.2 * fs_hz) & (detected < beats[resume] - 0.2 * fs_hz)
    assert not in_pause.any(), detected[in_pause] / fs_hz
    match = match_beats(kept, detected, round(TOLERANCE_S * fs_hz))
    assert match.fn == 0
    assert match.fp == 0


@pytest.mark.parametrize("fs_hz", [250.0, 1000.0])
def test_faster_heart_rate_gives_more_beats(fs_hz: float) -> None:
    counts = []
    for rate_bpm in (45.0, 75.0, 110.0, 160.0):
        rec = _record(fs_hz=fs_hz, heart_rate_bpm=rate_bpm, noise_mv=0.03, seed=8)
        detected = detect_r_peaks(_lead0(rec), fs_hz)
        assert abs(detected.size - rec.n_beats) <= 1
        counts.append(detected.size)
    assert counts == sorted(counts)
    assert len(set(counts)) == len(counts)


def test_recovers_after_an_artefact_burst_inflates_the_levels() -> None:
    fs_hz = 360.0
    rec = _record(fs_hz=fs_hz, noise_mv=0.02, seed=9)
    signal = _lead0(rec).copy()
    t_s = np.arange(signal.size) / fs_hz
    burst = (t_s >= 20.0) & (t_s < 23.0)  # electrode artefact: 8 mV square wave for 3 s
    signal[burst] += 8.0 * np.sign(np.sin(2 * np.pi * 1.7 * t_s[burst]))
    detected = detect_r_peaks(signal, fs_hz)
    # Within learning_s (8 s) of the burst the levels are re-learnt; all later beats count.
    settled = (23.0 + 8.0 + 1.0) * fs_hz
    match = match_beats(rec.beat_samples, detected, round(TOLERANCE_S * fs_hz))
    assert np.sum(rec.beat_samples > settled) >= 25
    assert not np.any(rec.beat_samples[match.missed] > settled)
    assert not np.any(detected[match.extra] > settled)


def test_ventricular_flutter_gives_no_beats_but_can_be_allowed() -> None:
    fs_hz = 250.0
    t_s = np.arange(round(10 * fs_hz)) / fs_hz
    flutter_mv = np.sin(2 * np.pi * 4.0 * t_s)  # a 240 /min sinusoidal undulation
    assert detect_r_peaks(flutter_mv, fs_hz).size == 0
    waves = detect_r_peaks(flutter_mv, fs_hz, RPeakConfig(flutter_ratio=0.0))
    assert waves.size >= 30  # without the guard every other wave or more counts as a beat


# --- output contract and awkward input ------------------------------------------------------


def test_output_is_sorted_unique_int64_indices_and_scale_free() -> None:
    fs_hz = 360.0
    rec = _record(fs_hz=fs_hz, pvc_rate=0.1, noise_mv=0.03, seed=4)
    detected = detect_r_peaks(_lead0(rec), fs_hz)
    assert detected.dtype == np.int64
    assert np.all(np.diff(detected) > 0)
    assert detected.min() >= 0
    assert detected.max() < rec.n_samples
    # Thresholds are relative: gain and offset (mV) do not change the answer.
    np.testing.assert_array_equal(detect_r_peaks(_lead0(rec) * 20.0 + 3.0, fs_hz), detected)
    np.testing.assert_array_equal(detect_r_peaks(_lead0(rec) * 0.05 - 1.0, fs_hz), detected)


def test_short_signal_of_a_few_seconds() -> None:
    fs_hz = 250.0
    rec = _record(fs_hz=fs_hz, duration_s=4.0, heart_rate_bpm=80.0, seed=1)
    assert rec.n_beats >= 3
    se, ppv = _score(rec, detect_r_peaks(_lead0(rec), fs_hz))
    assert se == 1.0
    assert ppv == 1.0


@pytest.mark.parametrize(
    "signal_mv",
    [
        np.array([]),
        np.zeros(3600),
        np.full(3600, 1.7),
        np.full(3600, np.nan),
        np.full(3600, np.inf),
        np.ones(10),  # shorter than 0.5 s
    ],
    ids=["empty", "zeros", "constant", "all-nan", "all-inf", "too-short"],
)
def test_empty_flat_or_missing_input_has_no_beats_and_no_warnings(signal_mv: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detected = detect_r_peaks(signal_mv, 360.0)
    assert detected.dtype == np.int64
    assert detected.size == 0


def test_missing_samples_are_bridged() -> None:
    fs_hz = 360.0
    rec = _record(fs_hz=fs_hz, noise_mv=0.02, seed=6)
    signal = _lead0(rec).copy()
    gap = slice(round(20 * fs_hz), round(22 * fs_hz))  # 2 s dropout
    signal[gap] = np.nan
    signal[round(40 * fs_hz)] = np.inf  # one corrupt sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detected = detect_r_peaks(signal, fs_hz)
    outside = (rec.beat_samples < gap.start - 0.1 * fs_hz) | (
        rec.beat_samples > gap.stop + 0.1 * fs_hz
    )
    match = match_beats(rec.beat_samples[outside], detected, round(TOLERANCE_S * fs_hz))
    assert match.fn == 0
    assert not ((detected > gap.start + 0.1 * fs_hz) & (detected < gap.stop - 0.1 * fs_hz)).any()


def test_rejects_bad_shapes_and_sampling_rates() -> None:
    with pytest.raises(ValueError, match="1-D"):
        detect_r_peaks(np.zeros((100, 2)), 360.0)
    with pytest.raises(ValueError, match="fs_hz"):
        detect_r_peaks(np.zeros(1000), 40.0)  # below twice the 25 Hz band edge
    with pytest.raises(ValueError, match="fs_hz"):
        detect_r_peaks(np.zeros(1000), float("nan"))


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("band_low_hz", 0.0),
        ("band_low_hz", 30.0),  # above band_high_hz
        ("filter_order", 0),
        ("filter_order", 2.5),
        ("integration_s", 0.0),
        ("refractory_s", -0.1),
        ("threshold_fraction", 1.0),
        ("level_quantile", 1.5),
        ("noise_weight", 0.0),
        ("slope_ratio", -0.1),
        ("search_back_factor", 1.0),
        ("search_back_fraction", 0.0),
        ("flutter_ratio", 1.0),
        ("flutter_max_hz", 0.0),
        ("fiducial_window_s", float("nan")),
        ("learning_s", True),
    ],
)
def test_config_rejects_invalid_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"RPeakConfig\.{field}"):
        RPeakConfig(**{field: value})


def test_config_is_frozen_and_defaults_are_valid() -> None:
    cfg = RPeakConfig()
    assert cfg.band_low_hz < cfg.band_high_hz
    with pytest.raises(AttributeError):
        cfg.refractory_s = 0.1  # type: ignore[misc]
