"""`beatwatch evaluate`: run a protocol, register its model, store the figures, write a report.

The protocols themselves (data, splits, training, metrics) live in
:mod:`beatwatch.protocols`; this module records what they produced:

* the model of the run (the first fold's, for multi-fold protocols) in ``model_versions``:
  ``interpatient`` trains on DS1's normal beats from our own detector, exactly what a
  nightly model does, so its model is registered for scoring (a challenger; the first one
  becomes champion). ``beatgan`` and ``ecg5000`` models are registered as retired
  ``evaluation:<protocol>`` models: kept and traceable, never used to score patients;
* one ``evaluations`` row per metric: mean and standard deviation over folds, with the
  published reference and our target where there is one;
* an HTML report with the ROC curve of every fold, the error histograms of normal and
  abnormal beats, and example beats drawn over their reconstructions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from beatwatch import evaluation_report as report
from beatwatch.protocols import REFERENCES, TARGETS, ProtocolResult
from beatwatch.registry import ModelVersion, new_version_id, register, save_model


@dataclass(frozen=True)
class EvaluationRecord:
    """Where an evaluation's results went."""

    protocol: str
    model_version: str
    report_path: Path
    summary: dict[str, tuple[float, float]]


def record_evaluation(
    con: duckdb.DuckDBPyConnection,
    result: ProtocolResult,
    *,
    models_dir: Path,
    reports_dir: Path,
) -> EvaluationRecord:
    """Register the run's model, insert its ``evaluations`` rows and write its report."""
    summary = result.summary()
    first = result.folds[0]
    kind = result.model_config.kind
    version = new_version_id(kind)
    path, sha = save_model(first.model, result.model_config, models_dir, version)
    scoring = result.protocol == "interpatient"
    register(
        con,
        ModelVersion(
            version=version,
            kind=kind,
            purpose="scoring" if scoring else f"evaluation:{result.protocol}",
            status="challenger" if scoring else "retired",
            training_records=tuple(result.info.get("training_records", ())),
            training_beats=first.training.n_train,
            config={"model": asdict(result.model_config), "train": asdict(result.train_config)},
            threshold=float(result.info["threshold"]),
            threshold_rule=str(result.info["threshold_rule"]),
            metrics={name: mean for name, (mean, _) in summary.items()},
            file_path=str(path),
            file_sha256=sha,
            note=f"trained by `beatwatch evaluate --protocol {result.protocol}`",
        ),
    )
    when = datetime.now(UTC)
    report_path = reports_dir / f"evaluation-{result.protocol}-{when:%Y%m%dT%H%M%SZ}.html"
    _write_report(result, summary, report_path)
    rows = [
        (
            result.protocol,
            metric,
            version,
            mean,
            std,
            len(result.folds),
            REFERENCES.get(result.protocol, {}).get(metric, (None, ""))[0],
            TARGETS.get(result.protocol, {}).get(metric),
            when,
            str(report_path),
        )
        for metric, (mean, std) in summary.items()
    ]
    con.executemany(
        "insert or replace into evaluations (protocol, metric, model_version, value, std,"
        " n_folds, reference, target, evaluated_at, report_path)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return EvaluationRecord(result.protocol, version, report_path, summary)


def _write_report(
    result: ProtocolResult, summary: dict[str, tuple[float, float]], path: Path
) -> None:
    references = REFERENCES.get(result.protocol, {})
    targets = TARGETS.get(result.protocol, {})
    rows = [
        {
            "metric": metric,
            "ours (mean)": mean,
            "std over folds": std,
            "published": references.get(metric, (None, ""))[0],
            "source": references.get(metric, (None, ""))[1],
            "target": targets.get(metric),
        }
        for metric, (mean, std) in summary.items()
    ]
    first = result.folds[0]
    images = {
        "ROC curve of each fold (abnormal = positive)": report.figure_png(
            report.roc_figure([(f.labels, f.scores) for f in result.folds])
        ),
        "Reconstruction error, fold 1: normal vs abnormal beats": report.figure_png(
            report.histogram_figure(first.labels, first.scores, float(result.info["threshold"]))
        ),
    }
    if first.examples:
        images["Example beats (solid) over their reconstructions (dashed), normalised units"] = (
            report.figure_png(report.reconstruction_figure(first.examples, result.fs_hz))
        )
    notes = [
        f"Protocol {result.protocol}: {len(result.folds)} fold(s), "
        f"model {result.model_config.kind}, training {result.train_seconds:.0f} s in all.",
        "Counts and settings: " + json.dumps(result.info, default=str),
    ]
    report.render_report(
        path,
        title=f"Beatwatch evaluation: {result.protocol}",
        summary_rows=rows,
        images=images,
        notes=notes,
    )
