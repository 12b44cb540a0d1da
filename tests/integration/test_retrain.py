"""Retrains: champion/challenger decisions, never two at once, manual promote and rollback,
and one champion per night even when a promotion lands mid-night."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.settings import PREFECT_API_URL

import tasks.score
from beatwatch.registry import promote
from beatwatch.settings import load_settings
from flows.nightly import nightly_flow
from flows.retrain import retrain_flow
from warehouse import connect

FAST = "[training]\nepochs = 2\nmax_train_beats = 3000\n"
BEATWATCH = Path(sys.executable).with_name("beatwatch")


@pytest.fixture
def lake(tmp_path: Path, make_record) -> tuple[Path, Path]:
    """Five labelled synthetic recordings ingested, scored, with a first champion."""
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    for i in range(5):
        make_record(inbox, f"p{i}", seed=i, pvc_rate=0.1, pac_rate=0.05, duration_s=120.0)
    config = tmp_path / "fast.toml"
    config.write_text(FAST)
    nightly_flow(data_dir=data, inbox=inbox, config_file=config, run_date=date(2026, 11, 20))
    return data, config


def _versions(data: Path) -> list[tuple]:
    with duckdb.connect(str(data / "state" / "beatwatch.duckdb"), read_only=True) as con:
        return con.execute(
            "select version, status, decision, compared_with, comparison_metric,"
            " comparison_value, champion_value, config from model_versions order by created_at"
        ).fetchall()


def test_a_retrain_is_compared_with_the_champion_and_the_decision_recorded(lake) -> None:
    data, config = lake
    ((first, *_),) = _versions(data)
    outcome = retrain_flow(
        epochs=3, latent_dim=6, data_dir=str(data), config_file=str(config), seed=1
    )
    rows = _versions(data)
    assert len(rows) == 2
    version, status, decision, compared_with, metric, value, champion_value, cfg = rows[1]
    assert version == outcome.version
    assert compared_with == first == outcome.champion_before
    assert metric == "roc_auc"  # the held-out recordings carry labels
    assert 0.5 < value <= 1.0
    assert 0.5 < champion_value <= 1.0
    assert decision == outcome.decision
    assert (status == "champion") == (decision == "promoted")
    wins = value >= champion_value - 0.005
    assert decision == ("promoted" if wins else "kept as challenger")
    assert json.loads(cfg)["train"]["epochs"] == 3
    assert json.loads(cfg)["model"]["latent_dim"] == 6
    assert set(outcome.held_out).isdisjoint(outcome.training_records)
    assert outcome.held_out  # the comparison used recordings the challenger never saw
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        published = con.execute("select count(*) from model_versions").fetchone()
    assert published == (2,)  # no night running: published straight away


def test_two_retrains_requested_together_run_one_after_the_other(lake) -> None:
    data, config = lake
    env = os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}  # the harness's server
    command = [str(BEATWATCH), "retrain", "--data-dir", str(data), "--config", str(config)]
    runs = [
        subprocess.Popen([*command, "--epochs", str(e)], env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for e in (2, 3)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(outputs)

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["retrain"]))
        )
        windows = []
        for flow_run in flow_runs:
            if flow_run.parameters.get("data_dir") != str(data):
                continue  # another test's retrain
            (work,) = [
                t
                for t in client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
                )
                if t.name.startswith("train-and-compare")
            ]
            windows.append((work.start_time, work.end_time))
    windows.sort()
    assert len(windows) == 2
    assert windows[0][1] <= windows[1][0], f"the two retrains overlapped: {windows}"
    assert len(_versions(data)) == 3


def test_promote_by_hand_and_roll_back(lake) -> None:
    data, config = lake
    first = _versions(data)[0][0]
    second = retrain_flow(epochs=2, data_dir=str(data), config_file=str(config), seed=2).version
    env = os.environ.copy()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BEATWATCH), *args, "--data-dir", str(data)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    done = cli("promote", second)
    assert done.returncode == 0, done.stderr
    assert f"-> {second}" in done.stdout
    champions = [v for v, status, *_ in _versions(data) if status == "champion"]
    assert champions == [second]
    done = cli("rollback")
    assert done.returncode == 0, done.stderr
    champions = [v for v, status, *_ in _versions(data) if status == "champion"]
    assert champions == [first]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select version from model_versions where status = 'champion'"
        ).fetchall() == [(first,)]
    done = cli("promote", "no-such-version")
    assert done.returncode == 1
    assert "no model version 'no-such-version'" in done.stderr


def test_a_promotion_mid_night_does_not_change_the_nights_model(
    lake, tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, config = lake
    settings = load_settings(config_file=config, data_dir=data)
    champion_before = _versions(data)[0][0]
    challenger = retrain_flow(epochs=2, data_dir=str(data), config_file=str(config), seed=3)
    with connect(settings.work_db_path) as con:  # keep the first model champion tonight
        promote(con, champion_before)
    inbox = tmp_path / "inbox-2"
    for i in range(3):
        make_record(inbox, f"q{i}", seed=20 + i, pvc_rate=0.1, duration_s=60.0)

    real = tasks.score.writes.pending_scoring
    promoted = []

    def promote_then_list(con, **kwargs):
        # The champion is loaded, nothing is scored yet: someone promotes another model.
        # (Here, on the night's own connection: another process would wait for the night.)
        promote(con, challenger.version)
        promoted.append(True)
        return real(con, **kwargs)

    monkeypatch.setattr(tasks.score.writes, "pending_scoring", promote_then_list)
    summary = nightly_flow(
        data_dir=data, inbox=inbox, config_file=config, run_date=date(2026, 11, 21)
    )
    assert promoted
    assert summary.scoring.records_scored == 3
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        used = con.execute(
            "select distinct model_version from beat_scores where run_date = '2026-11-21'"
        ).fetchall()
        now = con.execute("select version from model_versions where status = 'champion'")
        assert now.fetchall() == [(challenger.version,)]
    assert used == [(champion_before,)]
