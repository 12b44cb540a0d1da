"""Integration tier: one Prefect test harness (temporary local API) for the whole session,
and two nights over the 48 MIT-BIH records shared by the modules that query them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

NIGHT_1 = date(2026, 11, 20)
NIGHT_2 = date(2026, 11, 21)

# Small, fast training: the tests check the plumbing, benchmarks/evaluate.py the quality.
FAST_TRAINING_TOML = """
[training]
epochs = 3
max_train_beats = 6000
latent_dim = 8
"""


@pytest.fixture(scope="session", autouse=True)
def _tier_harness(prefect_harness: None) -> None:
    """Every test of this tier runs against the session's Prefect test harness."""


@dataclass
class MitdbNights:
    """Night 1 ingests the 48 records, trains the first model and scores every beat; a
    second model is promoted; night 2 quarantines a bad delivery, ingests nothing new and
    rescores every record with the new champion."""

    data_dir: Path
    config_file: Path
    first: object
    second: object
    first_champion: str
    second_champion: str
    night_1: date = NIGHT_1
    night_2: date = NIGHT_2

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


@pytest.fixture(scope="session")
def mitdb_nights(mitdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> MitdbNights:
    from beatwatch.registry import champion, promote
    from beatwatch.retrain import TrainingRequest, train_and_register
    from beatwatch.settings import load_settings
    from flows.nightly import nightly_flow
    from warehouse import connect

    data = tmp_path_factory.mktemp("mitdb-nights")
    config = data / "beatwatch.toml"
    config.write_text(FAST_TRAINING_TOML)
    first = nightly_flow(data_dir=data, inbox=mitdb_dir, config_file=config, run_date=NIGHT_1)
    settings = load_settings(config_file=config, data_dir=data, inbox=mitdb_dir)
    with connect(settings.work_db_path) as con:
        first_champion = champion(con).version
    # A retrain with another seed and a lower percentile (more beats flagged), as ops
    # might run from the UI: night 2 then has records whose flagged share rose.
    retrain = settings.training.model_copy(update={"seed": 1, "threshold_value": 95.0})
    request = TrainingRequest(retrain, note="test retrain")
    challenger, _ = train_and_register(
        settings.work_db_path, request, models_dir=settings.models_dir, run_id="test"
    )
    with connect(settings.work_db_path) as con:
        promote(con, challenger.version)
    late = data / "inbox-night-2"  # night 2 brings one bad delivery and nothing new
    late.mkdir()
    (late / "x101.hea").write_text("x101 2 360 not-a-sample-count\n")
    second = nightly_flow(data_dir=data, inbox=late, config_file=config, run_date=NIGHT_2)
    return MitdbNights(data, config, first, second, first_champion, challenger.version)
