"""Beat windows, RR intervals, AAMI classes and the whole preprocess chain on synthetic ECG."""

import numpy as np
import pytest

from beatwatch.beats import AAMI_CLASSES, BeatWindow, aami_class, cut_beat_windows, rr_intervals
from beatwatch.denoise import DenoiseConfig
from beatwatch.preprocess import (
    PreprocessConfig,
    choose_lead,
    code_fingerprint,
    detect_beats,
    preprocess_recording,
)
from beatwatch.synthetic import SyntheticConfig, generate_ecg


def test_default_window_is_the_published_protocol() -> None:
    w = BeatWindow()
    assert (w.n_before, w.n_after, w.n_samples) == (140, 180, 320)
    assert BeatWindow(fs_hz=250.0).n_samples == round(140 / 360 * 250) + 125


def test_windows_are_cut_around_each_peak_and_edges_dropped() -> None:
    x = np.arange(1000, dtype=np.float32)
    w = BeatWindow(fs_hz=100.0, before_s=0.1, after_s=0.2)  # 10 before, 20 from the peak
    windows, kept = cut_beat_windows(x, np.array([5, 50, 500, 985]), w)
    assert kept.tolist() == [False, True, True, False]
    assert windows.shape == (2, 30)
    assert windows[0, 10] == 50
    assert windows[1, 0] == 490
    assert windows[1, -1] == 519


def test_rr_intervals_in_seconds() -> None:
    before, after = rr_intervals(np.array([0, 360, 900]), 360.0)
    np.testing.assert_allclose(before, [np.nan, 1.0, 1.5])
    np.testing.assert_allclose(after, [1.0, 1.5, np.nan])


def test_aami_classes() -> None:
    assert aami_class(np.array(["N", "L", "A", "V", "F", "/", "+", "~"])).tolist() == [
        "N",
        "N",
        "S",
        "V",
        "F",
        "Q",
        None,
        None,
    ]
    assert set(AAMI_CLASSES.values()) == {"N", "S", "V", "F", "Q"}


@pytest.mark.parametrize(
    "kwargs",
    [{"fs_hz": 0.0}, {"before_s": -0.1}, {"after_s": 0.0}, {"before_s": 0.0, "after_s": 0.01}],
)
def test_window_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="BeatWindow"):
        BeatWindow(**kwargs)


def test_lead_choice() -> None:
    assert choose_lead(("V5", "MLII"), ("MLII", "II")) == 1
    assert choose_lead(("V1", "V2"), ("MLII",)) == 0


def _ecg_with_pvcs(fs_hz: float, *, duration_s: float, heart_rate_bpm: float, seed: int):
    """Synthetic ECG with 10 % PVCs, some noise (0.03 mV) and baseline wander (0.3 mV)."""
    return generate_ecg(
        SyntheticConfig(
            fs_hz=fs_hz,
            duration_s=duration_s,
            heart_rate_bpm=heart_rate_bpm,
            pvc_rate=0.1,
            noise_mv=0.03,
            baseline_wander_mv=0.3,
            seed=seed,
        )
    )


@pytest.mark.parametrize("fs_hz", [250.0, 360.0, 500.0])
def test_preprocess_finds_the_reference_beats_at_any_rate(fs_hz: float) -> None:
    rec = _ecg_with_pvcs(fs_hz, duration_s=120.0, heart_rate_bpm=80.0, seed=11)
    beat_set = preprocess_recording(
        "syn",
        rec.signals_mv[:, 0],
        "MLII",
        fs_hz,
        (rec.beat_samples, rec.beat_symbols),
        PreprocessConfig(),
    )
    table = beat_set.table
    assert beat_set.n_reference == rec.beat_samples.size
    assert beat_set.matched + beat_set.missed == beat_set.n_reference
    assert beat_set.matched >= 0.99 * beat_set.n_reference
    assert beat_set.extra <= 0.01 * beat_set.n_reference
    assert table.schema.field("window").type.list_size == 320
    rows = table.to_pydict()
    # Each beat traces back to the recording's own sample grid, near its reference beat.
    nearest = np.abs(np.subtract.outer(np.array(rows["r_sample"]), rec.beat_samples)).min(axis=1)
    assert np.median(nearest) <= 0.01 * fs_hz
    labelled = [(s, c) for s, c in zip(rows["ref_symbol"], rows["aami_class"], strict=True) if s]
    assert {c for s, c in labelled if s == "V"} == {"V"}
    assert sum(s == "V" for s, _ in labelled) >= 0.05 * len(labelled)
    rr = np.array(rows["rr_prev_s"][1:], dtype=float)
    assert 0.3 < np.nanmedian(rr) < 1.0


