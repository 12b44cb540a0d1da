"""The night, measured: stages, the wfdb floor, scaling to 8x MIT-BIH and a 24-hour Holter.

    .venv/bin/python benchmarks/night.py [--copies 1,2,4,8] [--no-holter] [--repeat 3] [--mitdb DIR]

Prints Markdown tables:

1. the nightly flow over the 48 MIT-BIH records (ingest, validate, preprocess, score,
   report, publish; no training: a champion is registered before the night, and GX's
   project set up with its Data Docs, as earlier nights of an installation leave them),
   wall time per stage and in all, beats per second, peak RSS; beside it the wfdb floor
   (only reading the same records and annotations), measured in the same run, and the
   ratio. The night runs ``--repeat`` times (timings here vary by about 10 % from run to
   run): the median shows;
2. scaling: 1, 2, 4 and 8 copies of the set (each copy's signals differ by one sample, so
   they are new recordings, not duplicates) and one 24-hour recording made by joining
   MIT-BIH records (31 M samples per lead): time, time per recording, the marginal time
   per recording (what each added over the size before: the night's fixed costs cancel
   out), peak RSS; and how much more a recording costs at the smallest size than at the
   largest. Nights shorter than ``SHORT_NIGHT_S`` (1 and 2 copies) run ``--repeat``
   times and the median shows: one such night samples a moment of this machine's drift
   (+-10 %), where a night of 4 or 8 copies lasts long enough to average over it;
3. one retrain on the DS1 normal beats (the inter-patient training set).

Every night runs in a child process of its own (its peak RSS is the child's ``VmHWM``).
A night's time is its flow body: all of ``flows.nightly.run_night`` (the stages, and the
few things between them: opening and closing the night's rows, the check for an
interrupted run); Prefect's start-up and shut-down in each child are reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="beatwatch-bench-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MITDB = REPO.parent / "shared" / "data" / "mitdb"
STAGES = ("scan", "ingest", "validate", "preprocess", "train", "score", "report", "publish")
SHORT_NIGHT_S = 20.0
"""Scaling nights shorter than this (seconds) are repeated; the median shows."""
STAGE_LABELS = {
    "preprocess": "preprocess + score (the champion scores each record's beats as derived)",
    "train": "train (no training: loads and freezes the champion)",
    "score": "score (what preprocess did not score: nothing here)",
}


# --------------------------------------------------------------------------- inboxes


def read_floor_s(mitdb: Path, names: list[str]) -> float:
    """Seconds to only read every record and its annotations with wfdb."""
    import wfdb

    start = time.perf_counter()
    for name in names:
        wfdb.rdrecord(str(mitdb / name))
        wfdb.rdann(str(mitdb / name), "atr")
    return time.perf_counter() - start


def copy_sets(mitdb: Path, inbox: Path, copies: int) -> None:
    """``copies`` copies of MIT-BIH as new recordings ``k<copy>_<name>``: each copy's last
    sample of the first lead is raised by ``copy`` ADC units (written with wfdb, so the
    header checksums stay right), so the samples differ from every other copy and the copies
    are new recordings, not duplicates."""
    import wfdb

    for name in (mitdb / "RECORDS").read_text().split():
        record = wfdb.rdrecord(str(mitdb / name), physical=False)
        for copy in range(1, copies + 1):
            digital = record.d_signal.copy()
            digital[-1, 0] += copy
            new = f"k{copy}_{name}"
            wfdb.wrsamp(
                new, fs=record.fs, units=record.units, sig_name=record.sig_name,
                d_signal=digital, fmt=record.fmt, adc_gain=record.adc_gain,
                baseline=record.baseline, comments=record.comments, write_dir=str(inbox),
            )  # fmt: skip
            shutil.copyfile(mitdb / f"{name}.atr", inbox / f"{new}.atr")


def holter_24h(mitdb: Path, inbox: Path) -> int:
    """One 24-hour, single-lead (MLII) recording joined from MIT-BIH records, with their
    annotations shifted to match; returns its samples per lead."""
    import wfdb

    names = [n for n in (mitdb / "RECORDS").read_text().split()]
    target = 24 * 3600 * 360
    pieces, samples, symbols, offset = [], [], [], 0
    i = 0
    while offset < target:
        name = names[i % len(names)]
        i += 1
        record = wfdb.rdrecord(str(mitdb / name))
        if "MLII" not in record.sig_name:
            continue
        lead = record.p_signal[:, record.sig_name.index("MLII")]
        ann = wfdb.rdann(str(mitdb / name), "atr")
        pieces.append(lead)
        samples.append(ann.sample + offset)
        symbols += ann.symbol
        offset += lead.size
    signal = np.concatenate(pieces)[:target, None]
    keep = np.concatenate(samples) < target
    wfdb.wrsamp(
        "holter24", fs=360, units=["mV"], sig_name=["MLII"], p_signal=signal, fmt=["212"],
        adc_gain=[200.0], baseline=[1024], write_dir=str(inbox),
    )  # fmt: skip
    wfdb.wrann(
        "holter24", "atr", np.concatenate(samples)[keep], list(np.asarray(symbols)[keep]),
        fs=360, write_dir=str(inbox),
    )  # fmt: skip
    return int(signal.shape[0])


# --------------------------------------------------------------------------- one night


def seed_champion(data: Path, model_file: Path) -> None:
    """A fresh data folder as an installation's earlier nights leave it: a trained model
    registered as champion (training excluded), Great Expectations' project set up and its
    Data Docs built (the suites' pages)."""
    import duckdb

    from beatwatch.registry import ModelVersion, register
    from beatwatch.validation import SuiteRunner
    from warehouse import apply_schema

    # not the flow's cached runner: the night loads the stored project
    SuiteRunner(data).build_data_docs()

    meta = json.loads(model_file.with_suffix(".json").read_text())
    models = data / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, models / model_file.name)
    meta["file_path"] = str(models / model_file.name)
    (data / "state").mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(data / "state" / "beatwatch.duckdb")) as con:
        apply_schema(con)
        register(con, ModelVersion(**meta))


