"""Retry policy of the tasks that touch the working database: transient failures only.

A DuckDB file held by another process (a lock) or a brief I/O error is worth two more
tries a second apart; anything else (a bad recording, a corrupt model file, a bug) fails at
once, so a permanent error is never retried and never hides behind retries.
"""

from __future__ import annotations

from typing import Any

import duckdb


def is_transient(error: BaseException) -> bool:
    """True for errors that may go away by themselves: DuckDB I/O (a locked file)."""
    return isinstance(error, (duckdb.IOException, BlockingIOError, TimeoutError))


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the task failed transiently."""
    try:
        state.result()
    except BaseException as error:  # the task's own exception, re-raised by result()
        return is_transient(error)
    return False


DB_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 1,
    "retry_condition_fn": retry_if_transient,
}
"""Keyword arguments for ``@task`` of the database-touching tasks."""
