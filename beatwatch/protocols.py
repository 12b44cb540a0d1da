"""Published evaluation protocols for the beat autoencoder: load the data, train, score.

Pure functions (no Prefect, no DuckDB) returning a :class:`ProtocolResult`:

* :func:`beatgan`: MIT-BIH, the BeatGAN protocol (Zhou et al., IJCAI 2019): 44 non-paced
  records, lead MLII, a window 140 samples before to 180 after each *annotated* beat at
  360 Hz; normal = N, L, R; abnormal = A, a, J, S, V, E, F, Q; five seeded folds over the
  normal beats (train on 4/5, test on the other 1/5 plus every abnormal beat).
* :func:`interpatient`: MIT-BIH, de Chazal et al. (2004) DS1/DS2: train on the AAMI-N
  beats of DS1, test on every beat of DS2, with beats from our own R-peak detector
  (:func:`beatwatch.preprocess.preprocess_recording`); no patient is in both sets.
* :func:`ecg5000`: the TensorFlow tutorial's ECG5000 (``ecg.csv``): seeded 80/20 splits,
  train on the normal rows of the 80 %, test on the 20 %.

Labels are 1 for abnormal beats, scores are reconstruction errors (higher: more abnormal).
Preprocessing of MIT-BIH: the zero-phase 0.5-40 Hz band-pass of :mod:`beatwatch.denoise`
on the whole lead, then per-beat centring and division by the square root of the beat's
standard deviation (:func:`beatwatch.training.normalise_beats`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb
from torch import nn

from beatwatch import metrics, thresholds
from beatwatch.beat_matching import BEAT_SYMBOLS
from beatwatch.beats import BeatWindow, cut_beat_windows
from beatwatch.denoise import DenoiseConfig, denoise
from beatwatch.inference import reconstruct, reconstruction_errors
from beatwatch.preprocess import PreprocessConfig, choose_lead, preprocess_recording
from beatwatch.rhythm import RhythmContext, ScoreCalibration, anomaly_score, rhythm_context
from beatwatch.training import TrainConfig, TrainResult, train
from models import AutoencoderConfig, build_model
from models.factory import ModelKind

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
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


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _check_window(model_cfg: AutoencoderConfig, window_samples: int, protocol: str) -> None:
    if model_cfg.window_samples != window_samples:
        raise ValueError(
            f"AutoencoderConfig.window_samples must be {window_samples} for the {protocol} "
            f"protocol, got {model_cfg.window_samples}"
        )


def _score_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    f1, _ = metrics.best_f1(labels, scores)
    return {
        "roc_auc": metrics.roc_auc(labels, scores),
        "average_precision": metrics.average_precision(labels, scores),
        "best_f1": f1,
    }


def _examples(
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


def _fit(
    beats: np.ndarray, train_cfg: TrainConfig, model_cfg: AutoencoderConfig
) -> tuple[nn.Module, TrainResult]:
    model = build_model(model_cfg, seed=train_cfg.seed)
    return model, train(model, beats, train_cfg)


# --------------------------------------------------------------------------- BeatGAN


def load_beatgan_beats(
    mitdb_dir: Path, denoise_cfg: DenoiseConfig | None = BANDPASS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, RhythmContext]:
    """Windows around every annotated N/L/R and S/V/F/Q beat of the 44 non-paced records.

    Parameters
    ----------
    mitdb_dir
        Folder with MIT-BIH's ``RECORDS`` and the records' ``.hea``/``.dat``/``.atr``.
    denoise_cfg
        Filter applied to the whole MLII lead first; ``None``: the raw lead.

    Returns
    -------
    windows
        float32 (n_beats, 320), mV, 140 samples before to 180 after the annotation.
    symbols
        str (n_beats,) MIT-BIH beat symbol.
    records
        str (n_beats,) record name.
    context
        Timing features of each beat (:func:`rhythm_context`), from the RR intervals to the
        neighbouring annotated beats of any kind.
    """
    window = BeatWindow()
    wanted = BEATGAN_NORMAL | BEATGAN_ABNORMAL
    all_windows, all_symbols, all_records, early, pause = [], [], [], [], []
    names = [r for r in (mitdb_dir / "RECORDS").read_text().split() if r not in PACED_RECORDS]
    for name in names:
        record = wfdb.rdrecord(str(mitdb_dir / name))
        if "MLII" not in record.sig_name:
            raise ValueError(f"record {name} has no MLII lead ({record.sig_name})")
        lead = record.p_signal[:, record.sig_name.index("MLII")]
        if denoise_cfg is not None:
            lead = denoise(lead, record.fs, denoise_cfg)
        ann = wfdb.rdann(str(mitdb_dir / name), "atr")
        symbols = np.asarray(ann.symbol)
        is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
        beat_samples, beat_symbols = ann.sample[is_beat], symbols[is_beat]
        rr = np.diff(beat_samples) / record.fs
        rr_prev = np.concatenate([[np.nan], rr])
        rr_next = np.concatenate([rr, [np.nan]])
        keep = np.isin(beat_symbols, list(wanted))
        windows, kept = cut_beat_windows(lead, beat_samples[keep], window)
        context = rhythm_context(rr_prev[keep][kept], rr_next[keep][kept])
        all_windows.append(windows)
        all_symbols.append(beat_symbols[keep][kept])
        all_records.append(np.full(windows.shape[0], name))
        early.append(context.log_prematurity)
        pause.append(context.log_pause)
    return (
        np.concatenate(all_windows),
        np.concatenate(all_symbols),
        np.concatenate(all_records),
        RhythmContext(np.concatenate(early), np.concatenate(pause)),
    )


def beatgan(
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    folds: int = 5,
    progress: Progress | None = None,
) -> ProtocolResult:
    """The BeatGAN MIT-BIH protocol: k seeded folds over the normal beats.

    Fold ``i`` trains on the normal beats outside part ``i`` of a seeded permutation
    (``TrainConfig.seed``) of all normal beats (pooled over records, as published) and
    tests on part ``i`` plus every abnormal beat. Metrics per fold: ROC-AUC, average
    precision, best F1 (threshold chosen on the test set, as published), and the same AUC
    and AP on the per-record relative score (:func:`beatwatch.thresholds.relative_to_record`
    with the median over all the record's beats, label-free) and on the nightly score with
    RR context (``_with_rhythm``, :func:`beatwatch.rhythm.anomaly_score`; the published
    method scores shape alone, so ``roc_auc`` is the comparable figure).
    """
    defaults = default_configs("beatgan")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    _check_window(model_cfg, 320, "beatgan")
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    _say(progress, "beatgan: loading MIT-BIH")
    windows, symbols, records, context = load_beatgan_beats(data_dir / "mitdb")
    labels = (~np.isin(symbols, list(BEATGAN_NORMAL))).astype(np.int8)
    normal = np.flatnonzero(labels == 0)
    abnormal = np.flatnonzero(labels == 1)
    parts = np.array_split(np.random.default_rng(train_cfg.seed).permutation(normal), folds)

    results = []
    for i, held_out in enumerate(parts):
        train_index = np.concatenate([p for j, p in enumerate(parts) if j != i])
        test_index = np.concatenate([held_out, abnormal])
        model, training = _fit(windows[train_index], train_cfg, model_cfg)
        all_errors = reconstruction_errors(model, windows)
        relative = thresholds.relative_to_record(all_errors, records)
        y, s = labels[test_index], all_errors[test_index]
        fold_metrics = _score_metrics(y, s)
        fold_metrics["roc_auc_relative"] = metrics.roc_auc(y, relative[test_index])
        fold_metrics["average_precision_relative"] = metrics.average_precision(
            y, relative[test_index]
        )
        trained = train_index[training.train_index]
        calibration = ScoreCalibration.fit(all_errors[trained], context.subset(trained))
        combined = anomaly_score(all_errors, context, calibration).score[test_index]
        fold_metrics["roc_auc_with_rhythm"] = metrics.roc_auc(y, combined)
        fold_metrics["average_precision_with_rhythm"] = metrics.average_precision(y, combined)
        examples = _examples(model, windows[test_index], symbols[test_index], s) if i == 0 else ()
        results.append(
            FoldResult(fold_metrics, s, y, symbols[test_index], training, model, examples)
        )
        if i == 0:
            cut = thresholds.mean_k_std(all_errors[train_index[training.train_index]], k=3.0)
            train_records = sorted(set(records[train_index].tolist()))
        _say(
            progress,
            f"beatgan fold {i + 1}/{folds}: auc {fold_metrics['roc_auc']:.4f} "
            f"ap {fold_metrics['average_precision']:.4f} ({training.epochs_run} epochs, "
            f"{training.seconds:.0f} s)",
        )
    info = {
        "n_normal": int(normal.size),
        "n_abnormal": int(abnormal.size),
        "folds": folds,
        "threshold": cut,
        "threshold_rule": "mean+3std of fold 1 training errors",
        "training_records": train_records,
    }
    return ProtocolResult("beatgan", results, train_cfg, model_cfg, info)


# ---------------------------------------------------------------------- inter-patient


@dataclass(frozen=True)
class DetectedBeats:
    """Beats our detector finds in some MIT-BIH records, labelled by matching to the reference."""

    windows: np.ndarray
    """float32 (n_beats, n_samples), mV, from :func:`preprocess_recording`."""
    classes: np.ndarray
    """object (n_beats,): AAMI class ('N', 'S', 'V', 'F', 'Q'), ``None`` if unmatched."""
    records: np.ndarray
    """str (n_beats,)."""
    context: RhythmContext
    """Timing features of each beat within its record (:func:`rhythm_context`)."""


def load_detected_beats(
    mitdb_dir: Path, names: tuple[str, ...], cfg: PreprocessConfig | None = None
) -> DetectedBeats:
    """Run the nightly preprocessing on ``names`` and label the beats by the reference."""
    cfg = cfg or PreprocessConfig()
    windows, classes, records, early, pause = [], [], [], [], []
    for name in names:
        record = wfdb.rdrecord(str(mitdb_dir / name))
        index = choose_lead(tuple(record.sig_name), cfg.lead_preference)
        lead_mv = record.p_signal[:, index].astype(np.float32)
        ann = wfdb.rdann(str(mitdb_dir / name), "atr")
        reference = (ann.sample, np.asarray(ann.symbol))
        beat_set = preprocess_recording(
            name, lead_mv, record.sig_name[index], float(record.fs), reference, cfg
        )
        table = beat_set.table
        flat = table.column("window").combine_chunks().flatten().to_numpy()
        windows.append(flat.reshape(table.num_rows, cfg.window.n_samples))
        classes.append(np.array(table.column("aami_class").to_pylist(), dtype=object))
        records.append(np.full(table.num_rows, name))
        context = rhythm_context(
            table.column("rr_prev_s").to_numpy(zero_copy_only=False),
            table.column("rr_next_s").to_numpy(zero_copy_only=False),
        )
        early.append(context.log_prematurity)
        pause.append(context.log_pause)
    return DetectedBeats(
        np.concatenate(windows),
        np.concatenate(classes),
        np.concatenate(records),
        RhythmContext(np.concatenate(early), np.concatenate(pause)),
    )


def interpatient(
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    progress: Progress | None = None,
) -> ProtocolResult:
    """de Chazal DS1 -> DS2: train on DS1's N beats, test on every matched DS2 beat.

    Beats are scored as a night scores them: reconstruction error combined with RR context
    (:func:`beatwatch.rhythm.anomaly_score`, calibrated on the DS1 training normals).
    Metrics: ROC-AUC and AP of N vs S, V, F, Q on that score, on the reconstruction error
    alone (``_shape``) and on the per-record relative error (``_relative``); at two
    operating thresholds, mean + 3 std of the DS1 training scores (``_3std``) and the 99th
    percentile of the DS1 normals not trained on (``_p99``): sensitivity and PPV
    of all abnormal beats, of V beats among N + V beats and of S beats among N + S beats
    (a one-class detector flags "abnormal", so a class's PPV counts the N beats it flags).
    Unmatched detections have no label and are left out (counted in ``info``).
    """
    defaults = default_configs("interpatient")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    _check_window(model_cfg, 320, "interpatient")
    mitdb = data_dir / "mitdb"
    _say(progress, "interpatient: detecting beats in DS1 and DS2")
    ds1 = load_detected_beats(mitdb, DS1)
    ds2 = load_detected_beats(mitdb, DS2)
    test_windows, test_classes, test_records = ds2.windows, ds2.classes, ds2.records

    is_normal = ds1.classes == "N"
    normal_ds1 = ds1.windows[is_normal]
    model, training = _fit(normal_ds1, train_cfg, model_cfg)
    _say(progress, f"interpatient: trained {training.epochs_run} epochs, {training.seconds:.0f} s")
    ds1_errors = reconstruction_errors(model, normal_ds1)
    ds1_context = ds1.context.subset(is_normal)
    trained = training.train_index
    calibration = ScoreCalibration.fit(ds1_errors[trained], ds1_context.subset(trained))
    ds1_scores = anomaly_score(ds1_errors, ds1_context, calibration).score
    unseen = np.setdiff1d(np.arange(normal_ds1.shape[0]), trained)
    cut_3std = thresholds.mean_k_std(ds1_scores[trained], k=3.0)
    cut_p99 = thresholds.percentile_threshold(ds1_scores[unseen], q=99.0)

    all_errors = reconstruction_errors(model, test_windows)
    all_scores = anomaly_score(all_errors, ds2.context, calibration).score
    relative = thresholds.relative_to_record(all_errors, test_records)
    matched = np.array([c is not None for c in test_classes])
    classes = test_classes[matched].astype(str)
    errors = all_scores[matched]
    y = (classes != "N").astype(np.int8)
    fold_metrics = _score_metrics(y, errors)
    fold_metrics["roc_auc_shape"] = metrics.roc_auc(y, all_errors[matched])
    fold_metrics["average_precision_shape"] = metrics.average_precision(y, all_errors[matched])
    fold_metrics["roc_auc_relative"] = metrics.roc_auc(y, relative[matched])
    fold_metrics["average_precision_relative"] = metrics.average_precision(y, relative[matched])
    for suffix, cut in (("3std", cut_3std), ("p99", cut_p99)):
        flagged = errors >= cut
        for name, keep, positive in (
            ("abnormal", np.ones_like(flagged), classes != "N"),
            ("V", np.isin(classes, ["N", "V"]), classes == "V"),
            ("S", np.isin(classes, ["N", "S"]), classes == "S"),
        ):
            se, ppv = metrics.sensitivity_ppv(positive[keep], flagged[keep])
            fold_metrics[f"se_{name}_{suffix}"] = se
            fold_metrics[f"ppv_{name}_{suffix}"] = ppv
    for cls in ("S", "V", "F"):
        in_class = np.isin(classes, ["N", cls])
        fold_metrics[f"roc_auc_{cls}"] = metrics.roc_auc(classes[in_class] == cls, errors[in_class])
    info = {
        "n_train_normal": int(normal_ds1.shape[0]),
        "n_test": int(matched.sum()),
        "n_unmatched_test": int((~matched).sum()),
        "n_unmatched_train": int(sum(c is None for c in ds1.classes)),
        "test_classes": {c: int((classes == c).sum()) for c in ("N", "S", "V", "F", "Q")},
        "threshold_3std": cut_3std,
        "threshold_p99": cut_p99,
    }
    info |= {
        "threshold": cut_3std,
        "threshold_rule": "mean+3std of DS1 normal training scores",
        "score_calibration": calibration.to_dict(),
        "training_records": list(DS1),
    }
    examples = _examples(model, test_windows[matched], classes, all_errors[matched])
    result = FoldResult(fold_metrics, errors, y, classes, training, model, examples)
    return ProtocolResult("interpatient", [result], train_cfg, model_cfg, info)


# --------------------------------------------------------------------------- ECG5000


def load_ecg5000(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
    """``ecg5000_tf/ecg.csv``: (4998, 140) float32 beats and int8 labels, 1 = abnormal.

    The file's last column is 1 for a normal beat and 0 for an abnormal one; it is flipped
    here so abnormal is the positive class, as everywhere in this module.
    """
    table = np.loadtxt(data_dir / "ecg5000_tf" / "ecg.csv", delimiter=",", dtype=np.float64)
    return table[:, :-1].astype(np.float32), (table[:, -1] == 0).astype(np.int8)


def ecg5000(
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    folds: int = 5,
    progress: Progress | None = None,
) -> ProtocolResult:
    """Seeded 80/20 splits of ECG5000 (split ``i`` uses seed ``TrainConfig.seed + i``).

    Train on the normal rows of the 80 %, test on the 20 %. Metrics: ROC-AUC, AP, and
    accuracy, precision and recall (abnormal = positive) at mean + 1 std of the training
    errors (the TensorFlow tutorial's rule) and at the best-F1 threshold (chosen on the
    test split: an optimistic upper bound).
    """
    defaults = default_configs("ecg5000")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    _check_window(model_cfg, 140, "ecg5000")
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    beats, labels = load_ecg5000(data_dir)
    n_test = round(0.2 * labels.size)
    results = []
    for i in range(folds):
        order = np.random.default_rng(train_cfg.seed + i).permutation(labels.size)
        test_index, train_index = order[:n_test], order[n_test:]
        train_normal = beats[train_index[labels[train_index] == 0]]
        model, training = _fit(train_normal, train_cfg, model_cfg)
        cut_1std = thresholds.mean_k_std(reconstruction_errors(model, train_normal), k=1.0)
        y = labels[test_index]
        s = reconstruction_errors(model, beats[test_index])
        fold_metrics = _score_metrics(y, s)
        _, cut_f1 = metrics.best_f1(y, s)
        for suffix, cut in (("mean_1std", cut_1std), ("best_f1", cut_f1)):
            flagged = s >= cut
            recall, precision = metrics.sensitivity_ppv(y, flagged)
            fold_metrics[f"accuracy_{suffix}"] = metrics.accuracy(y, flagged)
            fold_metrics[f"precision_{suffix}"] = precision
            fold_metrics[f"recall_{suffix}"] = recall
        classes = np.where(y == 1, "abnormal", "N")
        examples = _examples(model, beats[test_index], classes, s) if i == 0 else ()
        results.append(FoldResult(fold_metrics, s, y, classes, training, model, examples))
        if i == 0:
            first_cut = cut_1std
        _say(
            progress,
            f"ecg5000 split {i + 1}/{folds}: auc {fold_metrics['roc_auc']:.4f} "
            f"acc {fold_metrics['accuracy_mean_1std']:.4f} ({training.seconds:.0f} s)",
        )
    info = {
        "n_rows": int(labels.size),
        "n_abnormal": int(labels.sum()),
        "splits": folds,
        "threshold": first_cut,
        "threshold_rule": "mean+1std of split 1 training errors",
        "training_records": ["ecg5000"],
    }
    return ProtocolResult("ecg5000", results, train_cfg, model_cfg, info)


def run_protocol(
    protocol: str,
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    folds: int | None = None,
    progress: Progress | None = None,
) -> ProtocolResult:
    """Run one of :data:`PROTOCOLS` by name (``folds`` is ignored by ``interpatient``)."""
    if protocol == "beatgan":
        return beatgan(train_cfg, model_cfg, data_dir=data_dir, folds=folds or 5, progress=progress)
    if protocol == "interpatient":
        return interpatient(train_cfg, model_cfg, data_dir=data_dir, progress=progress)
    if protocol == "ecg5000":
        return ecg5000(train_cfg, model_cfg, data_dir=data_dir, folds=folds or 5, progress=progress)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
