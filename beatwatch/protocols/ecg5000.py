"""ECG5000 as in the TensorFlow tutorial (``ecg.csv``): seeded 80/20 splits, trained on
the normal rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beatwatch import metrics, thresholds
from beatwatch.inference import reconstruction_errors
from beatwatch.protocols import common
from beatwatch.training import TrainConfig
from models import AutoencoderConfig


def load_ecg5000(data_dir: Path = common.DEFAULT_DATA_DIR) -> tuple[np.ndarray, np.ndarray]:
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
    data_dir: Path = common.DEFAULT_DATA_DIR,
    folds: int = 5,
    progress: common.Progress | None = None,
) -> common.ProtocolResult:
    """Seeded 80/20 splits of ECG5000 (split ``i`` uses seed ``TrainConfig.seed + i``).

    Train on the normal rows of the 80 %, test on the 20 %. Metrics: ROC-AUC, AP, and
    accuracy, precision and recall (abnormal = positive) at mean + 1 std of the training
    errors (the TensorFlow tutorial's rule) and at the best-F1 threshold (chosen on the
    test split: an optimistic upper bound).
    """
    defaults = common.default_configs("ecg5000")
    train_cfg, model_cfg = train_cfg or defaults[0], model_cfg or defaults[1]
    common.check_window(model_cfg, 140, "ecg5000")
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    beats, labels = load_ecg5000(data_dir)
    n_test = round(0.2 * labels.size)
    results = []
    for i in range(folds):
        order = np.random.default_rng(train_cfg.seed + i).permutation(labels.size)
        test_index, train_index = order[:n_test], order[n_test:]
        train_normal = beats[train_index[labels[train_index] == 0]]
        model, training = common.fit_autoencoder(train_normal, train_cfg, model_cfg)
        cut_1std = thresholds.mean_k_std(reconstruction_errors(model, train_normal), k=1.0)
        y = labels[test_index]
        s = reconstruction_errors(model, beats[test_index])
        fold_metrics = common.score_metrics(y, s)
        _, cut_f1 = metrics.best_f1(y, s)
        for suffix, cut in (("mean_1std", cut_1std), ("best_f1", cut_f1)):
            flagged = s >= cut
            recall, precision = metrics.sensitivity_ppv(y, flagged)
            fold_metrics[f"accuracy_{suffix}"] = metrics.accuracy(y, flagged)
            fold_metrics[f"precision_{suffix}"] = precision
            fold_metrics[f"recall_{suffix}"] = recall
        classes = np.where(y == 1, "abnormal", "N")
        examples = common.example_beats(model, beats[test_index], classes, s) if i == 0 else ()
        results.append(common.FoldResult(fold_metrics, s, y, classes, training, model, examples))
        if i == 0:
            first_cut = cut_1std
        common.tell(
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
    return common.ProtocolResult("ecg5000", results, train_cfg, model_cfg, info)
