"""A failed `biotwin run` explains itself: its last lines name the step, the checks and what to
run next, never a traceback; a landing root that does not exist is an error naming the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from biotwin.settings import PROJECT_ROOT

BIOTWIN = str(Path(sys.executable).parent / "biotwin")


def _run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIOTWIN, "run", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=PROJECT_ROOT,
        env={**os.environ, "BIOTWIN_HOME": str(home), **env},
        check=False,
    )


def _ending(done: subprocess.CompletedProcess) -> str:
    """The last 20 lines on the terminal: the report comes last, on stdout (Dagster's own log,
    stack traces included, goes to stderr while the run goes on)."""
    return "\n".join(done.stdout.splitlines()[-20:])


def test_a_structural_failure_names_the_step_the_check_and_the_rows(
    ingested: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ingested, home / "warehouse.duckdb")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "INSERT INTO raw._mes_batch_record SELECT * FROM raw._mes_batch_record "
            "WHERE record_version = 1 ORDER BY batch_id LIMIT 1"
        )
    # the dbt part of the pipeline only (the whole run would ingest nothing new first)
    done = _run(home, "--select", "staging/stg_mes__batch_records,marts/dim_batch")
    assert done.returncode == 1
    ending = _ending(done)
    assert "Traceback" not in ending
    assert "what failed:" in ending and "step dbt_models" in ending
    assert "unique_stg_mes__batch_records__record_id on staging/stg_mes__batch_records" in ending
    table = "test_failures.unique_stg_mes__batch_records__record_id"
    assert f'biotwin query --live "SELECT * FROM {table} LIMIT 20"' in ending
    assert "biotwin ui" in ending
    # the query it gives shows the duplicated record
    shown = subprocess.run(
        [BIOTWIN, "query", "--live", f"SELECT * FROM {table}"],
        capture_output=True,
        text=True,
        env={**os.environ, "BIOTWIN_HOME": str(home)},
        check=False,
    )
    assert shown.returncode == 0 and "(1 row)" in shown.stdout


def test_a_broken_reference_row_is_named_and_the_summary_still_works(
    plant_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(plant_dir / "landing", home / "landing")
    reference = tmp_path / "reference"
    shutil.copytree(plant_dir / "reference", reference)
    rows = (reference / "processes.csv").read_text(encoding="utf-8").splitlines()
    with (reference / "processes.csv").open("a", encoding="utf-8") as handle:
        handle.write("BROKEN-01,other,-5,harvest_tvc,1,\n")
    # a mapping twice (same vendor, field and target): which would a reading take?
    fields = (reference / "instrument_fields.csv").read_text(encoding="utf-8").splitlines()
    with (reference / "instrument_fields.csv").open("a", encoding="utf-8") as handle:
        handle.write(fields[-1].replace(fields[-1].split(",")[2], "viability") + "\n")
    done = _run(home, BIOTWIN_REFERENCE=str(reference))
    assert done.returncode == 1
    ending = _ending(done)
    assert "Traceback" not in ending
    assert "step ref__reference_data" in ending and f"processes.csv row {len(rows)}" in ending
    assert "expected_duration_h" in ending
    assert f"instrument_fields.csv row {len(fields)}: vendor, field, target = " in ending
    assert f"is already row {len(fields) - 1} [unique_key]" in ending
    skipped = ending.split("not run because of it: ")[1].splitlines()[0]
    assert skipped.startswith("dbt_models, ") and "raw__custody" in skipped
    assert "file ledger: empty" in done.stdout


def test_a_missing_landing_root_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    done = _run(tmp_path / "home", BIOTWIN_LANDING=str(missing))
    assert done.returncode == 1
    ending = _ending(done)
    assert "Traceback" not in ending
    assert f"landing root {missing} does not exist" in ending and "BIOTWIN_LANDING" in ending
    assert "succeeded" not in done.stdout
