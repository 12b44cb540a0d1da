"""`beatwatch evaluate` bookkeeping: registry row, evaluations rows, an offline HTML report."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import duckdb

from beatwatch.evaluate import record_evaluation
from beatwatch.protocols import default_configs, run_protocol
from warehouse import apply_schema


def test_ecg5000_evaluation_is_recorded_and_reported(ecg5000_dir: Path, tmp_path: Path) -> None:
    train_cfg, model_cfg = default_configs("ecg5000")
    result = run_protocol(
        "ecg5000", replace(train_cfg, epochs=2), model_cfg, data_dir=ecg5000_dir.parent, folds=1
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        apply_schema(con)
        record = record_evaluation(
            con, result, models_dir=tmp_path / "models", reports_dir=tmp_path / "reports"
        )
        rows = dict(
            con.execute(
                "select metric, value from evaluations"
                " where protocol = 'ecg5000' and model_version = ?",
                [record.model_version],
            ).fetchall()
        )
        assert {"roc_auc", "average_precision", "accuracy_mean_1std"} <= set(rows)
        assert 0.5 < rows["roc_auc"] <= 1.0  # even 2 epochs separate ECG5000's classes
        reference = con.execute(
            "select reference, target from evaluations where metric = 'roc_auc'"
        ).fetchone()
        assert reference == (0.988, 0.99)
        status, purpose, sha = con.execute(
            "select status, purpose, file_sha256 from model_versions where version = ?",
            [record.model_version],
        ).fetchone()
        assert (status, purpose) == ("retired", "evaluation:ecg5000")  # never scores patients
        assert len(sha) == 64

    page = record.report_path.read_text()
    assert "http://" not in page  # opens offline: nothing fetched
    assert "https://" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3  # ROC, histograms, reconstructions
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
