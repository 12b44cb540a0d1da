"""Read one delivered WFDB record into memory, refusing bad input with a clear reason.

wfdb itself reports many defects with errors that name neither the file nor the cause (a
truncated ``.dat`` gives a numpy broadcasting error, an unknown format a ``KeyError``), so the
checks an operator needs are made here first and raised as :class:`RejectedInput`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import wfdb
from wfdb.io import _signal as wfdb_signal

from beatwatch.errors import RejectedInput
from beatwatch.inbox import RecordDelivery

SUPPORTED_FORMATS: tuple[str, ...] = tuple(wfdb_signal.DAT_FMTS)
"""WFDB signal formats wfdb can decode."""

_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
_LEADING_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass(frozen=True)
class Annotations:
    """Reference annotations of one record, as WFDB stores them (one entry per annotation)."""

    sample: np.ndarray  # int64, sample index into the record
    symbol: np.ndarray  # str, MIT-BIH annotation code, e.g. 'N', 'V', '+'
    subtype: np.ndarray  # int16
    chan: np.ndarray  # int16, signal the annotation refers to
    num: np.ndarray  # int16
    aux_note: np.ndarray  # str, '' when absent (e.g. rhythm '(AFIB')

    def __len__(self) -> int:
        return int(self.sample.shape[0])


@dataclass(frozen=True)
class Recording:
    """One WFDB record in physical units, with its header metadata."""

    name: str
    fs_hz: float
    """Sampling rate per lead, in Hz."""
    leads: tuple[str, ...]
    units: tuple[str, ...]
    adc_gains: tuple[float, ...]
    """ADC units per physical unit, per lead."""
    baselines: tuple[int, ...]
    formats: tuple[str, ...]
    n_samples_header: int | None
    """Samples per lead the header promises (``None`` when the header leaves it out)."""
    start_time: datetime | None
    """Wall-clock time of sample 0, when the header gives a base date and time."""
    comments: tuple[str, ...]
    signals: np.ndarray
    """float32, shape (n_samples, n_leads), in each lead's physical unit (see ``units``)."""
    annotations: Annotations | None

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    @property
    def n_leads(self) -> int:
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz

    def lead_mv(self, index: int) -> np.ndarray:
        """Lead ``index`` converted to millivolts (float32)."""
        return self.signals[:, index] * np.float32(mv_per_unit(self.units[index]))


def mv_per_unit(unit: str) -> float:
    """Millivolts per one unit of ``unit`` ('mV', 'uV', 'V'); unknown units are taken as mV."""
    return _TO_MV.get(unit.strip().lower(), 1.0)


def read_wfdb_recording(delivery: RecordDelivery) -> Recording:
    """Read a delivered record: header, every signal in physical units, and its annotations.

    Raises
    ------
    RejectedInput
        Naming the file and the reason, for every defect found: an unreadable or empty
        header, a missing, absent, zero or negative sampling rate, an uncalibrated lead (ADC
        gain 0), no samples, a missing or truncated signal file, leads of different lengths,
        an unsupported signal format, a signal that cannot be decoded or disagrees with the
        header's checksums, or an annotation file that is unreadable or was made for another
        sampling rate.
    """
    if delivery.problem is not None:
        raise delivery.problem
    base = str(delivery.header.with_suffix(""))
    header = wfdb.rdheader(base)
    if header.n_sig == 0:
        raise RejectedInput(delivery.header, "header declares no signals", kind="no_signal_file")
    _check_header_text(delivery.header, header)
    if header.sig_len == 0:
        raise RejectedInput(
            delivery.header,
            "header declares 0 samples per lead: the record holds no signal",
            kind="empty_signal",
        )
    _check_formats(delivery.header, header)
    _check_sizes(delivery.header, header)
    try:
        record = wfdb.rdrecord(base, physical=False, return_res=32)
    except Exception as exc:
        raise RejectedInput(
            delivery.signal_files[0], f"signal cannot be decoded ({exc})", kind="undecodable_signal"
        ) from exc
    _check_checksums(delivery.header, record)
    signals = _to_physical(record)
    if header.sig_len is not None and signals.shape[0] != header.sig_len:
        raise RejectedInput(
            delivery.signal_files[0],
            f"holds {signals.shape[0]} samples per lead, the header promises {header.sig_len}",
            kind="truncated_signal",
        )
    annotations = None
    if delivery.annotation_file is not None:
        annotations = _read_annotations(delivery.annotation_file, float(header.fs))
    start = None
    if header.base_date is not None and header.base_time is not None:
        start = datetime.combine(header.base_date, header.base_time)
    return Recording(
        name=delivery.name,
        fs_hz=float(header.fs),
        leads=tuple(str(s) for s in header.sig_name),
        units=tuple(str(u) if u else "mV" for u in header.units),
        adc_gains=tuple(float(g) for g in header.adc_gain),
        baselines=tuple(int(b) for b in header.baseline),
        formats=tuple(str(f) for f in header.fmt),
        n_samples_header=None if header.sig_len is None else int(header.sig_len),
        start_time=start,
        comments=tuple(header.comments or ()),
        signals=signals,
        annotations=annotations,
    )


