"""Ingest + validation time for the 48 MIT-BIH records, with the wfdb read floor beside it.

    .venv/bin/python benchmarks/ingest.py [--mitdb DIR] [--keep DIR]

Prints a Markdown table. Runs the real ingest flow (Prefect, temporary local API) into a
fresh data folder; Prefect's fixed start-up is reported separately from the flow's stages.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="beatwatch-bench-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DEFAULT_MITDB = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitdb"


def read_floor_s(mitdb: Path) -> float:
    """Seconds to only read every record and its annotations with wfdb."""
    import wfdb

    start = time.perf_counter()
    for name in (mitdb / "RECORDS").read_text().split():
        wfdb.rdrecord(str(mitdb / name))
        wfdb.rdann(str(mitdb / name), "atr")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", type=Path, default=DEFAULT_MITDB)
    parser.add_argument("--keep", type=Path, help="data folder to keep (default: a temp dir)")
    args = parser.parse_args()
    if not (args.mitdb / "RECORDS").is_file():
        raise SystemExit(f"MIT-BIH not found at {args.mitdb} (pass --mitdb DIR)")

    floor = read_floor_s(args.mitdb)
    data = args.keep or Path(tempfile.mkdtemp(prefix="beatwatch-bench-"))
    from flows.ingest import ingest_flow

    start = time.perf_counter()
    first = ingest_flow(data_dir=data, inbox=args.mitdb)
    first_wall = time.perf_counter() - start
    start = time.perf_counter()
    ingest_flow(data_dir=data, inbox=args.mitdb)
    second_wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stages = first.stage_s
    in_flow = sum(stages.values())
    n = len(first.new)
    print()
    print(f"| MIT-BIH, {n} records, {n * 650_000 * 2 / 1e6:.1f} M samples | seconds |")
    print("|---|---:|")
    print(f"| wfdb read floor (rdrecord + rdann, no writes) | {floor:.1f} |")
    for stage, seconds in stages.items():
        print(f"| stage: {stage} | {seconds:.1f} |")
    print(f"| ingest + validate, all stages (flow body) | {in_flow:.1f} |")
    print(f"| whole command incl. Prefect start-up | {first_wall:.1f} |")
    print(f"| second run (nothing new) incl. start-up | {second_wall:.1f} |")
    print()
    print(
        f"records/s (flow body): {n / in_flow:.1f}; flow body / read floor: {in_flow / floor:.1f}x;"
        f" peak RSS {peak_mb:.0f} MB"
    )
    if args.keep is None:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
