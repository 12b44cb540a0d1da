"""docs/warehouse.md's example queries, run from the document itself against a warehouse
built from the 48 MIT-BIH records over two nights: with DuckDB from Python and with the
standard DuckDB shell (duckdb-cli), both read-only. Docs that rot fail here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
SHELL = Path(sys.executable).with_name("duckdb")


def test_the_document_has_the_queries_the_issue_asks_for() -> None:
    assert len(QUERIES) >= 8
    text = "\n".join(QUERIES)
    assert "from flagged_beats" in text  # one record's flagged beats last night
    assert "lag(share_flagged)" in text  # share flagged rising against the previous night
    assert "score >= 20" in text  # re-flagging from the stored scores


@pytest.mark.parametrize("query", QUERIES, ids=[f"query{i + 1}" for i in range(len(QUERIES))])
def test_documented_query_returns_rows(mitdb_nights, query: str) -> None:
    with duckdb.connect(str(mitdb_nights.warehouse), read_only=True) as con:
        rows = con.execute(query).fetchall()
    assert rows, f"no rows from:\n{query}"


def test_the_duckdb_shell_reads_the_warehouse_and_runs_the_queries(mitdb_nights) -> None:
    assert SHELL.is_file(), f"duckdb-cli is not installed in the virtualenv ({SHELL})"
    for query in QUERIES:
        done = subprocess.run(
            [str(SHELL), "-readonly", "-csv", str(mitdb_nights.warehouse), "-c", query],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{done.stderr}\n{query}"
        assert len(done.stdout.strip().splitlines()) >= 2, f"header only for:\n{query}"


def test_the_documented_views_and_tables_exist(mitdb_nights) -> None:
    with duckdb.connect(str(mitdb_nights.warehouse), read_only=True) as con:
        tables = con.execute("select table_name from information_schema.tables").fetchall()
    names = {name for (name,) in tables}
    documented = set(re.findall(r"^### `(\w+)`", DOC.read_text(encoding="utf-8"), flags=re.M))
    documented |= {"recording_overview", "evaluations"}  # documented in shared headings
    assert documented <= names
    assert names <= documented, f"undocumented: {sorted(names - documented)}"
