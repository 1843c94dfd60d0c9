"""The dbt project builds on an ingested warehouse, run as the real dbt CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from biotwin.settings import settings

STAGING = {
    "stg_historian__points": "historian_point",
    "stg_lims__results": "lims_result",
    "stg_custody__events": "custody_event",
    "stg_mes__batch_records": "mes_batch_record",
    "stg_mes__phases": "mes_phase",
    "stg_instruments__measurements": "instrument_measurement",
}


def test_dbt_build_staging_passes_and_keeps_every_raw_row(ingested: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    dbt = str(Path(sys.executable).with_name("dbt"))
    project = settings().dbt_project_dir
    result = subprocess.run(
        [
            dbt,
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**os.environ, "BIOTWIN_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "ERROR=0" in result.stdout
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for model, raw in STAGING.items():
            staged = con.execute(f"SELECT count(*) FROM staging.{model}").fetchall()[0][0]
            source = con.execute(f"SELECT count(*) FROM raw.{raw}").fetchall()[0][0]
            assert staged == source > 0, model