def _header_lines(path: Path) -> list[str]:
    """The header's record line, then its signal lines (comments and blank lines dropped)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _check_header_text(header_path: Path, header: wfdb.Record) -> None:
    """Defects wfdb papers over: it reads a missing or negative sampling rate as 250 Hz, and
    an ADC gain of 0 (uncalibrated) as 200 units/mV, without a word."""
    record_line, *signal_lines = _header_lines(header_path)
    fields = record_line.split()
    if len(fields) < 3:
        raise RejectedInput(
            header_path,
            "header gives no sampling rate (WFDB would assume 250 Hz; Beatwatch does not guess)",
            kind="bad_sampling_rate",
        )
    fs_text = fields[2].split("/", 1)[0]
    try:
        fs_hz = float(fs_text)
    except ValueError:
        fs_hz = math.nan
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise RejectedInput(
            header_path,
            f"sampling rate {fields[2]!r} in the header's first line is not a positive number "
            "of Hz",
            kind="bad_sampling_rate",
        )
    for line, lead in zip(signal_lines, header.sig_name, strict=False):
        parts = line.split()
        gain = _LEADING_NUMBER.match(parts[2]) if len(parts) > 2 else None
        if gain is not None and float(gain.group()) == 0:
            raise RejectedInput(
                header_path,
                f"lead {lead!r} has ADC gain 0, i.e. it is uncalibrated (wfdb would assume 200 "
                "units/mV): its samples cannot be converted to millivolts",
                kind="uncalibrated_signal",
            )


def _check_formats(header_path: Path, header: wfdb.Record) -> None:
    for fmt, lead in zip(header.fmt, header.sig_name, strict=False):
        if str(fmt) not in SUPPORTED_FORMATS:
            raise RejectedInput(
                header_path,
                f"lead {lead!r} uses signal format {fmt!r}, which is not a WFDB format "
                f"Beatwatch can read (supported: {', '.join(SUPPORTED_FORMATS)})",
                kind="unknown_format",
            )


def _check_sizes(header_path: Path, header: wfdb.Record) -> None:
    """Compare each signal file's size with what the header promises, and the signal files
    of a record with each other (uncompressed formats only)."""
    per_file: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        per_file.setdefault(name, []).append(i)
    held: dict[str, int] = {}  # samples per lead each signal file holds
    truncated: RejectedInput | None = None
    for name, leads in per_file.items():
        fmt = str(header.fmt[leads[0]])
        bytes_per_sample = wfdb_signal.BYTES_PER_SAMPLE.get(fmt, 0)
        if bytes_per_sample == 0:  # FLAC-compressed: size says nothing
            return
        samples_per_frame = sum((header.samps_per_frame or [1] * header.n_sig)[i] for i in leads)
        offset = (header.byte_offset or [None] * header.n_sig)[leads[0]] or 0
        path = header_path.parent / name
        actual = path.stat().st_size
        held[name] = math.floor((actual - offset) / (samples_per_frame * bytes_per_sample))
        if truncated is None and header.sig_len is not None and held[name] < header.sig_len:
            expected = offset + math.ceil(header.sig_len * samples_per_frame * bytes_per_sample)
            truncated = RejectedInput(
                path,
                f"truncated signal file: {actual} bytes, but header {header_path.name} promises "
                f"{expected} ({header.sig_len} samples x {samples_per_frame} signals "
                f"in format {fmt})",
                kind="truncated_signal",
            )
    if len(set(held.values())) > 1:
        lengths = ", ".join(
            f"{'/'.join(header.sig_name[i] for i in per_file[name])} in {name}: {samples}"
            for name, samples in held.items()
        )
        promised = "" if header.sig_len is None else f"; the header promises {header.sig_len}"
        raise RejectedInput(
            header_path.parent / min(held, key=held.__getitem__),
            f"leads of different lengths (samples per lead {lengths}{promised}): the record's "
            "signal files do not belong together, or one is truncated",
            kind="unequal_lead_lengths",
        )
    if truncated is not None:
        raise truncated


def _check_checksums(header_path: Path, record: wfdb.Record) -> None:
    """Each lead's 16-bit sum of samples must equal the checksum its header line gives."""
    if not record.checksum or any(spf != 1 for spf in record.samps_per_frame or []):
        return
    for j, expected in enumerate(record.checksum):
        if expected is None:
            continue
        actual = _to_int16(int(np.sum(record.d_signal[:, j], dtype=np.int64)))
        if actual != _to_int16(int(expected)):
            path = header_path.parent / record.file_name[j]
            shown = actual % 65536 if expected > 32767 else actual  # as the header writes it
            raise RejectedInput(
                path,
                f"lead {record.sig_name[j]!r}: the samples in {path.name} sum to checksum "
                f"{shown}, header {header_path.name} says {int(expected)}: the header and "
                "the signal file do not belong together, or the signal was damaged",
                kind="header_checksum",
            )


