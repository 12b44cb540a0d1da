"""The Parquet lake: one signal file and one annotation file per record, written atomically.

Layout under ``<data>/lake/``::

    signals/<record>.parquet       sample (int64) + one float32 column per lead, physical units
    annotations/<record>.parquet   record, sample, time_s, symbol, subtype, chan, num, aux_note

Each signal column carries its unit, ADC gain and baseline as Arrow field metadata, and the
file carries the record name and sampling rate (Hz), so a file is readable on its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from beatwatch.atomic import write_atomic
from beatwatch.faults import crash_point
from beatwatch.recording import Annotations, Recording

ANNOTATION_SCHEMA = pa.schema(
    [
        pa.field("record", pa.string(), nullable=False),
        pa.field("sample", pa.int64(), nullable=False),
        pa.field("time_s", pa.float64(), nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("subtype", pa.int16(), nullable=False),
        pa.field("chan", pa.int16(), nullable=False),
        pa.field("num", pa.int16(), nullable=False),
        pa.field("aux_note", pa.string()),
    ]
)


def signal_column_names(leads: tuple[str, ...]) -> list[str]:
    """Column names for the leads: the lead name, suffixed ``_2``, ``_3`` if a name repeats."""
    seen: dict[str, int] = {}
    names = []
    for lead in leads:
        seen[lead] = seen.get(lead, 0) + 1
        names.append(lead if seen[lead] == 1 else f"{lead}_{seen[lead]}")
    return names


def signals_table(rec: Recording) -> pa.Table:
    """The record's signals as an Arrow table: ``sample`` then one float32 column per lead."""
    fields = [pa.field("sample", pa.int64(), nullable=False)]
    columns: list[pa.Array] = [pa.array(np.arange(rec.n_samples, dtype=np.int64))]
    for j, name in enumerate(signal_column_names(rec.leads)):
        meta = {
            "lead": rec.leads[j],
            "unit": rec.units[j],
            "adc_gain": repr(rec.adc_gains[j]),
            "baseline": str(rec.baselines[j]),
            "format": rec.formats[j],
        }
        fields.append(pa.field(name, pa.float32(), metadata=meta))
        columns.append(pa.array(np.ascontiguousarray(rec.signals[:, j])))
    schema = pa.schema(fields).with_metadata(
        {"beatwatch": json.dumps({"record": rec.name, "fs_hz": rec.fs_hz})}
    )
    return pa.Table.from_arrays(columns, schema=schema)


def annotations_table(record: str, ann: Annotations, fs_hz: float) -> pa.Table:
    """Annotations as an Arrow table; ``time_s`` is ``sample / fs_hz`` in seconds."""
    n = len(ann)
    aux = [a or None for a in ann.aux_note.tolist()]
    return pa.Table.from_arrays(
        [
            pa.array([record] * n, pa.string()),
            pa.array(ann.sample, pa.int64()),
            pa.array(ann.sample / fs_hz, pa.float64()),
            pa.array(ann.symbol.tolist(), pa.string()),
            pa.array(ann.subtype, pa.int16()),
            pa.array(ann.chan, pa.int16()),
            pa.array(ann.num, pa.int16()),
            pa.array(aux, pa.string()),
        ],
        schema=ANNOTATION_SCHEMA,
    )


def write_parquet_atomic(table: pa.Table, path: Path, *, row_group_size: int | None = None) -> Path:
    """Write ``table`` to ``path`` so that no reader ever sees a partial file.

    ``row_group_size`` (rows) bounds what a filtered read must decode; by default Arrow's
    (about a million rows). See :func:`beatwatch.atomic.write_atomic`.
    """
    # Integers (sample numbers, beat indices: mostly increasing) are delta-encoded: a
    # dictionary of a million distinct sample numbers made writing a signal file 3x slower
    # and the file 60 % bigger. Beat windows (continuous mV values, nearly all distinct) get
    # no dictionary either: it tripled a beat file's write time and made it 25 % bigger.
    # Strings and digitised signals (few distinct ADC steps) gain from one.
    delta = {f.name: "DELTA_BINARY_PACKED" for f in table.schema if pa.types.is_integer(f.type)}
    dictionary = [
        f.name
        for f in table.schema
        if f.name not in delta and not pa.types.is_fixed_size_list(f.type)
    ]
    return write_atomic(
        path,
        lambda tmp: pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=dictionary,
            column_encoding=delta or None,
            row_group_size=row_group_size,
        ),
    )


def move_atomic(src: Path, dst: Path) -> Path:
    """Move a finished file into place with one atomic rename (same file system)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    crash_point("move", str(dst))
    os.replace(src, dst)
    return dst


def signal_path(lake_dir: Path, record: str) -> Path:
    return lake_dir / "signals" / f"{record}.parquet"


def annotation_path(lake_dir: Path, record: str) -> Path:
    return lake_dir / "annotations" / f"{record}.parquet"
