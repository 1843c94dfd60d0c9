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
