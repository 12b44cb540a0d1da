"""Reliability tier: the ingest and nightly flows on hostile input, under one Prefect test
harness (temporary local API) for the whole session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _tier_harness(prefect_harness: None) -> None:
    """Every test of this tier runs against the session's Prefect test harness."""
