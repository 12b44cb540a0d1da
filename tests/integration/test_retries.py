"""Database tasks retry transient failures (a locked DuckDB file) with bounds, and fail at
once on permanent ones."""

from __future__ import annotations

import duckdb
import pytest
from prefect import flow, task

from tasks.retries import DB_RETRIES, is_transient


def test_what_counts_as_transient() -> None:
    assert is_transient(duckdb.IOException("Could not set lock on file"))
    assert not is_transient(ValueError("bad recording"))
    assert not is_transient(duckdb.CatalogException("no such table"))


def test_a_locked_database_is_retried_and_the_task_then_succeeds() -> None:
    attempts = []

    @task(**DB_RETRIES | {"retry_delay_seconds": 0})
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise duckdb.IOException("Could not set lock on file: held by another process")
        return len(attempts)

    @flow
    def night() -> int:
        return flaky()

    assert night() == 3  # two retries, then success


def test_retries_are_bounded() -> None:
    attempts = []

    @task(**DB_RETRIES | {"retry_delay_seconds": 0})
    def always_locked() -> None:
        attempts.append(1)
        raise duckdb.IOException("Could not set lock on file")

    @flow
    def night() -> None:
        always_locked()

    with pytest.raises(duckdb.IOException):
        night()
    assert len(attempts) == 3  # the first try and two retries, no more


def test_a_permanent_failure_is_not_retried() -> None:
    attempts = []

    @task(**DB_RETRIES | {"retry_delay_seconds": 0})
    def broken() -> None:
        attempts.append(1)
        raise ValueError("model file is corrupt")

    @flow
    def night() -> None:
        broken()

    with pytest.raises(ValueError, match="corrupt"):
        night()
    assert len(attempts) == 1
