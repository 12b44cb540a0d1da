"""Data Docs build time as validation results pile up, night after night.

    .venv/bin/python benchmarks/data_docs.py [--nights 300]

Validates one small annotation frame per "night" (one stored result each) and prints, at a
few history sizes, how long the pipeline's build takes (this run's results, the suites and
the index: ``SuiteRunner.build_data_docs``) beside a full rebuild of every stored result
(what the pipeline did before).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=300, help="results stored at the end")
    args = parser.parse_args()

    from beatwatch.settings import ValidationLimits
    from beatwatch.validation import SuiteRunner, annotation_frame, suite_parameters

    runner = SuiteRunner(Path(tempfile.mkdtemp(prefix="beatwatch-docs-")))
    params = suite_parameters(ValidationLimits())
    samples = np.arange(0, 100_000, 300)
    frame = annotation_frame("r", samples, np.full(samples.size, "N"), 100_000)
    marks = sorted({1, 10, 30, 100, args.nights} & set(range(1, args.nights + 1)))
    print("| results stored | this night's build, s | full rebuild, s |\n|---:|---:|---:|")
    for night in range(1, args.nights + 1):
        runner.validate("annotations", frame, params, run_name=f"night-{night}")
        if night not in marks:
            runner.build_data_docs()
            continue
        start = time.perf_counter()
        runner.build_data_docs()
        incremental = time.perf_counter() - start
        start = time.perf_counter()
        runner._context.build_data_docs()  # every stored result, as before
        full = time.perf_counter() - start
        print(f"| {night} | {incremental:.2f} | {full:.2f} |", flush=True)


if __name__ == "__main__":
    main()
