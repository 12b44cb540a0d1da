"""Anomaly-detection quality of the beat autoencoder under the published protocols.

    .venv/bin/python benchmarks/evaluate.py --protocol beatgan|interpatient|ecg5000|all
        [--model conv_ae|vae] [--epochs N] [--folds N] [--seed N] [--threads N]
        [--max-train-beats N] [--data-dir DIR]

Prints a Markdown table: protocol, metric, ours (mean ± std over folds), the published
reference, our target, training seconds (summed over folds). Protocols, references and
targets are defined in :mod:`beatwatch.protocols`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from beatwatch.protocols import (
    DEFAULT_DATA_DIR,
    PROTOCOLS,
    REFERENCES,
    TARGETS,
    ProtocolResult,
    default_configs,
    run_protocol,
)

HEADLINE: dict[str, tuple[str, ...]] = {
    "beatgan": (
        "roc_auc",
        "average_precision",
        "best_f1",
        "roc_auc_relative",
        "average_precision_relative",
        "roc_auc_with_rhythm",
        "average_precision_with_rhythm",
    ),
    "interpatient": (
        "roc_auc",
        "average_precision",
        "roc_auc_shape",
        "average_precision_shape",
        "roc_auc_relative",
        "roc_auc_S",
        "roc_auc_V",
        "roc_auc_F",
        "se_abnormal_3std",
        "ppv_abnormal_3std",
        "se_V_3std",
        "ppv_V_3std",
        "se_S_3std",
        "ppv_S_3std",
        "se_abnormal_p99",
        "ppv_abnormal_p99",
        "se_V_p99",
        "ppv_V_p99",
        "se_S_p99",
        "ppv_S_p99",
    ),
    "ecg5000": (
        "roc_auc",
        "average_precision",
        "accuracy_mean_1std",
        "precision_mean_1std",
        "recall_mean_1std",
        "accuracy_best_f1",
        "precision_best_f1",
        "recall_best_f1",
    ),
}
"""Metrics shown per protocol, in order."""


def markdown_rows(result: ProtocolResult) -> list[str]:
    """One Markdown table row per headline metric of ``result``."""
    summary = result.summary()
    references = REFERENCES.get(result.protocol, {})
    targets = TARGETS.get(result.protocol, {})
    rows = []
    for i, name in enumerate(HEADLINE[result.protocol]):
        if name not in summary:
            continue
        mean, std = summary[name]
        ours = f"{mean:.4f} ± {std:.4f}" if len(result.folds) > 1 else f"{mean:.4f}"
        reference = (
            f"{references[name][0]:.4f} ({references[name][1]})" if name in references else ""
        )
        target = f">= {targets[name]:.2f}" if name in targets else ""
        seconds = f"{result.train_seconds:.0f}" if i == 0 else ""
        rows.append(f"| {result.protocol} | {name} | {ours} | {reference} | {target} | {seconds} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", choices=[*PROTOCOLS, "all"], default="all")
    parser.add_argument("--model", choices=["conv_ae", "vae"], default="conv_ae")
    parser.add_argument("--epochs", type=int, help="largest number of epochs (default: tuned)")
    parser.add_argument("--folds", type=int, help="folds (beatgan) / seeded splits (ecg5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train-beats", type=int, help="cap on training beats per fold")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (1-2; default 1)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if not 1 <= args.threads <= 2:
        parser.error("--threads must be 1 or 2 (a shared 2-core machine)")
    torch.set_num_threads(args.threads)

    chosen = PROTOCOLS if args.protocol == "all" else (args.protocol,)
    lines = [
        "| protocol | metric | ours (mean ± std) | published reference | target | train s |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    start = time.perf_counter()
    for protocol in chosen:
        train_cfg, model_cfg = default_configs(protocol, args.model)
        changes: dict[str, object] = {"seed": args.seed}
        if args.epochs is not None:
            changes["epochs"] = args.epochs
        if args.max_train_beats is not None:
            changes["max_train_beats"] = args.max_train_beats
        train_cfg = dataclasses.replace(train_cfg, **changes)  # type: ignore[arg-type]

        def progress(message: str) -> None:
            if not args.quiet:
                print(message, file=sys.stderr, flush=True)

        result = run_protocol(
            protocol,
            train_cfg,
            model_cfg,
            data_dir=args.data_dir,
            folds=args.folds,
            progress=progress,
        )
        lines += markdown_rows(result)
        epochs = [fold.training.epochs_run for fold in result.folds]
        info = {k: v for k, v in result.info.items() if k != "training_records"}
        notes.append(f"- {protocol}: {info}; epochs run per fold {epochs}")
        notes.append(f"  - {result.model_config}")
        notes.append(f"  - {result.train_config}")
    print("\n".join(lines))
    print()
    print("\n".join(notes))
    print(f"\nwall clock {time.perf_counter() - start:.0f} s, {args.threads} torch thread(s)")


if __name__ == "__main__":
    main()
