"""Denoising and resampling on seeded synthetic ECG with known artefacts."""

import numpy as np
import pytest

from beatwatch.denoise import DenoiseConfig, denoise
from beatwatch.resample import resample_lead, resample_ratio, rescale_samples
from beatwatch.synthetic import SyntheticConfig, generate_ecg

FS = 360.0


def _clean_and_noisy(**artefacts: float):
    clean = generate_ecg(SyntheticConfig(fs_hz=FS, duration_s=30.0, seed=3))
    noisy = generate_ecg(SyntheticConfig(fs_hz=FS, duration_s=30.0, seed=3, **artefacts))
    return clean, noisy


def _band_power(x: np.ndarray, fs: float, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / fs)
    return float(spectrum[(freqs >= low) & (freqs <= high)].sum())


def test_bandpass_removes_baseline_wander_and_keeps_r_peaks() -> None:
    clean, noisy = _clean_and_noisy(baseline_wander_mv=1.0)
    x = noisy.signals_mv[:, 0]
    out = denoise(x, FS)
    assert out.dtype == np.float32
    assert out.shape == x.shape
    assert _band_power(out, FS, 0.05, 0.4) < 0.05 * _band_power(x, FS, 0.05, 0.4)
    # R peaks stay where they were (zero-phase): the local maximum is within 2 samples.
    for r in clean.beat_samples[5:-5]:
        assert abs(int(np.argmax(out[r - 18 : r + 18])) - 18) <= 2


def test_notch_removes_mains_hum() -> None:
    _, noisy = _clean_and_noisy(powerline_mv=0.3, powerline_hz=60.0)
    x = noisy.signals_mv[:, 0]
    hummed = denoise(x, FS, DenoiseConfig(lowpass_hz=100.0))
    notched = denoise(x, FS, DenoiseConfig(lowpass_hz=100.0, notch_hz=60.0))
    assert _band_power(notched, FS, 59, 61) < 0.01 * _band_power(hummed, FS, 59, 61)


def test_fft_wiener_brings_the_signal_closer_to_the_clean_one() -> None:
    clean, noisy = _clean_and_noisy(noise_mv=0.08, baseline_wander_mv=0.5)
    x = noisy.signals_mv[:, 0]
    out = denoise(x, FS, DenoiseConfig(method="fft_wiener"))
    reference = denoise(clean.signals_mv[:, 0], FS, DenoiseConfig(method="fft_wiener"))
    assert np.std(out - reference) < 0.5 * np.std(x - clean.signals_mv[:, 0])


def test_nan_in_is_nan_at_the_same_places_only() -> None:
    _, noisy = _clean_and_noisy(noise_mv=0.02)
    x = noisy.signals_mv[:, 0].copy()
    x[1000:1100] = np.nan
    for method in ("bandpass", "fft_wiener"):
        out = denoise(x, FS, DenoiseConfig(method=method))
        np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    assert np.isnan(denoise(np.full(50, np.nan), FS)).all()


def test_short_and_constant_signals() -> None:
    assert denoise(np.zeros(5), FS).shape == (5,)
    assert np.allclose(denoise(np.ones(2000), FS), 0.0, atol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "magic"}, "method"),
        ({"highpass_hz": 50.0, "lowpass_hz": 40.0}, "highpass_hz"),
        ({"order": 0}, "order"),
        ({"notch_hz": -50.0}, "notch_hz"),
    ],
)
def test_config_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DenoiseConfig(**kwargs)


@pytest.mark.parametrize("fs_in", [125.0, 250.0, 360.0, 500.0, 1000.0])
def test_resampling_keeps_time_and_frequency(fs_in: float) -> None:
    t = np.arange(int(10 * fs_in)) / fs_in
    x = np.sin(2 * np.pi * 5.0 * t)  # 5 Hz, well inside every band
    y = resample_lead(x, fs_in, 360.0)
    assert y.dtype == np.float32
    assert abs(y.size - 3600) <= 1
    t_out = np.arange(y.size) / 360.0
    inner = slice(100, -100)  # the polyphase filter's edges
    np.testing.assert_allclose(y[inner], np.sin(2 * np.pi * 5.0 * t_out)[inner], atol=0.02)


def test_rescaled_sample_indices_land_on_the_same_time() -> None:
    assert resample_ratio(250.0, 360.0) == pytest.approx(1.44)
    np.testing.assert_array_equal(
        rescale_samples(np.array([0, 250, 1000]), 250.0, 360.0), [0, 360, 1440]
    )
    with pytest.raises(ValueError, match="positive"):
        resample_ratio(0.0, 360.0)
