"""audit.audit_log after ingestion: one entry per ledger row, and `biotwin audit verify` names
an edited, deleted or reordered entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query

BIOTWIN = str(Path(sys.executable).with_name("biotwin"))


def _verify(warehouse: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIOTWIN, "audit", "verify"],
        env={**os.environ, "BIOTWIN_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_ledger_row_is_audited_once(ingested: Path) -> None:
    ledger = query(ingested, "SELECT count(*) AS n FROM raw.file_ledger")["n"].iloc[0]
    audited = query(
        ingested,
        "SELECT count(*) AS n, count(DISTINCT subject) AS subjects FROM audit.audit_log "
        "WHERE kind LIKE 'file_%'",
    ).iloc[0]
    assert audited["n"] == audited["subjects"] == ledger > 0
    kinds = set(query(ingested, "SELECT DISTINCT kind FROM audit.audit_log")["kind"])
    assert {"file_loaded", "file_quarantined", "file_duplicate"} <= kinds
    total = query(ingested, "SELECT count(*) AS n FROM audit.audit_log")["n"].iloc[0]
    done = _verify(ingested)
    assert done.returncode == 0 and f"{total} entries verified" in done.stdout


TAMPERING = {
    "edit": (
        "UPDATE audit.audit_log SET detail = replace(detail, '}', ',\"x\":1}') WHERE seq = 7",
        7,
    ),
    "delete": ("DELETE FROM audit.audit_log WHERE seq = 7", 7),
    "reorder": (
        "CREATE OR REPLACE TABLE audit.audit_log AS SELECT * FROM audit.audit_log "
        "ORDER BY CASE seq WHEN 7 THEN 8 WHEN 8 THEN 7 ELSE seq END",
        7,
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_is_evident_and_named(ingested: Path, tmp_path: Path, how: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    sql, seq = TAMPERING[how]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)
    done = _verify(warehouse)
    assert done.returncode == 1
    assert f"BROKEN at entry {seq}" in done.stderr


def test_reference_changes_are_audited_with_old_and_new_values(
    plant_dir: Path, tmp_path: Path
) -> None:
    import json

    from assets.ingest.reference import load_reference
    from assets.ingest.warehouse import connect
    from lineage.audit_log import verify_log

    reference = tmp_path / "reference"
    shutil.copytree(plant_dir / "reference", reference)
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        load_reference(con, reference, actor="test")
        first = con.execute("SELECT count(*) FROM audit.audit_log").fetchall()[0][0]
        rows = sum(
            len((reference / f).read_text().splitlines()) - 1
            for f in [p.name for p in reference.glob("*.csv")]
        )
        assert first == rows  # the first load adds every row
        load_reference(con, reference, actor="test")  # nothing changed: nothing recorded
        assert con.execute("SELECT count(*) FROM audit.audit_log").fetchall()[0][0] == first

        tags = (
            (reference / "tags.csv")
            .read_text()
            .replace(
                "BOS,BR101.TEMP_PV,BR-101,temperature,degC",
                "BOS,BR101.TEMP_PV,BR-101,temperature,degF",
            )
        )
        (reference / "tags.csv").write_text(tags)
        load_reference(con, reference, actor="test")
        changes = con.execute(
            "SELECT kind, subject, detail FROM audit.audit_log WHERE seq > ?", [first]
        ).fetchall()
        assert len(changes) == 1
        kind, subject, detail = changes[0]
        assert (kind, subject) == ("reference_changed", "ref.tags[BOS|BR101.TEMP_PV]")
        detail = json.loads(detail)
        assert detail["old"] == {"source_unit": "degC"} and detail["new"] == {"source_unit": "degF"}
        assert "tags.csv sha256" in detail["source"]
        assert verify_log(con).ok
    finally:
        con.close()


def test_the_nightly_job_verifies_the_chain_and_fails_on_tampering(
    ingested: Path, tmp_path: Path
) -> None:
    from dagster import DagsterInstance

    from orchestration.definitions import defs
    from orchestration.resources import PlantPaths

    schedules = {s.name: s for s in defs.schedules}
    assert schedules["nightly_audit_verify"].job_name == "audit_verify"
    assert schedules["nightly_rebuild"].job_name == "main"
    job = defs.resolve_job_def("audit_verify")
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)

    def run():
        return job.execute_in_process(
            instance=DagsterInstance.ephemeral(),
            resources={"paths": PlantPaths(warehouse=str(warehouse))},
            raise_on_error=False,
        )

    assert run().success
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM audit.audit_log WHERE seq = 3")
    failed = run()
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "BROKEN at entry 3" in str(failure.event_specific_data.error)


def test_runs_are_audited_with_their_code_version(conformed: Path) -> None:
    import json

    runs = query(conformed, "SELECT subject, detail FROM audit.audit_log WHERE kind = 'asset_run'")
    assets = {s.split("@")[0] for s in runs["subject"]}
    assert {"raw/historian", "raw/mes", "dbt_models"} <= assets
    dbt = json.loads(runs[runs["subject"].str.startswith("dbt_models@")]["detail"].iloc[0])
    assert dbt["code_version"].startswith(("git:", "biotwin=="))
    assert dbt["results"]["model:success"] > 30
