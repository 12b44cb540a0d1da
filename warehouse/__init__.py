"""The DuckDB warehouse: declared SQL in ``sql/``, named queries in ``queries/``.

Two files, one writer (see :mod:`warehouse.store`): the pipeline writes a private working
database under ``<data>/state/`` and, at the end of each run, publishes a consistent copy as
``<data>/warehouse.duckdb``, which clinicians and ``beatwatch status`` open read-only.
"""

from warehouse.store import (
    apply_schema,
    connect,
    publish_snapshot,
    query_sql,
    run_lock,
    transaction,
)

__all__ = ["apply_schema", "connect", "publish_snapshot", "query_sql", "run_lock", "transaction"]
