"""Test-wide set-up: an isolated, offline Prefect home and the shared MIT-BIH data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Prefect: state in a throw-away folder, no telemetry (offline).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="beatwatch-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
for name in [
    k for k in os.environ if k.startswith("BEATWATCH_") and not k.startswith("BEATWATCH_TEST_")
]:
    del os.environ[name]  # the tests choose their own data folders

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("BEATWATCH_TEST_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)


def _shared_dataset(relative: str, marker_file: str) -> Path:
    path = SHARED_DATA / relative
    if not (path / marker_file).is_file():
        message = (
            f"shared data set missing: {path / marker_file} "
            "(expected ../shared/data beside the repo)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test harness (a temporary local API) for the session; the integration and
    reliability tiers use it for every test, the unit tier never starts it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    """The full MIT-BIH Arrhythmia Database in ../shared/data/mitdb (read-only: never write)."""
    return _shared_dataset("mitdb", "RECORDS")


@pytest.fixture(scope="session")
def ecg5000_dir() -> Path:
    """ECG5000 as in the TensorFlow tutorial: ../shared/data/ecg5000_tf/ecg.csv."""
    return _shared_dataset("ecg5000_tf", "ecg.csv")


@pytest.fixture
def make_record():
    """Write a seeded synthetic WFDB record (header, signal, reference .atr) into a folder.

    Returns the list of files written. Keyword arguments go to ``SyntheticConfig``.
    """
    from beatwatch.synthetic import SyntheticConfig, generate_ecg, write_wfdb_record

    def write(folder: Path, name: str, *, annotations: bool = True, fmt: str = "212", **cfg):
        cfg.setdefault("duration_s", 60.0)
        rec = generate_ecg(SyntheticConfig(**cfg))
        folder.mkdir(parents=True, exist_ok=True)
        return write_wfdb_record(rec, folder, name, with_annotations=annotations, fmt=fmt)

    return write
