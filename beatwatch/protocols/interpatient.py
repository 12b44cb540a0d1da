"""MIT-BIH inter-patient (de Chazal et al. 2004): train on the normal beats of DS1, test
on every beat of DS2, with beats from our own R-peak detector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from beatwatch import metrics, thresholds
from beatwatch.inference import reconstruction_errors
from beatwatch.preprocess import PreprocessConfig, choose_lead, preprocess_recording
from beatwatch.protocols import common
from beatwatch.rhythm import RhythmContext, ScoreCalibration, anomaly_score, rhythm_context
from beatwatch.training import TrainConfig
from models import AutoencoderConfig


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
    windows, classes, records, contexts = [], [], [], []
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
        contexts.append(context)
    return DetectedBeats(
        np.concatenate(windows),
        np.concatenate(classes),
        np.concatenate(records),
        RhythmContext.concat(contexts),
    )


def interpatient(
    train_cfg: TrainConfig | None = None,
    model_cfg: AutoencoderConfig | None = None,
    *,
    data_dir: Path = common.DEFAULT_DATA_DIR,
    progress: common.Progress | None = None,
) -> common.ProtocolResult:
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
    defaults = common.default_configs("interpatient")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    common.check_window(model_cfg, 320, "interpatient")
    mitdb = data_dir / "mitdb"
    common.tell(progress, "interpatient: detecting beats in DS1 and DS2")
    ds1 = load_detected_beats(mitdb, common.DS1)
    ds2 = load_detected_beats(mitdb, common.DS2)
    test_windows, test_classes, test_records = ds2.windows, ds2.classes, ds2.records

    is_normal = ds1.classes == "N"
    normal_ds1 = ds1.windows[is_normal]
    model, training = common.fit_autoencoder(normal_ds1, train_cfg, model_cfg)
    common.tell(
        progress, f"interpatient: trained {training.epochs_run} epochs, {training.seconds:.0f} s"
    )
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
    fold_metrics = common.score_metrics(y, errors)
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
        "training_records": list(common.DS1),
    }
    examples = common.example_beats(model, test_windows[matched], classes, all_errors[matched])
    result = common.FoldResult(fold_metrics, errors, y, classes, training, model, examples)
    return common.ProtocolResult("interpatient", [result], train_cfg, model_cfg, info)
