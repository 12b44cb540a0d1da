"""The scoring model's speed on one thread: eager, frozen, frozen with split phases.

    .venv/bin/python benchmarks/model.py [--rounds 5] [--profile] [--malloc-defaults]

Builds the default autoencoder (the nightly settings' architecture, 320-sample windows;
weights do not change the speed) and times forward passes of 256 beats, as the night
scores them, on one torch thread, microseconds per beat: the eager module, the frozen graph
with its transposed convolutions as they are, and the frozen graph the night scores with
(``InferenceModel``: transposed convolutions rewritten by ``split_phases``). The variants
take turns, ``--rounds`` times, so the machine's drift falls on all of them alike; the
median of each is printed. ``--profile`` adds torch's operator profile of both frozen graphs.

Like the night's flows, it first has malloc keep freed memory for reuse
(:func:`beatwatch.heap.keep_freed_memory`); ``--malloc-defaults`` leaves glibc's defaults,
under which each pass can fault its activations in afresh, page by page.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

BATCH = 256  # beats a pass: as the night scores (reconstruction_errors' default)
PASSES = 20  # forward passes per timing


def us_per_beat(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Microseconds per beat of ``forward`` on ``x``, after 3 passes of warming up."""
    with torch.inference_mode():
        for _ in range(3):
            forward(x)
        start = time.perf_counter()
        for _ in range(PASSES):
            forward(x)
    return (time.perf_counter() - start) / PASSES / x.shape[0] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="turns each variant takes")
    parser.add_argument("--profile", action="store_true", help="print torch's operator profile")
    parser.add_argument(
        "--malloc-defaults", action="store_true", help="do not keep freed memory (as the flows do)"
    )
    args = parser.parse_args()

    from beatwatch.heap import keep_freed_memory

    kept = False if args.malloc_defaults else keep_freed_memory()

    from beatwatch.inference import InferenceModel
    from beatwatch.retrain import train_configs
    from beatwatch.settings import TrainingSettings
    from models import build_model

    torch.set_num_threads(1)
    _, cfg = train_configs(TrainingSettings(), 320)
    model = build_model(cfg, seed=0).eval()
    variants = {
        "eager module": model.reconstruct,
        "frozen, transposed convolutions as they are": InferenceModel(model, 320, split=False),
        "frozen, split phases (what the night uses)": InferenceModel(model, 320),
    }
    x = torch.randn(BATCH, 1, 320)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, forward in variants.items():
            times[name].append(us_per_beat(forward, x))
    malloc = "freed memory kept" if kept else "malloc's defaults"
    print(
        f"| one torch thread, batches of {BATCH} beats, {malloc} (median of {args.rounds})"
        " | us a beat |"
    )
    print("|---|---:|")
    for name, values in times.items():
        print(f"| {name} | {np.median(values):.1f} |")

    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        for name, forward in list(variants.items())[1:]:
            with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(10):
                    forward(x)
            print(f"\n{name}:\n")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


if __name__ == "__main__":
    main()
