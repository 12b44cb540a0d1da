"""The `beatwatch` command line as a newcomer uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from beatwatch.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command", ["ingest", "nightly", "demo", "status", "sql", "report", "promote", "rollback"]
)
def test_every_command_explains_itself(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output


def test_status_before_anything_ran(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "No warehouse yet" in result.output


FAST_TRAINING = {"BEATWATCH_TRAINING__EPOCHS": "2", "BEATWATCH_TRAINING__MAX_TRAIN_BEATS": "1000"}


def _beatwatch(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `beatwatch` script in its own process, as a user would (with a
    short training: the tests check the plumbing, benchmarks/evaluate.py the model)."""
    script = Path(sys.executable).parent / "beatwatch"
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=os.environ | FAST_TRAINING,
    )


def test_demo_then_status_then_sql(tmp_path: Path) -> None:
    data = tmp_path / "bw"
    demo = _beatwatch("demo", "--data-dir", str(data), "--records", "3")
    assert demo.returncode == 0, demo.stderr
    assert "3 found: 3 new" in demo.stdout
    assert "syn003" in demo.stdout  # the table of what landed
    assert "select * from recording_overview" in demo.stdout
    assert "read 3/3" in demo.stderr  # progress, records done of total
    assert "highest-scoring flagged beats" in demo.stdout
    assert "beatwatch report" in demo.stdout

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from recordings").fetchone() == (3,)
        (beats,) = con.execute("select sum(n_reference_beats) from recording_overview").fetchone()
        assert beats > 3 * 200  # 5-minute recordings at 55-110 bpm

    again = _beatwatch("demo", "--data-dir", str(data), "--records", "3")
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stdout

    status = runner.invoke(app, ["status", "--data-dir", str(data)])
    assert "3 recordings" in status.output
    assert "2 ingest runs" in status.output

    sql = runner.invoke(
        app, ["sql", "--data-dir", str(data), "select count(*) as n from annotations"]
    )
    assert sql.exit_code == 0
    assert str(beats) in sql.output.replace(",", "")
    bad = runner.invoke(app, ["sql", "--data-dir", str(data), "select nonsense from nowhere"])
    assert bad.exit_code == 1
    assert "query failed" in bad.output

    report = runner.invoke(app, ["report", "--data-dir", str(data)])
    assert report.exit_code == 0, report.output
    assert "Report:" in report.output
    assert "syn001" in report.output
    path = Path(report.output.split("Report:")[1].strip())
    assert path.is_file()
    assert path.suffix == ".html"
    missing = runner.invoke(app, ["report", "--data-dir", str(data), "--date", "1999-01-01"])
    assert missing.exit_code == 1
