"""From an accepted recording to beat windows: lead -> denoise -> resample -> R peaks -> windows.

One lead per recording is used (the first of ``PreprocessConfig.lead_preference`` present,
else the first lead). The chain runs at the recording's own rate up to the resampling, then
at the model's rate (``window.fs_hz``, 360 Hz by default). Where reference annotations exist,
each detected beat is matched one-to-one to a reference beat within 50 ms and carries its
symbol and AAMI class; reference beats left unmatched are counted as missed.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from beatwatch import beat_matching, beats, denoise, resample, rpeaks
from beatwatch.beat_matching import BEAT_SYMBOLS, match_beats
from beatwatch.beats import BeatWindow, aami_class, cut_beat_windows, rr_intervals
from beatwatch.denoise import DenoiseConfig
from beatwatch.lake import write_parquet_atomic
from beatwatch.recording import mv_per_unit
from beatwatch.rpeaks import RPeakConfig, detect_r_peaks

BEATS_PER_ROW_GROUP = 8192
"""Rows per row group of a beat file (about 10 MB of windows): a filtered read of a few
beats decodes their groups, not a 24-hour recording's 140 MB. (The night report no longer
reads beat files: the scored windows of its top beats are kept.)"""

DEFAULT_LEADS: tuple[str, ...] = ("MLII", "II", "ML II", "ECG", "ECG1", "V5", "V1")


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything that decides a recording's beats; its :meth:`key` names a beat set."""

    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)
    window: BeatWindow = field(default_factory=BeatWindow)
    rpeaks: RPeakConfig = field(default_factory=RPeakConfig)
    lead_preference: tuple[str, ...] = DEFAULT_LEADS
    match_tolerance_s: float = 0.05
    """Largest distance, in seconds, between a detected and a reference beat that match."""
    chunk_s: float = 3600.0
    """A longer lead is filtered and searched for beats in pieces of this many seconds, so
    memory stays bounded whatever the recording's length (a 24-hour Holter included). A
    lead up to ``chunk_s + chunk_margin_s`` long is one piece (all of MIT-BIH)."""
    chunk_margin_s: float = 30.0
    """Signal read on either side of each piece, seconds: the filters settle and the R-peak
    detector learns its levels (``rpeaks.learning_s``) there, and beats near a piece's edge
    have their whole window. Only beats inside the piece itself are kept."""

    def __post_init__(self) -> None:
        if not 0 < self.match_tolerance_s <= 0.15:
            raise ValueError(
                "PreprocessConfig.match_tolerance_s must be in (0, 0.15] s, "
                f"got {self.match_tolerance_s}"
            )
        if self.chunk_s < 60:
            raise ValueError(f"PreprocessConfig.chunk_s must be >= 60 s, got {self.chunk_s}")
        shortest_margin = self.rpeaks.learning_s + self.window.n_samples / self.window.fs_hz
        if self.chunk_margin_s < shortest_margin:
            raise ValueError(
                f"PreprocessConfig.chunk_margin_s must be >= {shortest_margin:g} s (the "
                f"detector's learning stretch plus one beat window), got {self.chunk_margin_s}"
            )

    @property
    def model_fs_hz(self) -> float:
        return self.window.fs_hz

    def key(self) -> str:
        """SHA-256 of this configuration and of the code that applies it.

        A beat set made under another key is out of date: changing a filter setting or the
        detector's code re-derives every recording's beats on the next night.
        """
        payload = json.dumps(asdict(self), sort_keys=True, default=str) + _code_fingerprint()
        return hashlib.sha256(payload.encode()).hexdigest()


@cache
def _code_fingerprint() -> str:
    modules = (beat_matching, beats, denoise, resample, rpeaks, inspect.getmodule(PreprocessConfig))
    return code_fingerprint(inspect.getsource(m) for m in modules)  # type: ignore[arg-type]


def code_fingerprint(sources: Iterable[str]) -> str:
    """SHA-256 (hex) of Python sources as code: their syntax trees without docstrings.

    Comments, docstrings (of modules, classes, functions and attributes: every statement
    that is only a string) and layout do not count, so editing them does not make every
    recording's beats out of date; any other change to the code does.
    """
    digest = hashlib.sha256()
    for source in sources:
        tree = _WithoutDocstrings().visit(ast.parse(source))
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()


class _WithoutDocstrings(ast.NodeTransformer):
    def visit_Expr(self, node: ast.Expr) -> ast.Expr | None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None  # a string on its own does nothing when the code runs
        return node


@dataclass(frozen=True)
class BeatSet:
    """One recording's beats and how they compare with its reference annotations."""

    record: str
    lead: str
    table: pa.Table
    """One row per beat with a whole window: see :func:`beat_schema`."""
    n_detected: int
    """R peaks detected, windows off the edges included."""
    n_reference: int | None
    """Reference beats (None without annotations)."""
    matched: int | None
    missed: int | None
    """Reference beats no detection matched (false negatives)."""
    extra: int | None
    """Detections that match no reference beat (false positives)."""


