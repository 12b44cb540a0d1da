"""The synthetic ECG generator: seeded rhythm, beat morphology, artefacts and WFDB output."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatwatch.synthetic import (
    ADC_GAIN_PER_MV,
    SyntheticConfig,
    SyntheticRecording,
    demo_recordings,
    generate_ecg,
    write_wfdb_record,
)

ECTOPIC = {"pvc_rate": 0.12, "pac_rate": 0.08, "duration_s": 120.0}


def _window(signal_mv: np.ndarray, sample: int, half: int) -> np.ndarray:
    return signal_mv[max(sample - half, 0) : sample + half + 1]


def _rr_s(rec: SyntheticRecording) -> np.ndarray:
    return np.diff(rec.beat_times_s)


# --- determinism and shape -----------------------------------------------------------------


def test_same_seed_is_bit_identical_and_other_seeds_differ() -> None:
    cfg = SyntheticConfig(duration_s=30.0, noise_mv=0.02, baseline_wander_mv=0.1, pvc_rate=0.1)
    a, b = generate_ecg(cfg), generate_ecg(cfg)
    assert a.signals_mv.tobytes() == b.signals_mv.tobytes()
    np.testing.assert_array_equal(a.beat_samples, b.beat_samples)
    np.testing.assert_array_equal(a.beat_symbols, b.beat_symbols)

    c = generate_ecg(SyntheticConfig(duration_s=30.0, noise_mv=0.02, pvc_rate=0.1, seed=1))
    assert not np.array_equal(a.beat_samples[:5], c.beat_samples[:5])
    assert not np.allclose(a.signals_mv, c.signals_mv)


def test_shapes_dtypes_and_units() -> None:
    rec = generate_ecg(SyntheticConfig(fs_hz=250.0, duration_s=20.0, leads=("MLII", "V1")))
    assert rec.signals_mv.shape == (5000, 2) == (rec.n_samples, len(rec.leads))
    assert rec.signals_mv.dtype == np.float64
    assert rec.beat_samples.dtype == np.int64
    assert rec.duration_s == pytest.approx(20.0)
    np.testing.assert_allclose(rec.beat_times_s, rec.beat_samples / 250.0)
    r_peaks_mv = rec.signals_mv[rec.beat_samples, 0]
    assert 0.9 < np.median(r_peaks_mv) < 1.6  # MLII R wave ~1.0-1.5 mV


# --- rhythm ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_bpm", [45.0, 72.0, 130.0])
def test_beat_count_follows_heart_rate(rate_bpm: float) -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=120.0, heart_rate_bpm=rate_bpm, seed=2))
    expected = 120.0 * rate_bpm / 60.0
    assert abs(rec.n_beats - expected) <= 0.05 * expected + 2
    assert np.median(_rr_s(rec)) == pytest.approx(60.0 / rate_bpm, rel=0.05)


def test_faster_heart_rate_gives_more_beats() -> None:
    counts = [
        generate_ecg(SyntheticConfig(duration_s=60.0, heart_rate_bpm=bpm, seed=5)).n_beats
        for bpm in (50.0, 70.0, 90.0, 110.0)
    ]
    assert counts == sorted(counts)
    assert len(set(counts)) == 4


def test_beats_are_sorted_inside_the_signal_and_away_from_the_ends() -> None:
    for fs_hz in (125.0, 1000.0):
        rec = generate_ecg(SyntheticConfig(fs_hz=fs_hz, **ECTOPIC, pause_rate=0.05, seed=8))
        assert np.all(np.diff(rec.beat_samples) > 0)
        assert rec.beat_times_s[0] >= 0.3
        assert rec.beat_times_s[-1] <= rec.duration_s - 0.3
        assert set(rec.beat_symbols.tolist()) <= {"N", "V", "A"}


def test_ectopic_fractions_match_the_rates() -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=600.0, pvc_rate=0.1, pac_rate=0.05, seed=3))
    symbols = rec.beat_symbols
    assert set(symbols.tolist()) == {"N", "V", "A"}
    assert np.mean(symbols == "V") == pytest.approx(0.1, abs=0.03)
    assert np.mean(symbols == "A") == pytest.approx(0.05, abs=0.025)
    no_ectopy = generate_ecg(SyntheticConfig(duration_s=600.0, seed=3))
    assert set(no_ectopy.beat_symbols.tolist()) == {"N"}


def test_pvc_is_premature_with_compensatory_pause_and_pac_resets() -> None:
    rec = generate_ecg(SyntheticConfig(**{**ECTOPIC, "duration_s": 600.0}, hrv_std_s=0.01))
    rr, symbols = _rr_s(rec), rec.beat_symbols
    normal_rr = np.median(rr[(symbols[1:] == "N") & (symbols[:-1] == "N")])
    # isolated ectopics with a normal beat on both sides
    i = np.arange(1, rec.n_beats - 1)
    isolated = (symbols[i - 1] == "N") & (symbols[i + 1] == "N")
    for symbol, before, total in (("V", (0.5, 0.7), (1.9, 2.1)), ("A", (0.6, 0.8), (1.6, 1.9))):
        k = i[isolated & (symbols[i] == symbol)]
        assert k.size > 10
        coupling = rr[k - 1] / normal_rr
        around = (rr[k - 1] + rr[k]) / normal_rr
        assert before[0] < np.median(coupling) < before[1]
        assert total[0] < np.median(around) < total[1]


def test_pauses_stretch_rr_beyond_1_8_times_the_median() -> None:
    cfg = SyntheticConfig(duration_s=600.0, hrv_std_s=0.0, pause_rate=0.05, seed=6)
    rec = generate_ecg(cfg)
    rr_samples = np.diff(rec.beat_samples)
    median = np.median(rr_samples)
    long = rr_samples[rr_samples > 1.5 * median]
    assert long.size == pytest.approx(0.05 * rr_samples.size, abs=12)
    assert long.min() >= 1.8 * median - 2  # rounding to samples
    assert long.max() <= 2.5 * median + 2
    without = generate_ecg(SyntheticConfig(duration_s=600.0, hrv_std_s=0.0, seed=6))
    assert np.diff(without.beat_samples).max() < 1.2 * median


# --- morphology -----------------------------------------------------------------------------


@pytest.mark.parametrize("fs_hz", [125.0, 250.0, 360.0, 500.0, 1000.0])
def test_annotation_sits_on_the_qrs_peak_of_lead_0(fs_hz: float) -> None:
    rec = generate_ecg(SyntheticConfig(fs_hz=fs_hz, seed=11, **ECTOPIC))
    lead0 = rec.signals_mv[:, 0]
    half = int(0.05 * fs_hz)
    assert {"V", "A"} <= set(rec.beat_symbols.tolist())
    for sample in rec.beat_samples:
        window = _window(lead0, sample, half)
        assert abs(lead0[sample]) == np.abs(window).max()
        assert lead0[sample] in (window.max(), window.min())


def test_annotation_stays_on_the_peak_with_noise_and_wander() -> None:
    cfg = SyntheticConfig(noise_mv=0.03, baseline_wander_mv=0.15, powerline_mv=0.02, **ECTOPIC)
    rec = generate_ecg(cfg)
    lead0, half = rec.signals_mv[:, 0], int(0.05 * cfg.fs_hz)
    observed = np.array(
        [np.argmax(np.abs(_window(lead0, s, half))) - half for s in rec.beat_samples]
    )
    assert np.abs(observed).max() <= 0.01 * cfg.fs_hz  # within 10 ms


def _qrs_width_s(lead_mv: np.ndarray, sample: int, fs_hz: float) -> float:
    """Time for which |x| exceeds half the peak |x| within +-100 ms of the beat, s."""
    window = np.abs(_window(lead_mv, sample, int(0.1 * fs_hz)))
    return np.count_nonzero(window > 0.5 * window.max()) / fs_hz


def test_pvcs_are_wide_and_large_and_v1_has_a_deep_s() -> None:
    rec = generate_ecg(SyntheticConfig(fs_hz=500.0, seed=12, **ECTOPIC))
    mlii, v1 = rec.signals_mv[:, 0], rec.signals_mv[:, 1]
    normal = rec.beat_samples[rec.beat_symbols == "N"]
    pvc = rec.beat_samples[rec.beat_symbols == "V"]
    width_n = np.median([_qrs_width_s(mlii, s, 500.0) for s in normal])
    width_v = np.median([_qrs_width_s(mlii, s, 500.0) for s in pvc])
    assert width_n < 0.035
    assert width_v > 2 * width_n
    assert np.median(np.abs(mlii[pvc])) > 1.2 * np.median(np.abs(mlii[normal]))
    qrs = [_window(v1, s, 30) for s in normal]  # +-60 ms
    assert np.median([w.min() for w in qrs]) < -0.7
    assert np.median([-w.min() / w.max() for w in qrs]) > 2.0


def test_qt_shortens_at_faster_rates() -> None:
    def t_peak_delay_s(rate_bpm: float) -> float:
        rec = generate_ecg(SyntheticConfig(heart_rate_bpm=rate_bpm, hrv_std_s=0.0, seed=1))
        lead0, fs = rec.signals_mv[:, 0], rec.fs_hz
        lo, hi = int(0.1 * fs), int(0.45 * fs)
        delays = [np.argmax(lead0[s + lo : s + hi]) + lo for s in rec.beat_samples[:-1]]
        return float(np.median(delays)) / fs

    slow, fast = t_peak_delay_s(55.0), t_peak_delay_s(120.0)
    assert 0.15 < fast < slow < 0.35
    assert slow / fast == pytest.approx(np.sqrt(120.0 / 55.0), rel=0.1)  # Bazett-like


def test_other_lead_names_get_distinct_plausible_projections() -> None:
    rec = generate_ecg(SyntheticConfig(leads=("I", "aVF", "V5"), duration_s=20.0))
    assert rec.signals_mv.shape[1] == 3
    peaks = [np.abs(rec.signals_mv[:, j]).max() for j in range(3)]
    assert all(0.3 < peak < 3.0 for peak in peaks)
    assert len({round(p, 3) for p in peaks}) == 3


# --- artefacts ------------------------------------------------------------------------------


def test_artefacts_keep_the_beats_and_have_the_requested_size() -> None:
    base = {"duration_s": 120.0, "seed": 21, "pvc_rate": 0.05}
    clean = generate_ecg(SyntheticConfig(**base))
    noisy = generate_ecg(SyntheticConfig(**base, noise_mv=0.05))
    np.testing.assert_array_equal(clean.beat_samples, noisy.beat_samples)
    np.testing.assert_array_equal(clean.beat_symbols, noisy.beat_symbols)
    residual = noisy.signals_mv - clean.signals_mv
    assert residual.std(axis=0) == pytest.approx([0.05, 0.05], rel=0.05)

    wander = generate_ecg(SyntheticConfig(**base, baseline_wander_mv=0.3)).signals_mv
    residual = wander - clean.signals_mv
    assert np.abs(residual).max(axis=0) == pytest.approx([0.3, 0.3], rel=0.01)
    spectrum = np.abs(np.fft.rfft(residual[:, 0]))
    assert 0.15 < np.fft.rfftfreq(clean.n_samples, 1 / 360.0)[spectrum.argmax()] < 0.35

    hum = generate_ecg(SyntheticConfig(**base, powerline_mv=0.1, powerline_hz=50.0)).signals_mv
    residual = hum - clean.signals_mv
    spectrum = np.abs(np.fft.rfft(residual[:, 1]))
    assert np.fft.rfftfreq(clean.n_samples, 1 / 360.0)[spectrum.argmax()] == pytest.approx(50.0)
    assert np.abs(residual).max() == pytest.approx(0.1, rel=0.01)


def test_sampling_rate_keeps_the_beat_times_of_a_seed() -> None:
    a = generate_ecg(SyntheticConfig(fs_hz=250.0, seed=9, **ECTOPIC))
    b = generate_ecg(SyntheticConfig(fs_hz=360.0, seed=9, **ECTOPIC))
    np.testing.assert_array_equal(a.beat_symbols, b.beat_symbols)
    np.testing.assert_allclose(a.beat_times_s, b.beat_times_s, atol=0.01)


# --- WFDB output ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fs_hz", "fmt"), [(360.0, "212"), (250.0, "212"), (250.0, "16")])
def test_wfdb_round_trip(tmp_path: Path, fs_hz: float, fmt: str) -> None:
    rec = generate_ecg(
        SyntheticConfig(fs_hz=fs_hz, noise_mv=0.02, baseline_wander_mv=0.1, **ECTOPIC)
    )
    paths = write_wfdb_record(rec, tmp_path / "out", "syn1", comments=["age: 61"], fmt=fmt)
    assert [p.name for p in paths] == ["syn1.hea", "syn1.dat", "syn1.atr"]
    assert all(p.is_file() for p in paths)

    back = wfdb.rdrecord(str(tmp_path / "out" / "syn1"))
    assert back.fs == fs_hz
    assert back.sig_name == ["MLII", "V1"]
    assert back.units == ["mV", "mV"]
    assert back.fmt == [fmt, fmt]
    assert back.adc_gain == [ADC_GAIN_PER_MV, ADC_GAIN_PER_MV]
    assert back.comments == ["age: 61"]
    assert back.p_signal.shape == rec.signals_mv.shape
    np.testing.assert_allclose(
        back.p_signal, rec.signals_mv, rtol=0, atol=0.5 / ADC_GAIN_PER_MV + 1e-9
    )

    ann = wfdb.rdann(str(tmp_path / "out" / "syn1"), "atr")
    np.testing.assert_array_equal(ann.sample, rec.beat_samples)
    assert ann.symbol == rec.beat_symbols.tolist()


def test_wfdb_without_annotations_and_with_missing_samples(tmp_path: Path) -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=10.0))
    signals = rec.signals_mv.copy()
    signals[100:200, 0] = np.nan  # a dropout, as in a bad-input corpus
    gappy = SyntheticRecording(signals, rec.fs_hz, rec.leads, rec.beat_samples, rec.beat_symbols)
    paths = write_wfdb_record(gappy, tmp_path, "gap", with_annotations=False)
    assert [p.name for p in paths] == ["gap.hea", "gap.dat"]
    assert not (tmp_path / "gap.atr").exists()
    back = wfdb.rdrecord(str(tmp_path / "gap")).p_signal
    assert np.isnan(back[100:200, 0]).all()
    assert not np.isnan(back[:100]).any()
    assert not np.isnan(back[200:]).any()


def test_wfdb_out_of_range_raises_unless_saturated(tmp_path: Path) -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=5.0))
    loud = SyntheticRecording(
        rec.signals_mv * 12.0, rec.fs_hz, rec.leads, rec.beat_samples, rec.beat_symbols
    )
    with pytest.raises(ValueError, match="format 212"):
        write_wfdb_record(loud, tmp_path, "loud")
    write_wfdb_record(loud, tmp_path, "loud", saturate=True)
    assert wfdb.rdrecord(str(tmp_path / "loud")).p_signal.max() == pytest.approx(2047 / 200)
    write_wfdb_record(loud, tmp_path, "loud16", fmt="16")
    back = wfdb.rdrecord(str(tmp_path / "loud16")).p_signal
    np.testing.assert_allclose(back, loud.signals_mv, atol=0.5 / ADC_GAIN_PER_MV + 1e-9)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("bad.name", {}, "record_name"),
        ("ok", {"fmt": "80"}, "fmt"),
        ("ok", {"comments": ["two\nlines"]}, "line breaks"),
    ],
)
def test_wfdb_rejects_bad_arguments(tmp_path: Path, name: str, kwargs: dict, message: str) -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=5.0))
    with pytest.raises(ValueError, match=message):
        write_wfdb_record(rec, tmp_path, name, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_recording_without_beats_needs_with_annotations_false(tmp_path: Path) -> None:
    rec = generate_ecg(SyntheticConfig(duration_s=0.6))
    assert rec.n_beats == 0
    assert rec.n_samples == 216
    with pytest.raises(ValueError, match="no beats"):
        write_wfdb_record(rec, tmp_path, "empty")
    assert len(write_wfdb_record(rec, tmp_path, "empty", with_annotations=False)) == 2


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "extra"),
    [
        ("fs_hz", 0.0, {}),
        ("fs_hz", float("nan"), {}),
        ("fs_hz", "360", {}),
        ("duration_s", 0.0, {}),
        ("duration_s", -5.0, {}),
        ("heart_rate_bpm", 0.0, {}),
        ("heart_rate_bpm", 400.0, {}),
        ("hrv_std_s", -0.01, {}),
        ("hrv_std_s", 0.5, {}),
        ("pvc_rate", 1.5, {}),
        ("pac_rate", -0.1, {}),
        ("pause_rate", 2.0, {}),
        ("pac_rate", 0.3, {"pvc_rate": 0.3}),
        ("noise_mv", -0.1, {}),
        ("baseline_wander_mv", float("inf"), {}),
        ("powerline_mv", -1.0, {}),
        ("powerline_hz", 200.0, {"powerline_mv": 0.1}),
        ("powerline_hz", 0.0, {}),
        ("leads", (), {}),
        ("leads", ("MLII", "MLII"), {}),
        ("leads", ("MLII", ""), {}),
        ("seed", -1, {}),
        ("seed", 1.5, {}),
    ],
)
def test_invalid_config_names_the_field(field: str, value: object, extra: dict) -> None:
    with pytest.raises(ValueError, match=rf"SyntheticConfig\.{field}\b"):
        SyntheticConfig(**{field: value, **extra})


def test_leads_from_a_json_list_become_a_tuple() -> None:
    assert SyntheticConfig(leads=["MLII"]).leads == ("MLII",)  # type: ignore[arg-type]


def test_hum_above_nyquist_is_fine_when_there_is_no_hum() -> None:
    rec = generate_ecg(SyntheticConfig(fs_hz=100.0, powerline_hz=60.0, duration_s=10.0))
    assert rec.n_samples == 1000


# --- demo set -------------------------------------------------------------------------------


def test_demo_recordings_are_fixed_and_varied() -> None:
    first = demo_recordings(4, duration_s=120.0)
    again = demo_recordings(4, duration_s=120.0)
    assert list(first) == ["syn001", "syn002", "syn003", "syn004"]
    for name, rec in first.items():
        assert rec.signals_mv.tobytes() == again[name].signals_mv.tobytes()
        assert rec.fs_hz == 360.0
        assert rec.duration_s == pytest.approx(120.0)
    rates_bpm = [60.0 / np.median(_rr_s(rec)) for rec in first.values()]
    assert min(rates_bpm) > 50.0
    assert max(rates_bpm) < 115.0
    assert max(rates_bpm) - min(rates_bpm) > 30.0
    symbols = [set(rec.beat_symbols.tolist()) for rec in first.values()]
    assert any("V" in s for s in symbols)
    assert any("A" in s for s in symbols)
    assert any(s == {"N", "A"} for s in symbols)  # not every record has PVCs
    other = demo_recordings(2, seed=8, duration_s=120.0)
    assert not np.array_equal(other["syn001"].beat_samples, first["syn001"].beat_samples)


@pytest.mark.slow
def test_a_day_at_360_hz_takes_seconds() -> None:
    start = time.perf_counter()
    rec = generate_ecg(SyntheticConfig(duration_s=86_400.0, pvc_rate=0.05, noise_mv=0.02))
    elapsed_s = time.perf_counter() - start
    assert rec.signals_mv.shape == (31_104_000, 2)
    assert rec.n_beats == pytest.approx(86_400 * 72 / 60, rel=0.05)
    assert elapsed_s < 30.0
