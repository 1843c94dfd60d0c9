"""Every SQL example in docs/queries.md runs on a conformed warehouse and answers something."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from biotwin.query import run_query
from biotwin.settings import PROJECT_ROOT

EXAMPLES = re.findall(
    r"```sql\n(.*?)```", (PROJECT_ROOT / "docs" / "queries.md").read_text(), flags=re.S
)


def test_the_document_has_the_questions_a_process_scientist_asks() -> None:
    text = " ".join(EXAMPLES)
    for table in (
        "fct_material_consumption",
        "fct_chain_of_identity",
        "fct_lab_result",
        "fct_batch_trajectory",
        "fct_batch_phase",
        "dq_issues",
    ):
        assert table in text


@pytest.mark.parametrize("sql", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_runs_and_returns_rows(conformed: Path, sql: str) -> None:
    columns, rows = run_query(conformed, sql)
    assert columns and rows, sql


REFUSED = {
    # what a hostile or careless query tried, and the words of the refusal
    "SELECT * FROM read_csv('/etc/passwd')": "file system operations are disabled",
    "SELECT * FROM glob('/home/*')": "file system operations are disabled",
    "SELECT * FROM read_text('/etc/hostname')": "file system operations are disabled",
    "COPY (SELECT * FROM marts.dim_batch) TO 'out.csv'": "COPY statements are refused",
    "ATTACH 'other.duckdb' (READ_ONLY false)": "ATTACH statements are refused",
    "INSTALL httpfs": "INSTALL statements are refused",
    "LOAD httpfs": "LOAD statements are refused",
    "SET enable_external_access = true": "SET statements are refused",
    "SELECT 1; DELETE FROM audit.audit_log": "one statement per call (got 2)",
    "DELETE FROM audit.audit_log": "DELETE statements are refused",
    "CREATE TABLE x AS SELECT 1": "CREATE statements are refused",
}


@pytest.mark.parametrize("sql", list(REFUSED), ids=[f"refused{i}" for i in range(len(REFUSED))])
def test_the_query_cli_reads_the_warehouse_and_nothing_else(
    conformed: Path, tmp_path: Path, sql: str, capsys: pytest.CaptureFixture
) -> None:
    from orchestration.cli import main

    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOTWIN_WAREHOUSE", str(conformed))
        mp.chdir(tmp_path)
        assert main(["query", sql]) == 1
    err = capsys.readouterr().err
    assert err.startswith("biotwin: query refused: ") and REFUSED[sql] in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_a_query_still_sees_the_marts_in_utc(conformed: Path) -> None:
    _, rows = run_query(
        conformed, "SELECT current_setting('TimeZone'), count(*) FROM marts.dim_batch"
    )
    assert rows[0][0] == "UTC" and rows[0][1] > 0
