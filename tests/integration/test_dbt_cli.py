"""The dbt project as a user runs it by hand: the real dbt CLI, on a conformed warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import dbt_cli, query

STAGING = {
    "stg_historian__points": "historian_point",
    "stg_lims__results": "lims_result",
    "stg_custody__events": "custody_event",
    "stg_mes__batch_records": "mes_batch_record",
    "stg_mes__phases": "mes_phase",
    "stg_mes__materials": "mes_material",
    "stg_mes__signatures": "mes_signature",
    "stg_mes__deviations": "mes_deviation",
    "stg_mes__parameters": "mes_parameter",
    "stg_instruments__measurements": "instrument_measurement",
}


def test_staging_keeps_every_raw_row(conformed: Path) -> None:
    for model, raw in STAGING.items():
        staged = query(conformed, f"SELECT count(*) AS n FROM staging.{model}")["n"].iloc[0]
        source = query(conformed, f"SELECT count(*) AS n FROM raw.{raw}")["n"].iloc[0]
        assert staged == source > 0, model


def test_biotwin_docs_writes_one_page_that_describes_every_mart(
    conformed: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """`make docs` / `biotwin docs`: dbt's docs as one static page beside the warehouse."""
    from orchestration.cli import main

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(conformed, home / "warehouse.duckdb")
    monkeypatch.setenv("BIOTWIN_HOME", str(home))
    monkeypatch.delenv("BIOTWIN_WAREHOUSE", raising=False)
    assert main(["docs"]) == 0
    page = home / "dbt-docs" / "static_index.html"
    assert f"dbt docs: {page}" in capsys.readouterr().out
    catalog = json.loads((home / "dbt-docs" / "catalog.json").read_text())
    marts = {
        n["metadata"]["name"]
        for n in catalog["nodes"].values()
        if n["metadata"]["schema"] == "marts"
    }
    assert {"dim_batch", "fct_process_timeseries", "dq_issues", "dim_source_file"} <= marts
    text = page.read_text()  # manifest and catalog built in: it opens from disk
    assert "One row per landing file whose records reached raw" in text


def test_a_failing_data_test_fails_the_build(conformed: Path, tmp_path: Path) -> None:
    """The tests can fail: a duplicated batch record version breaks dim_batch's grain."""
    import duckdb

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(conformed, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE OR REPLACE TABLE marts.dim_site AS "
            "SELECT * FROM marts.dim_site UNION ALL SELECT * FROM marts.dim_site"
        )
    done = dbt_cli(["test", "--select", "dim_site"], warehouse, tmp_path)
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "unique_dim_site_site_id" in done.stdout