def beat_schema(window_samples: int) -> pa.Schema:
    """Arrow schema of a beat file; ``window`` is a fixed-size list of float32 in mV."""
    return pa.schema(
        [
            pa.field("record", pa.string(), nullable=False),
            pa.field("beat_index", pa.int32(), nullable=False),
            pa.field("r_sample", pa.int64(), nullable=False),  # at the recording's own rate
            pa.field("time_s", pa.float64(), nullable=False),  # from the start of the recording
            pa.field("rr_prev_s", pa.float32()),
            pa.field("rr_next_s", pa.float32()),
            pa.field("lead", pa.string(), nullable=False),
            pa.field("ref_symbol", pa.string()),
            pa.field("aami_class", pa.string()),
            pa.field("window", pa.list_(pa.float32(), window_samples), nullable=False),
        ]
    )


def choose_lead(leads: tuple[str, ...], preference: tuple[str, ...]) -> int:
    """Index of the first preferred lead present, else 0."""
    for wanted in preference:
        if wanted in leads:
            return leads.index(wanted)
    return 0


def read_lead_mv(
    signal_path: Path, column: str, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """One lead from a lake signal file, converted to mV using the column's unit.

    ``start`` and ``stop`` (samples at the recording's rate) read only that stretch,
    ``[start, stop)``: only the Parquet row groups holding it are decoded.
    """
    bounds = [("sample", ">=", start)] if start > 0 else []
    bounds += [("sample", "<", stop)] if stop is not None else []
    table = pq.read_table(signal_path, columns=[column], filters=bounds or None)
    unit = (table.schema.field(column).metadata or {}).get(b"unit", b"mV").decode()
    lead = table.column(column).to_numpy()
    return lead * np.float32(mv_per_unit(unit))


def detect_beats(
    lead_mv: np.ndarray, fs_hz: float, cfg: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Denoise, resample, find R peaks and cut beat windows, one piece of the lead at a time.

    Pieces are ``cfg.chunk_s`` long, each filtered and searched with ``cfg.chunk_margin_s``
    of signal on either side; a piece keeps the R peaks inside itself. So the working memory
    is that of one piece (about 100 MB for an hour at 360 Hz), not of the whole lead (a
    24-hour lead at once needed 2.8 GB). Piece edges fall on samples that are whole at both
    rates, so every piece resamples onto the same sample grid as the whole lead would.

    Parameters
    ----------
    lead_mv
        The lead, in mV, at ``fs_hz`` Hz.

    Returns
    -------
    peaks
        int64 R-peak samples at the model's rate (``cfg.model_fs_hz``), increasing.
    windows
        float32 (n_kept, window samples) beat windows in mV, for the peaks in ``kept``.
    kept
        bool over ``peaks``: False where the window would cross either end of the lead.
    """
    fs_out = cfg.model_fs_hz
    ratio = resample.resample_ratio(fs_hz, fs_out)
    grid = ratio.denominator  # piece edges on multiples of this: whole samples at fs_out
    chunk = max(grid, round(cfg.chunk_s * fs_hz / grid) * grid)
    margin = math.ceil(cfg.chunk_margin_s * fs_hz / grid) * grid
    refractory = max(1, round(cfg.rpeaks.refractory_s * fs_out))  # as the detector's, samples
    n = int(np.asarray(lead_mv).shape[0])
    peaks: list[np.ndarray] = []
    windows: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    start, last_peak = 0, -math.inf  # samples at fs_out
    while True:
        end = start + chunk if n - (start + chunk) > margin else n  # the last piece: to the end
        lo, hi = max(0, start - margin), min(n, end + margin)
        clean = denoise.denoise(lead_mv[lo:hi], fs_hz, cfg.denoise)
        piece = resample.resample_lead(np.nan_to_num(clean), fs_hz, fs_out)
        offset = int(lo * ratio)  # whole: lo is a multiple of grid, as are start and end < n
        found = detect_r_peaks(piece, fs_out, cfg.rpeaks) + offset
        own = found[found >= int(start * ratio)]
        if end < n:
            own = own[own < int(end * ratio)]
        # a beat that both pieces found near their join, a sample or two apart, is kept once
        own = own[own - last_peak >= refractory]
        piece_windows, piece_kept = cut_beat_windows(piece, own - offset, cfg.window)
        peaks.append(own)
        windows.append(piece_windows)
        kept.append(piece_kept)
        if own.size:
            last_peak = int(own[-1])
        if end == n:
            break
        start = end
    return (
        np.concatenate(peaks).astype(np.int64),
        np.concatenate(windows),
        np.concatenate(kept),
    )


def preprocess_recording(
    record: str,
    lead_mv: np.ndarray,
    lead: str,
    fs_hz: float,
    reference: tuple[np.ndarray, np.ndarray] | None,
    cfg: PreprocessConfig,
) -> BeatSet:
    """Derive a recording's beats from one lead.

    Parameters
    ----------
    lead_mv
        The lead, in mV, at ``fs_hz`` Hz.
    reference
        ``(sample, symbol)`` of the reference annotations at ``fs_hz``, or ``None``.
    """
    fs_out = cfg.model_fs_hz
    peaks, windows, kept = detect_beats(lead_mv, fs_hz, cfg)
    rr_prev, rr_next = rr_intervals(peaks, fs_out)

    n = int(kept.sum())
    ref_symbol = np.full(peaks.size, None, dtype=object)
    n_reference = matched = missed = extra = None
    if reference is not None:
        samples, symbols = reference
        is_beat = np.isin(symbols.astype(str), list(BEAT_SYMBOLS))
        ref_at_model = resample.rescale_samples(samples[is_beat], fs_hz, fs_out)
        tolerance = round(cfg.match_tolerance_s * fs_out)
        match = match_beats(ref_at_model, peaks, tolerance)
        ref_symbol[match.matched_detected] = symbols[is_beat][match.matched_reference]
        n_reference, matched, missed, extra = int(is_beat.sum()), match.tp, match.fn, match.fp

    r_sample = resample.rescale_samples(peaks, fs_out, fs_hz)
    kept_symbols = ref_symbol[kept]
    table = pa.Table.from_arrays(
        [
            pa.array([record] * n, pa.string()),
            pa.array(np.arange(n, dtype=np.int32)),
            pa.array(r_sample[kept]),
            pa.array(peaks[kept] / fs_out),
            pa.array(rr_prev[kept].astype(np.float32), from_pandas=True),
            pa.array(rr_next[kept].astype(np.float32), from_pandas=True),
            pa.array([lead] * n, pa.string()),
            pa.array(kept_symbols.tolist(), pa.string()),
            pa.array(aami_class(kept_symbols).tolist(), pa.string()),
            pa.FixedSizeListArray.from_arrays(pa.array(windows.ravel()), cfg.window.n_samples),
        ],
        schema=beat_schema(cfg.window.n_samples),
    )
    return BeatSet(
        record=record,
        lead=lead,
        table=table,
        n_detected=int(peaks.size),
        n_reference=n_reference,
        matched=matched,
        missed=missed,
        extra=extra,
    )


@dataclass(frozen=True)
class PendingRecording:
    """An accepted recording waiting for (new) beats; a row of ``pending_preprocess.sql``."""

    record: str
    signal_path: Path
    annotation_path: Path | None
    fs_hz: float
    leads: tuple[str, ...]


@dataclass(frozen=True)
class BeatFile:
    """A beat set written to the lake: its counts and where it is (the table is on disk)."""

    record: str
    lead: str
    path: Path
    n_detected: int
    n_beats: int
    n_reference: int | None
    matched: int | None
    missed: int | None
    extra: int | None


def derive_beat_set(pending: PendingRecording, cfg: PreprocessConfig) -> BeatSet:
    """Read the recording's lead (mV, at ``pending.fs_hz`` Hz) and reference annotations from
    the lake and derive its beats (:func:`preprocess_recording`); nothing is written."""
    index = choose_lead(pending.leads, cfg.lead_preference)
    columns = pq.read_schema(pending.signal_path).names[1:]  # after 'sample'
    lead_mv = read_lead_mv(pending.signal_path, columns[index])
    reference = None
    if pending.annotation_path is not None:
        ann = pq.read_table(pending.annotation_path, columns=["sample", "symbol"])
        reference = (ann.column("sample").to_numpy(), np.asarray(ann.column("symbol").to_pylist()))
    return preprocess_recording(
        pending.record, lead_mv, pending.leads[index], pending.fs_hz, reference, cfg
    )


def write_beat_set(beat_set: BeatSet, lake_dir: Path) -> BeatFile:
    """Write a beat set to ``<lake>/beats/<record>.parquet`` (atomically)."""
    path = write_parquet_atomic(
        beat_set.table,
        lake_dir / "beats" / f"{beat_set.record}.parquet",
        row_group_size=BEATS_PER_ROW_GROUP,
    )
    return BeatFile(
        record=beat_set.record,
        lead=beat_set.lead,
        path=path,
        n_detected=beat_set.n_detected,
        n_beats=beat_set.table.num_rows,
        n_reference=beat_set.n_reference,
        matched=beat_set.matched,
        missed=beat_set.missed,
        extra=beat_set.extra,
    )
