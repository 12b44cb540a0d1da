"""The `beatwatch` command line as a newcomer uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from beatwatch.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", ["ingest", "nightly", "demo", "status", "sql"])
def test_every_command_explains_itself(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output


def test_status_before_anything_ran(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "No warehouse yet" in result.output


def _beatwatch(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `beatwatch` script in its own process, as a user would."""
    script = Path(sys.executable).parent / "beatwatch"
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_demo_then_status_then_sql(tmp_path: Path) -> None:
    data = tmp_path / "bw"
    demo = _beatwatch("demo", "--data-dir", str(data), "--records", "3")
    assert demo.returncode == 0, demo.stderr
    assert "3 found: 3 new" in demo.stdout
    assert "syn003" in demo.stdout  # the table of what landed
    assert "select * from recording_overview" in demo.stdout
    assert "read 3/3" in demo.stderr  # progress, records done of total

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
