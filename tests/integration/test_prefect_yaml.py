"""prefect.yaml deploys the same flows to a process work pool: checked against a server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from flows.retrain import ensure_retrain_limit

REPO = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).with_name("prefect")


def _prefect(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value(), "BEATWATCH_HOME": str(REPO)}
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_prefect_yaml_deploys_nightly_retrain_and_ingest() -> None:
    done = _prefect("work-pool", "create", "beatwatch", "--type", "process", "--overwrite")
    assert done.returncode == 0, done.stdout + done.stderr
    done = _prefect("deploy", "--all")
    assert done.returncode == 0, done.stdout + done.stderr
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("nightly/nightly")
        retrain = client.read_deployment_by_name("retrain/retrain")
        ingest = client.read_deployment_by_name("ingest/ingest")
    assert nightly.work_pool_name == retrain.work_pool_name == "beatwatch"
    (schedule,) = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert retrain.schedules == []
    assert retrain.global_concurrency_limit.limit == 1  # never two retrains at once
    assert not ingest.schedules[0].active
    # The retrain form: typed, bounded parameters the UI validates.
    properties = retrain.parameter_openapi_schema["properties"]
    assert properties["epochs"]["type"] == "integer"
    assert properties["epochs"]["minimum"] == 1
    assert set(properties["threshold_rule"]["enum"]) == {"percentile", "mean_k_std", "relative"}


def test_the_retrain_concurrency_limit_is_created_not_assumed() -> None:
    with get_client(sync_client=True) as client:
        with contextlib.suppress(ObjectNotFound):  # absent already
            client.delete_global_concurrency_limit_by_name("beatwatch-retrain")
        ensure_retrain_limit()
        limit = client.read_global_concurrency_limit_by_name("beatwatch-retrain")
    assert (limit.limit, limit.active) == (1, True)