def one_night(data: Path, inbox: Path, model_file: Path, out: Path) -> None:
    """Child mode: run one night and write its figures as JSON."""
    start = time.perf_counter()
    from flows.nightly import nightly_flow  # and every module it needs: Prefect, torch, GX

    imports_s = time.perf_counter() - start
    seed_champion(data, model_file)
    stage_cpu = count_stage_cpu()
    body = time_flow_body()
    start = time.perf_counter()
    summary = nightly_flow(data_dir=data, inbox=inbox)
    wall = time.perf_counter() - start
    figures = {
        "stages": {s: summary.stage_s.get(s, 0.0) for s in STAGES},
        "stage_cpu": {s: stage_cpu.get(s, 0.0) for s in STAGES},
        "flow_s": body["wall_s"],
        "flow_cpu": body["cpu_s"],
        "wall_s": wall,
        "imports_s": imports_s,
        "records": len(summary.new),
        "beats": summary.scoring.beats_scored,
        "quarantined": len(summary.quarantined),
        "failed": len(summary.failed) + len(summary.preprocess_failed),
        "peak_rss_mb": peak_rss_mb(),
    }
    out.write_text(json.dumps(figures))


def time_flow_body() -> dict[str, float]:
    """Wall and CPU seconds of the nights run from now on, each filled in when it ends: all
    of ``flows.nightly.run_night``, the flow's body. Its stages' timers leave out opening
    and closing the night's rows and the check for an interrupted run, which are the night's
    work too, not Prefect's start-up."""
    import flows.nightly

    timed: dict[str, float] = {}
    run_night = flows.nightly.run_night

    def timed_run_night(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return run_night(*args, **kwargs)
        finally:
            timed["wall_s"] = time.perf_counter() - wall
            timed["cpu_s"] = time.process_time() - cpu

    flows.nightly.run_night = timed_run_night  # the flow looks it up when it runs
    return timed


def count_stage_cpu() -> dict[str, float]:
    """CPU seconds (this process, every thread) per stage of the nights run from now on:
    wraps ``StageTimer``, which times the flow's stages, to read the CPU clock too."""
    from beatwatch.summary import StageTimer

    cpu: dict[str, float] = {}
    timed = StageTimer.__call__

    @contextmanager
    def timed_with_cpu(self: StageTimer, stage: str) -> Iterator[None]:
        start = time.process_time()
        try:
            with timed(self, stage):
                yield
        finally:
            cpu[stage] = cpu.get(stage, 0.0) + time.process_time() - start

    StageTimer.__call__ = timed_with_cpu  # type: ignore[method-assign]
    return cpu


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB: ``VmHWM``, which starts afresh at exec.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries it across fork and exec, so a child
    reports at least its parent's size when it was forked (this script's parent holds the
    DS1 model and, before the 24-hour night, the 24-hour signal).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_night(inbox: Path, model_file: Path, label: str) -> dict:
    data = Path(tempfile.mkdtemp(prefix=f"beatwatch-bench-{label}-"))
    out = data.with_suffix(".json")
    child = [sys.executable, __file__, "--child", str(data), str(inbox), str(model_file), str(out)]
    subprocess.run(child, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures = json.loads(out.read_text())
    shutil.rmtree(data, ignore_errors=True)
    print(f"  {label}: {figures['records']} recordings, {figures['flow_s']:.1f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    return figures


def median_night(runs: list[dict]) -> dict:
    """The median of repeated nights, by flow body (the upper one of an even number), with
    every run's flow body in ``runs``."""
    ordered = sorted(runs, key=lambda n: n["flow_s"])
    return {**ordered[len(ordered) // 2], "runs": [n["flow_s"] for n in runs]}


# --------------------------------------------------------------------------- training


def train_ds1(mitdb: Path, work: Path) -> tuple[Path, float, int]:
    """Train the default model on DS1's normal beats (our detector's beats); save it with its
    registry row; returns (model file, training seconds, training beats)."""
    from dataclasses import asdict

    from beatwatch.protocols import DS1, load_detected_beats
    from beatwatch.registry import ModelVersion, save_model
    from beatwatch.retrain import train_configs
    from beatwatch.scoring import TrainingSet, describe_rule, fit_scoring_model
    from beatwatch.settings import TrainingSettings

    ds1 = load_detected_beats(mitdb, DS1)
    normal = ds1.classes == "N"
    training_set = TrainingSet(ds1.windows[normal], ds1.context.subset(normal), {}, {})
    settings = TrainingSettings()
    train_cfg, model_cfg = train_configs(settings, training_set.windows.shape[1])
    start = time.perf_counter()
    fitted = fit_scoring_model(
        training_set, train_cfg, model_cfg, rule=settings.threshold_rule,
        value=settings.threshold_value, version="bench-ds1",
    )  # fmt: skip
    seconds = time.perf_counter() - start
    path, sha = save_model(fitted.network, model_cfg, work, "bench-ds1")
    meta = ModelVersion(
        version="bench-ds1", kind=model_cfg.kind, purpose="scoring", status="challenger",
        training_records=DS1, training_beats=fitted.training.n_train,
        config=fitted.scoring.config_json(train_cfg), threshold=fitted.scoring.threshold,
        threshold_rule=describe_rule(settings.threshold_rule, settings.threshold_value),
        file_path=str(path), file_sha256=sha,
    )  # fmt: skip
    row = asdict(meta) | {"created_at": None}
    row.pop("created_at")
    path.with_suffix(".json").write_text(json.dumps(row, default=list))
    return path, seconds, fitted.training.n_train


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", type=Path, default=DEFAULT_MITDB)
    parser.add_argument("--copies", default="1,2,4,8", help="copies of MIT-BIH to scale over")
    parser.add_argument("--no-holter", action="store_true", help="skip the 24-hour recording")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="MIT-BIH nights, and scaling nights under SHORT_NIGHT_S; medians shown",
    )
    parser.add_argument("--model", type=Path, help="reuse a model saved by --keep-model")
    parser.add_argument("--keep-model", type=Path, help="save the DS1 model (and its row) here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        data, inbox, model_file, out = map(Path, args.child)
        one_night(data, inbox, model_file, out)
        return
    if not (args.mitdb / "RECORDS").is_file():
        raise SystemExit(f"MIT-BIH not found at {args.mitdb} (pass --mitdb DIR)")
    import torch

    work = Path(tempfile.mkdtemp(prefix="beatwatch-bench-"))
    names = (args.mitdb / "RECORDS").read_text().split()
    if args.model:
        model_file, train_s, train_beats = args.model, None, None
    else:
        print(f"training on DS1 normal beats ({torch.get_num_threads()} threads)", file=sys.stderr)
        model_file, train_s, train_beats = train_ds1(args.mitdb, work)
        if args.keep_model:
            args.keep_model.mkdir(parents=True, exist_ok=True)
            for suffix in (".pt", ".json"):
                shutil.copyfile(
                    model_file.with_suffix(suffix), args.keep_model / f"bench-ds1{suffix}"
                )

    floors, nights = [], []
    for _ in range(args.repeat):  # this machine's timings vary by +-10 % from run to run
        floors.append(read_floor_s(args.mitdb, names))
        nights.append(run_night(args.mitdb, model_file, "mitdb"))
    night = median_night(nights)
    floor = float(np.median(floors))
    flow_s = night["flow_s"]
    print(f"## The 48 MIT-BIH records, one night (no training; median of {args.repeat})\n")
    print("| stage | seconds | CPU seconds, all threads | cores busy |\n|---|---:|---:|---:|")
    for stage in STAGES:
        label = STAGE_LABELS.get(stage, stage)
        wall, cpu = night["stages"][stage], night["stage_cpu"][stage]
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {cpu / max(wall, 1e-9):.1f} |")
    staged_s = sum(night["stages"].values())
    staged_cpu = sum(night["stage_cpu"].values())
    other_cpu = night["flow_cpu"] - staged_cpu
    print(f"| outside the stages: opening and closing the night's rows, the check for an"
          f" interrupted run | {flow_s - staged_s:.1f} | {other_cpu:.1f} |"
          f" {other_cpu / max(flow_s - staged_s, 1e-9):.1f} |")  # fmt: skip
    all_flows = ", ".join(f"{n['flow_s']:.1f}" for n in nights)
    cpu_s = night["flow_cpu"]
    print(f"| **flow body** (all runs: {all_flows}) | **{flow_s:.1f}** | {cpu_s:.1f} |"
          f" {cpu_s / flow_s:.1f} |")  # fmt: skip
    print(f"| Prefect start-up and shut-down | {night['wall_s'] - flow_s:.1f} |")
    print(f"| before the run: importing the flow's modules (Prefect, torch, GX, ...) |"
          f" {night['imports_s']:.1f} |")  # fmt: skip
    all_floors = ", ".join(f"{f:.2f}" for f in floors)
    print(f"| wfdb read floor (rdrecord + rdann, same records; median of {all_floors}) |"
          f" {floor:.2f} |")  # fmt: skip
    print(f"| **ratio flow / floor** | **{flow_s / floor:.1f}x** |")
    print(f"\n{night['beats']} beats scored: **{night['beats'] / flow_s:,.0f} beats/s** end to end;"
          f" peak RSS {night['peak_rss_mb']:,.0f} MB. (CPU: the night's process; the Prefect"
          " server runs in a process of its own.)\n")  # fmt: skip

    rows: list[tuple[str, dict, float | None]] = []  # label, figures, marginal s a recording
    scaled: list[dict] = []  # the copies nights, smallest first
    for copies in [int(c) for c in args.copies.split(",") if c]:
        inbox = work / f"inbox-{copies}"
        inbox.mkdir()
        copy_sets(args.mitdb, inbox, copies)
        runs = [run_night(inbox, model_file, f"x{copies}")]
        while len(runs) < args.repeat and runs[0]["flow_s"] < SHORT_NIGHT_S:
            runs.append(run_night(inbox, model_file, f"x{copies}"))
        figures = median_night(runs)
        marginal = None
        if scaled and figures["records"] > scaled[-1]["records"]:  # over the size before
            added = figures["records"] - scaled[-1]["records"]
            marginal = (figures["flow_s"] - scaled[-1]["flow_s"]) / added
        rows.append((f"{copies} x MIT-BIH", figures, marginal))
        scaled.append(figures)
        shutil.rmtree(inbox)
    if not args.no_holter:
        inbox = work / "inbox-holter"
        inbox.mkdir()
        n = holter_24h(args.mitdb, inbox)
        figures = median_night([run_night(inbox, model_file, "holter")])
        rows.append((f"24-hour recording ({n / 1e6:.1f} M samples)", figures, None))
        shutil.rmtree(inbox)
    print("## Scaling\n")
    print("Marginal: the seconds each recording added over the row above (the night's fixed")
    print("costs, such as the report's figures and Data Docs, cancel out).\n")
    print("| input | recordings | beats | flow s | s per recording | marginal s per recording"
          " | beats/s | peak RSS MB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, f, marginal in rows:
        flow = f["flow_s"]
        per = flow / max(f["records"], 1)
        added = "–" if marginal is None else f"{marginal:.2f}"
        if len(f["runs"]) > 1:
            label += f" (median of {', '.join(f'{s:.1f}' for s in f['runs'])} s)"
        print(f"| {label} | {f['records']} | {f['beats']:,} | {flow:.1f} | {per:.2f} |"
              f" {added} | {f['beats'] / flow:,.0f} | {f['peak_rss_mb']:,.0f} |")  # fmt: skip
    if len(scaled) > 1:
        small, large = scaled[0], scaled[-1]
        above = (small["flow_s"] / small["records"]) / (large["flow_s"] / large["records"]) - 1
        side = "above" if above >= 0 else "below"
        print(f"\nTime per recording at {small['records']} recordings is **{100 * abs(above):.0f} %"
              f" {side}** that at {large['records']} (target: within 20 %).")  # fmt: skip
    if train_s is not None:  # not with --model
        print("\n## Training\n")
        print(
            f"One retrain on the DS1 normal beats ({train_beats:,} beats trained on, default"
            f" settings): **{train_s:.0f} s** on {torch.get_num_threads()} threads."
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
