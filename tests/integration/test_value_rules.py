"""Rules about values never stop the plant; structural invariants do (docs/conformed.md).

A batch record that says what the reference data does not know — a parameter without a
ref.parameters row, process type `other` or one nobody listed, a deviation class of its own, a
phase without equipment — loads, reaches the marts as written, is a dq issue, and the build
succeeds. A duplicated raw record stops the build and everything downstream of it. (Process
type `other` through marts and twin: tests/integration/test_site_conventions.py.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from assets.ingest.run import ingest
from biotwin.warehouse import connect
from tests.conftest import run_dbt
from tests.helpers import query

BATCH = "CART-2026-0003"


def _amended_record(plant_dir: Path, landing: Path, process_type: str) -> None:
    """A later version of one batch record with values the reference rows do not know."""
    source = plant_dir / "landing" / "mes" / "BOS" / f"{BATCH}_v1.json"
    doc = json.loads(source.read_text(encoding="utf-8"))
    doc["record_version"] = 9
    doc["process_type"] = process_type
    doc["parameters"].append(
        {
            "phase": doc["phases"][0]["phase"],
            "name": "initial_volume",
            "setpoint": 1.5,
            "actual": 1.48,
            "unit": "L",
            "recorded_at": doc["phases"][0]["start"],
            "recorded_by": "jdoe",
        }
    )
    doc["deviations"].append(
        {
            "id": "DEV-9001",
            "classification": "moderate",
            "phase": doc["phases"][0]["phase"],
            "opened_at": doc["phases"][0]["start"],
            "description": "site-specific deviation class",
        }
    )
    target = landing / "mes" / "BOS"
    target.mkdir(parents=True)
    (target / f"{BATCH}_v9.json").write_text(json.dumps(doc), encoding="utf-8")


def _with_record(ingested: Path, plant_dir: Path, tmp_path: Path, process_type: str) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    landing = tmp_path / "landing"
    _amended_record(plant_dir, landing, process_type)
    con = connect(warehouse)
    try:
        summary = ingest(con, "mes", landing, plant_dir / "reference", "amended")
    finally:
        con.close()
    assert summary.by_status == {"loaded": 1}, "a value rule never quarantines the record"
    return warehouse


def _issues(warehouse: Path) -> dict[str, list[str]]:
    rows = query(
        warehouse,
        "SELECT issue_type, detail, severity, source_path FROM marts.dq_issues "
        "WHERE batch_id = ? AND source_system = 'mes' ORDER BY issue_type, detail",
        [BATCH],
    )
    assert set(rows["severity"]) <= {"warning"}
    assert all(p.endswith(f"{BATCH}_v9.json") for p in rows["source_path"])
    return rows.groupby("issue_type")["detail"].apply(list).to_dict()


def test_unknown_values_in_a_batch_record_flow_and_are_reported(
    ingested: Path, plant_dir: Path, tmp_path: Path
) -> None:
    warehouse = _with_record(ingested, plant_dir, tmp_path, "fed_batch")
    result = run_dbt(warehouse)
    assert result.success, "value rules must not fail the build"
    batch = query(
        warehouse,
        "SELECT process_type, record_version FROM marts.dim_batch WHERE batch_id = ?",
        [BATCH],
    )
    assert batch.to_dict("records") == [{"process_type": "fed_batch", "record_version": 9}]
    setpoint = query(
        warehouse,
        "SELECT source_setpoint, source_unit FROM marts.fct_batch_setpoint "
        "WHERE batch_id = ? AND parameter_id = 'initial_volume'",
        [BATCH],
    )
    assert setpoint.to_dict("records") == [{"source_setpoint": 1.5, "source_unit": "L"}]
    deviation = query(
        warehouse, "SELECT classification FROM marts.fct_deviation WHERE deviation_id = 'DEV-9001'"
    )
    assert deviation["classification"].tolist() == ["moderate"]
    issues = _issues(warehouse)
    assert ["initial_volume" in d for d in issues["unmapped_parameter"]] == [True]
    assert ["fed_batch" in d for d in issues["unknown_process_type"]] == [True]
    assert ["moderate" in d for d in issues["unknown_deviation_class"]] == [True]
    # the warning checks Dagster shows: failed, not blocking
    checks = {
        e.asset_check_key.name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.severity.value == "WARN"
    }
    failed = {name for name, passed in checks.items() if not passed}
    assert any("process_type" in n for n in failed) and any("classification" in n for n in failed)
    assert any("fct_batch_setpoint_parameter_id" in n for n in failed)


def test_a_duplicated_raw_record_stops_the_build(ingested: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "INSERT INTO raw._mes_batch_record SELECT * FROM raw._mes_batch_record "
            "WHERE batch_id = ? AND record_version = 1",
            [BATCH],
        )
    finally:
        con.close()
    result = run_dbt(warehouse)
    assert not result.success
    errors = {
        e.asset_check_key.name
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity.value == "ERROR"
    }
    assert "unique_stg_mes__batch_records__record_id" in errors
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "dim_batch" not in materialized and "batch_features" not in materialized
