"""Registering a night's records in a warehouse with a long history.

    .venv/bin/python benchmarks/history.py [--rows 20000000] [--records 48]

Fills a fresh working database's ``beats`` and ``beat_scores`` with ``--rows`` rows each
(records of 2,300 beats with random-looking names, as hospital identifiers are: they do not
sort in delivery order, so DuckDB's min/max statistics cannot skip row groups), then
registers ``--records`` new records' beat sets and scores with the pipeline's writers, and
prints the time per record beside what the writers' unconditional deletes alone took (their
behaviour before they checked for earlier rows first), then the time to publish the
warehouse (a whole copy of the working database: it grows with the history).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows of history per table")
    parser.add_argument("--records", type=int, default=48, help="new records to register")
    args = parser.parse_args()

    from beatwatch.preprocess import PreprocessConfig, preprocess_recording, write_beat_set
    from beatwatch.scoring import RecordScores, score_schema
    from beatwatch.synthetic import SyntheticConfig, generate_ecg
    from warehouse import apply_schema, connect, writes
    from warehouse.store import publish_snapshot

    work = Path(tempfile.mkdtemp(prefix="beatwatch-history-"))
    cfg = PreprocessConfig()
    ecg = generate_ecg(SyntheticConfig(duration_s=1800.0, seed=1))
    beat_set = preprocess_recording("x", ecg.signals_mv[:, 0], "MLII", 360.0, None, cfg)
    rng = np.random.default_rng(0)  # hex names like the history's: inside its name range
    names = [f"{rng.integers(1 << 40):010x}" for _ in range(args.records)]

    with connect(work / "work.duckdb") as con:
        apply_schema(con)
        start = time.perf_counter()
        history = (
            "select md5((i // 2300)::varchar)[:10] as record, (i % 2300)::integer as beat_index"
            f" from range({args.rows}) t(i)"
        )
        con.execute(
            "insert into beats select record, beat_index, beat_index * 300, beat_index * 0.8,"
            f" 0.8, 0.8, 'MLII', 'N', 'N' from ({history})"
        )
        con.execute(
            "insert into beat_scores by name select record, beat_index, 'm1' as model_version,"
            " beat_index * 300 as r_sample, beat_index * 0.8 as time_s, 1.0 as score,"
            " 1.0 as shape_z, 0.0 as timing_z, 0.01 as recon_error, 1.0 as relative_score,"
            " 10.0 as threshold, 'fixed' as threshold_rule, false as flagged, 'old' as run_id,"
            " date '2026-01-01' as run_date, now() as scored_at, 'k' as preprocess_key"
            f" from ({history})"
        )
        con.execute("checkpoint")
        built_s = time.perf_counter() - start
        print(f"history: {args.rows:,} rows in beats and in beat_scores ({built_s:.0f} s to build)")

        old_s = new_s = 0.0
        for name in names:
            table = beat_set.table.set_column(
                0, "record", pa.array([name] * beat_set.table.num_rows, pa.string())
            )
            beat_file = write_beat_set(replace(beat_set, record=name, table=table), work / "lake")
            n = table.num_rows
            scores = pa.Table.from_pydict(
                {
                    "record": [name] * n,
                    "beat_index": np.arange(n, dtype=np.int32),
                    "r_sample": np.arange(n, dtype=np.int64) * 300,
                    "time_s": np.arange(n) * 0.8,
                    "score": np.ones(n),
                    "shape_z": np.ones(n),
                    "timing_z": np.zeros(n),
                    "recon_error": np.full(n, 0.01),
                    "relative_score": np.ones(n),
                    "flagged": np.zeros(n, bool),
                    "rr_prev_s": np.full(n, 0.8, np.float32),
                    "rr_next_s": np.full(n, 0.8, np.float32),
                    "lead": ["MLII"] * n,
                    "ref_symbol": ["N"] * n,
                    "aami_class": ["N"] * n,
                },
                schema=score_schema(),
            )
            start = time.perf_counter()
            con.execute("delete from beats where record = ?", [name])
            con.execute(
                "delete from beat_scores where record = ? and model_version = 'm1'"
                " and preprocess_key is not distinct from ?",
                [name, cfg.key()],
            )
            old_s += time.perf_counter() - start
            start = time.perf_counter()
            writes.insert_beat_set(con, beat_file, cfg=cfg, run_id="tonight")
            writes.insert_record_scores(
                con,
                RecordScores(name, scores, threshold=10.0, mean_hr_bpm=72.0, top=()),
                model_version="m1",
                threshold_rule="fixed",
                run_id="tonight",
                run_date=date(2026, 11, 22),
            )
            new_s += time.perf_counter() - start

    start = time.perf_counter()
    publish_snapshot(work / "work.duckdb", work / "warehouse.duckdb")
    publish_s = time.perf_counter() - start
    size_mb = (work / "warehouse.duckdb").stat().st_size / 2**20
    shutil.rmtree(work)
    per = 1000 / args.records
    print(f"| {args.records} new records, ms per record | |\n|---|---:|")
    print(f"| registering the beat set and the scores (the writers) | {new_s * per:.1f} |")
    print(f"| the unconditional deletes alone (before) | {old_s * per:.1f} |")
    print(f"\npublishing the warehouse (a copy of {size_mb:,.0f} MB): {publish_s:.2f} s")


if __name__ == "__main__":
    main()
