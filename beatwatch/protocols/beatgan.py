"""MIT-BIH under the BeatGAN protocol (Zhou et al., IJCAI 2019): annotated beats of the 44
non-paced records, five seeded folds over the normal beats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from beatwatch import metrics, thresholds
from beatwatch.beat_matching import BEAT_SYMBOLS
from beatwatch.beats import BeatWindow, cut_beat_windows
from beatwatch.denoise import DenoiseConfig, denoise
from beatwatch.inference import reconstruction_errors
from beatwatch.protocols import common
from beatwatch.rhythm import RhythmContext, ScoreCalibration, anomaly_score, rhythm_context
from beatwatch.training import TrainConfig
from models import AutoencoderConfig


def load_beatgan_beats(
    mitdb_dir: Path, denoise_cfg: DenoiseConfig | None = common.BANDPASS
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
    wanted = common.BEATGAN_NORMAL | common.BEATGAN_ABNORMAL
    all_windows, all_symbols, all_records, contexts = [], [], [], []
    names = [
        r for r in (mitdb_dir / "RECORDS").read_text().split() if r not in common.PACED_RECORDS
    ]
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
        contexts.append(context)
    return (
        np.concatenate(all_windows),
        np.concatenate(all_symbols),
        np.concatenate(all_records),
        RhythmContext.concat(contexts),
    )


def beatgan(
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = common.DEFAULT_DATA_DIR,
    folds: int = 5,
    progress: common.Progress | None = None,
) -> common.ProtocolResult:
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
    defaults = common.default_configs("beatgan")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    common.check_window(model_cfg, 320, "beatgan")
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    common.tell(progress, "beatgan: loading MIT-BIH")
    windows, symbols, records, context = load_beatgan_beats(data_dir / "mitdb")
    labels = (~np.isin(symbols, list(common.BEATGAN_NORMAL))).astype(np.int8)
    normal = np.flatnonzero(labels == 0)
    abnormal = np.flatnonzero(labels == 1)
    parts = np.array_split(np.random.default_rng(train_cfg.seed).permutation(normal), folds)

    results = []
    for i, held_out in enumerate(parts):
        train_index = np.concatenate([p for j, p in enumerate(parts) if j != i])
        test_index = np.concatenate([held_out, abnormal])
        model, training = common.fit_autoencoder(windows[train_index], train_cfg, model_cfg)
        all_errors = reconstruction_errors(model, windows)
        relative = thresholds.relative_to_record(all_errors, records)
        y, s = labels[test_index], all_errors[test_index]
        fold_metrics = common.score_metrics(y, s)
        fold_metrics["roc_auc_relative"] = metrics.roc_auc(y, relative[test_index])
        fold_metrics["average_precision_relative"] = metrics.average_precision(
            y, relative[test_index]
        )
        trained = train_index[training.train_index]
        calibration = ScoreCalibration.fit(all_errors[trained], context.subset(trained))
        combined = anomaly_score(all_errors, context, calibration).score[test_index]
        fold_metrics["roc_auc_with_rhythm"] = metrics.roc_auc(y, combined)
        fold_metrics["average_precision_with_rhythm"] = metrics.average_precision(y, combined)
        examples = (
            common.example_beats(model, windows[test_index], symbols[test_index], s)
            if i == 0
            else ()
        )
        results.append(
            common.FoldResult(fold_metrics, s, y, symbols[test_index], training, model, examples)
        )
        if i == 0:
            cut = thresholds.mean_k_std(all_errors[train_index[training.train_index]], k=3.0)
            train_records = sorted(set(records[train_index].tolist()))
        common.tell(
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
    return common.ProtocolResult("beatgan", results, train_cfg, model_cfg, info)
