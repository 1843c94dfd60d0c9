"""The same dbt project and the same raw data build the same marts on Apache Spark (local[2])
as on DuckDB: the whole Dagster job on each engine over one landing zone, every mart compared.
`make test-spark` (installs the Spark engine first); minutes, so not in `make test`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from biotwin.engines import compare
from biotwin.warehouse import connect
from orchestration.compare_engines import report, run_comparison

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def homes(plant_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pyspark", reason="the Spark engine: make install-spark")
    home = tmp_path_factory.mktemp("engines")
    shutil.copytree(plant_dir, home / "plant")
    assert run_comparison(home, 12, 7) == 0
    return home


def test_every_mart_is_equal_on_duckdb_and_spark(homes: Path) -> None:
    results = compare(
        homes / "duckdb" / "warehouse.duckdb",
        homes / "spark" / "spark",
        homes / "spark" / "warehouse.duckdb",
    )
    assert len(results) >= 17, report(results)
    assert [r.table for r in results if not r.equal] == [], report(results)
    # the comparison saw real rows: the big marts are there on both sides
    rows = {r.table: (r.rows_left, r.rows_right) for r in results}
    assert rows["fct_process_timeseries"][0] == rows["fct_process_timeseries"][1] > 100_000
    assert rows["fct_lab_result"][0] == rows["fct_lab_result"][1] > 500
    # the release readiness, computed after the twin from each engine's marts
    assert rows["batch_exceptions"][0] == rows["batch_exceptions"][1] > 10
    assert rows["batch_release_readiness"][0] == rows["batch_release_readiness"][1] > 10


def test_the_spark_home_reads_its_marts_from_spark_and_the_twin_ran_on_them(homes: Path) -> None:
    con = connect(homes / "spark" / "warehouse.duckdb", read_only=True)
    try:
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = 'marts'"
            ).fetchall()
        )
        # dbt's marts are views over Spark's Parquet; the release tables, written after the
        # twin from those views, are the warehouse file's own
        release = {"batch_exceptions", "batch_release_readiness"}
        assert {k for k, v in kinds.items() if v == "BASE TABLE"} == release
        assert len(kinds) > len(release) + 10
        sql = con.execute(
            "SELECT sql FROM duckdb_views() WHERE schema_name = 'marts' "
            "AND view_name = 'fct_lab_result'"
        ).fetchone()[0]
        assert str(homes / "spark" / "spark" / "warehouse" / "marts.db") in sql
        (forecasts,) = con.execute("SELECT count(*) FROM twin.outcome_forecast").fetchone()
        assert forecasts > 0
        (verdicts,) = con.execute(
            "SELECT count(DISTINCT verdict) FROM marts.batch_release_readiness"
        ).fetchone()
        assert verdicts >= 2
    finally:
        con.close()