def _to_int16(value: int) -> int:
    value %= 65536
    return value - 65536 if value > 32767 else value


def _to_physical(record: wfdb.Record) -> np.ndarray:
    """Digital to physical units, lead by lead, exactly as wfdb's float64 ``dac`` then float32.

    Working one lead at a time bounds memory to one float64 lead (250 MB for 24 h at 360 Hz).
    """
    digital = record.d_signal
    invalid = wfdb_signal._digi_nan(record.fmt)
    out = np.empty(digital.shape, dtype=np.float32)
    for j in range(digital.shape[1]):
        lead = digital[:, j].astype(np.float64)
        lead -= record.baseline[j]
        lead /= record.adc_gain[j]
        lead[digital[:, j] == invalid[j]] = np.nan
        out[:, j] = lead
    return out


def _read_annotations(path: Path, fs_hz: float) -> Annotations:
    try:
        ann = wfdb.rdann(str(path.with_suffix("")), path.suffix.lstrip("."))
    except Exception as exc:
        raise RejectedInput(
            path, f"annotation file cannot be read ({exc})", kind="corrupt_annotation"
        ) from exc
    if ann.fs is not None and not math.isclose(float(ann.fs), fs_hz, rel_tol=1e-6):
        raise RejectedInput(
            path,
            f"annotation file was made for {ann.fs:g} Hz, the record is sampled at "
            f"{fs_hz:g} Hz: it does not belong to this record",
            kind="foreign_annotation",
        )
    n = len(ann.sample)

    def small_ints(values: object) -> np.ndarray:
        arr = np.asarray(values if values is not None else np.zeros(n), dtype=np.int16)
        return arr if arr.shape == (n,) else np.zeros(n, dtype=np.int16)

    aux = [str(a).replace("\x00", "") if a else "" for a in (ann.aux_note or [""] * n)]
    return Annotations(
        sample=np.asarray(ann.sample, dtype=np.int64),
        symbol=np.asarray(ann.symbol, dtype=str),
        subtype=small_ints(ann.subtype),
        chan=small_ints(ann.chan),
        num=small_ints(ann.num),
        aux_note=np.asarray(aux, dtype=str),
    )