@pytest.mark.parametrize("fs_hz", [250.0, 360.0])
def test_a_long_lead_in_pieces_gives_the_beats_of_the_whole_lead(fs_hz: float) -> None:
    rec = _ecg_with_pvcs(fs_hz, duration_s=400.0, heart_rate_bpm=75.0, seed=5)
    lead = rec.signals_mv[:, 0]
    whole_peaks, whole_windows, whole_kept = detect_beats(lead, fs_hz, PreprocessConfig())
    pieces = PreprocessConfig(chunk_s=60.0, chunk_margin_s=10.0)  # 7 pieces, 6 joins
    peaks, windows, kept = detect_beats(lead, fs_hz, pieces)
    assert peaks.size > 450
    np.testing.assert_array_equal(peaks, whole_peaks)  # no beat lost or doubled at a join
    np.testing.assert_array_equal(kept, whole_kept)
    # the windows differ only by the filters' settling at the piece edges: microvolts
    np.testing.assert_allclose(windows, whole_windows, atol=2e-3)
    assert np.all(np.diff(peaks) > 0)


def test_a_beat_found_by_two_pieces_is_kept_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pieces that place one beat a sample either side of their join keep it once."""
    from beatwatch import preprocess

    join, margin = 60 * 360, 10 * 360  # the first join, and the second piece's start - margin
    found_by_piece = [np.array([join - 1]), np.array([join + 1 - (join - margin)])]

    def detector(x, fs, cfg):  # the first two pieces both see the beat; the others none
        return found_by_piece.pop(0) if found_by_piece else np.zeros(0, np.int64)

    monkeypatch.setattr(preprocess, "detect_r_peaks", detector)
    lead = np.zeros(200 * 360, dtype=np.float32)
    peaks, windows, kept = detect_beats(
        lead, 360.0, PreprocessConfig(chunk_s=60.0, chunk_margin_s=10.0)
    )
    assert peaks.tolist() == [join - 1]
    assert kept.tolist() == [True]
    assert windows.shape == (1, 320)


def test_a_stretch_of_a_lead_is_read_in_mv(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from beatwatch.preprocess import read_lead_mv

    n = 10_000
    field = pa.field("MLII", pa.float32(), metadata={"unit": "uV"})
    table = pa.table(
        [pa.array(np.arange(n)), pa.array(np.arange(n, dtype=np.float32))],
        schema=pa.schema([pa.field("sample", pa.int64()), field]),
    )
    path = tmp_path / "signals.parquet"
    pq.write_table(table, path, row_group_size=1000)  # the stretch spans row groups
    np.testing.assert_allclose(
        read_lead_mv(path, "MLII", 2_990, 4_010), np.arange(2_990, 4_010) / 1000, rtol=1e-6
    )
    np.testing.assert_allclose(read_lead_mv(path, "MLII"), np.arange(n) / 1000, rtol=1e-6)
    np.testing.assert_allclose(
        read_lead_mv(path, "MLII", 9_990), np.arange(9_990, n) / 1000, rtol=1e-6
    )


def test_the_piece_margin_must_hold_the_detector_learning_stretch() -> None:
    with pytest.raises(ValueError, match="chunk_margin_s"):
        PreprocessConfig(chunk_margin_s=5.0)
    with pytest.raises(ValueError, match="chunk_s"):
        PreprocessConfig(chunk_s=10.0)


def test_faster_heart_rate_gives_more_beats() -> None:
    counts = []
    for bpm in (60.0, 100.0):
        rec = generate_ecg(SyntheticConfig(duration_s=60.0, heart_rate_bpm=bpm, seed=2))
        beat_set = preprocess_recording(
            "s", rec.signals_mv[:, 0], "MLII", 360.0, None, PreprocessConfig()
        )
        counts.append(beat_set.table.num_rows)
        assert beat_set.n_reference is None
        assert beat_set.missed is None
    assert counts[1] > counts[0] * 1.4


def test_key_changes_with_settings() -> None:
    assert PreprocessConfig().key() == PreprocessConfig().key()
    assert (
        PreprocessConfig().key() != PreprocessConfig(denoise=DenoiseConfig(lowpass_hz=30.0)).key()
    )


def test_the_code_fingerprint_is_of_code_not_its_text() -> None:
    code = (
        '"""A module."""\n'
        "X = 1\n"
        '"""What X is."""\n'
        "\n"
        "def f(x):\n"
        '    """Add X."""\n'
        "    return x + X  # the sum\n"
    )
    reworded = (
        '"""The module, described again."""\n'
        "X = 1\n"
        '"""X, in other words."""\n'
        "def f(x):\n"
        "    # a comment\n"
        '    """Add X to x."""\n'
        "    return (x\n"
        "            + X)\n"
    )
    assert code_fingerprint([code]) == code_fingerprint([reworded])
    assert code_fingerprint([code]) != code_fingerprint([code.replace("x + X", "x - X")])
    assert code_fingerprint([code]) != code_fingerprint([code.replace("X = 1", "X = 2")])
    named = code.replace("X = 1\n", 'X = 1\nNAME = "a"\n')
    assert code_fingerprint([named]) != code_fingerprint([named.replace('"a"', '"b"')])
