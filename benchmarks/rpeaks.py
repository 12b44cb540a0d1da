"""Benchmark R-peak detectors on the MIT-BIH Arrhythmia Database (accuracy and speed).

    .venv/bin/python benchmarks/rpeaks.py [--mitdb DIR] [--records 100,101] [--skip xqrs]

Protocol: lead 0 of each record; every beat annotation (``BEAT_SYMBOLS``) is a reference
beat; a detection matches a beat within 50 ms, one-to-one, nearest first; TP/FP/FN are
summed over the records. "strict" counts every detection; "EC57" leaves detections inside
ventricular flutter episodes (record 207) out of the false positives, as ANSI/AAMI EC57
does. Speed is samples processed / wall time of detection (filtering included, file
reading excluded), each detector timed over all records in turn, in this one process.
Output is Markdown, ready to paste into a README.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from beatwatch.beat_matching import BEAT_SYMBOLS, match_beats, vfl_episodes, vfl_mask
from beatwatch.rpeaks import detect_r_peaks

DEFAULT_MITDB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitdb"
TOLERANCE_S = 0.050

Detector = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Record:
    """Lead 0 (mV) of one record, its reference beats and VFL episodes (samples)."""

    name: str
    signal_mv: np.ndarray
    fs_hz: float
    beats: np.ndarray
    vfl: np.ndarray  # (n, 2) [start, stop) samples


@dataclass(frozen=True)
class Score:
    """Counts of one detector on one record."""

    record: str
    n_beats: int
    tp: int
    fp: int
    fn: int
    fp_in_vfl: int


def read_records(mitdb: Path, names: Sequence[str]) -> list[Record]:
    """Read lead 0 and the reference annotations of each named record in ``mitdb``."""
    records = []
    for name in names:
        rec = wfdb.rdrecord(str(mitdb / name), channels=[0])
        ann = wfdb.rdann(str(mitdb / name), "atr")
        symbols = np.asarray(ann.symbol)
        samples = np.asarray(ann.sample, dtype=np.int64)
        signal = np.asarray(rec.p_signal[:, 0], dtype=np.float64)
        beats = samples[np.isin(symbols, sorted(BEAT_SYMBOLS))]
        vfl = vfl_episodes(samples, symbols, np.asarray(ann.aux_note), signal.size)
        records.append(Record(name, signal, float(rec.fs), beats, vfl))
    return records


def neurokit_detector() -> Detector | None:
    """neurokit2's default ``ecg_clean`` + ``ecg_peaks``, or None if not installed."""
    try:
        import neurokit2 as nk
    except ImportError:
        return None

    def detect(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
        cleaned = nk.ecg_clean(signal_mv, sampling_rate=fs_hz)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs_hz)
        return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)

    return detect


def xqrs_detector(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """wfdb's XQRS with its default configuration."""
    from wfdb import processing

    return np.asarray(processing.xqrs_detect(signal_mv, fs=fs_hz, verbose=False), dtype=np.int64)


def run(detector: Detector, records: Sequence[Record]) -> tuple[list[Score], float]:
    """Detect on every record (timed as a whole), then score; returns scores, seconds."""
    start = time.perf_counter()
    detections = [detector(rec.signal_mv, rec.fs_hz) for rec in records]
    elapsed = time.perf_counter() - start
    scores = []
    for rec, det in zip(records, detections, strict=True):
        match = match_beats(rec.beats, det, round(TOLERANCE_S * rec.fs_hz))
        in_vfl = int(vfl_mask(det[match.extra], rec.vfl).sum())
        scores.append(Score(rec.name, rec.beats.size, match.tp, match.fp, match.fn, in_vfl))
    return scores, elapsed


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.2f}" if den else "n/a"


def summary_rows(name: str, scores: Sequence[Score], n_samples: int, seconds: float) -> list[str]:
    """Markdown rows: strict and EC57 totals of one detector."""
    tp = sum(s.tp for s in scores)
    fp = sum(s.fp for s in scores)
    fn = sum(s.fn for s in scores)
    fp_ec57 = fp - sum(s.fp_in_vfl for s in scores)
    speed = f"{n_samples / seconds / 1e6:.2f} M" if seconds > 0 else "n/a"
    return [
        f"| {name} | strict | {tp} | {fp} | {fn} | {_pct(tp, tp + fn)} | {_pct(tp, tp + fp)} "
        f"| {speed} |",
        f"| {name} | EC57 (VFL excluded) | {tp} | {fp_ec57} | {fn} | {_pct(tp, tp + fn)} "
        f"| {_pct(tp, tp + fp_ec57)} | |",
    ]


def per_record_table(scores: Sequence[Score]) -> list[str]:
    """Markdown table of one detector per record, worst (most FP + FN) first."""
    lines = [
        "| record | beats | TP | FP | FN | FP in VFL | Se (%) | PPV (%) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sorted(scores, key=lambda s: (-(s.fp + s.fn), s.record)):
        lines.append(
            f"| {s.record} | {s.n_beats} | {s.tp} | {s.fp} | {s.fn} | {s.fp_in_vfl} "
            f"| {_pct(s.tp, s.tp + s.fn)} | {_pct(s.tp, s.tp + s.fp)} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", type=Path, default=DEFAULT_MITDB, help="MIT-BIH folder")
    parser.add_argument("--records", help="comma-separated record names (default: RECORDS)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["neurokit2", "xqrs"],
        help="leave a reference detector out (repeatable); XQRS takes ~100 s",
    )
    args = parser.parse_args(argv)

    if args.records:
        names = [name.strip() for name in args.records.split(",") if name.strip()]
    else:
        records_file = args.mitdb / "RECORDS"
        if not records_file.is_file():
            parser.error(f"no RECORDS file in {args.mitdb}; pass --mitdb DIR")
        names = records_file.read_text().split()

    start = time.perf_counter()
    records = read_records(args.mitdb, names)
    read_s = time.perf_counter() - start
    n_samples = sum(rec.signal_mv.size for rec in records)
    n_beats = sum(rec.beats.size for rec in records)
    print(
        f"Read {len(records)} records ({n_samples:,} samples, {n_beats:,} reference beats) "
        f"from {args.mitdb} in {read_s:.1f} s.\n"
    )

    detectors: list[tuple[str, Detector]] = [("beatwatch", detect_r_peaks)]
    if "neurokit2" not in args.skip:
        nk_detect = neurokit_detector()
        if nk_detect is None:
            print("neurokit2 is not installed (.venv/bin/pip install neurokit2): skipped.\n")
        else:
            detectors.append(("neurokit2", nk_detect))
    if "xqrs" not in args.skip:
        detectors.append(("wfdb XQRS", xqrs_detector))

    rows = [
        "| detector | protocol | TP | FP | FN | Se (%) | PPV (%) | samples/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ours: list[Score] = []
    for name, detector in detectors:
        scores, seconds = run(detector, records)
        rows += summary_rows(name, scores, n_samples, seconds)
        ours = ours or scores
        print(f"{name}: {seconds:.2f} s", file=sys.stderr)

    print(f"Tolerance {TOLERANCE_S * 1000:.0f} ms, lead 0.\n")
    print("\n".join(rows))
    print("\nbeatwatch per record (worst first):\n")
    print("\n".join(per_record_table(ours)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
