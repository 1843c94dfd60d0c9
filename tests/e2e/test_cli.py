"""The installed command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from biotwin.settings import PROJECT_ROOT
from tests import openlineage_schema as spec

BIN = Path(sys.executable).parent


def _run(args: list[str], env: dict | None = None, timeout: int = 300):
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_generate_then_run(tmp_path: Path) -> None:
    out = tmp_path / "plant"
    gen = _run(
        [
            str(BIN / "biotwin"),
            "generate",
            "--out",
            str(out),
            "--batches",
            "4",
            "--seed",
            "3",
            "--fedbatch-batches",
            "2",
        ]
    )
    assert gen.returncode == 0, gen.stderr
    assert "historian rows" in gen.stdout
    doc = json.loads((out / "manifest.json").read_text())
    assert len(doc["batches"]) == 4 + 2
    assert sum(b["site_id"] == "CRK" for b in doc["batches"]) == 2
    # demo on an existing landing zone: ingest, dbt build, then the marts summary
    run = _run([str(BIN / "biotwin"), "demo"], env={"BIOTWIN_HOME": str(out)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "using the existing demo landing zone" in run.stdout and "succeeded" in run.stdout
    assert "raw/historian" in run.stdout and "file ledger:" in run.stdout
    assert "marts/fct_process_timeseries" in run.stdout
    assert "fct_batch_trajectory" in run.stdout.split("marts:")[-1]
    assert "unmapped_tag" in run.stdout.split("data-quality issues")[-1]
    assert (out / "dagster").is_dir(), "runs are kept in the instance under BIOTWIN_HOME"

    biotwin, home = str(BIN / "biotwin"), {"BIOTWIN_HOME": str(out)}
    table = _run([biotwin, "query", "SELECT batch_id, site_id FROM marts.dim_batch"], env=home)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["batch_id", "site_id"]
    assert "(6 rows)" in table.stdout
    csv = _run([biotwin, "query", "SELECT count(*) AS n FROM marts.dim_batch", "--csv"], env=home)
    assert csv.stdout == "n\n6\n"
    write = _run([biotwin, "query", "DELETE FROM marts.dim_batch"], env=home)
    assert write.returncode == 1 and "read-only" in write.stderr
    _every_demo_event_validates(out / "lineage" / "events.jsonl")


def _every_demo_event_validates(events_file: Path) -> None:
    """Every OpenLineage event the demo run emitted, against the official schemas."""
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    complete = {o["name"] for e in events if e["eventType"] == "COMPLETE" for o in e["outputs"]}
    assert {"marts.dim_batch", "marts.fct_process_timeseries", "marts.dq_issues"} <= complete
    if not spec.SPEC.is_dir():
        pytest.skip(spec.MISSING)
    assert [(e["job"]["name"], spec.event_errors(e)) for e in events if spec.event_errors(e)] == []


def test_generate_rejects_too_few_batches(tmp_path: Path) -> None:
    gen = _run([str(BIN / "biotwin"), "generate", "--out", str(tmp_path), "--batches", "2"])
    assert gen.returncode != 0
    assert "at least 3" in gen.stderr


def test_dagster_definitions_validate(tmp_path: Path) -> None:
    res = _run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        env={"DAGSTER_HOME": str(tmp_path)},
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Validation successful" in res.stderr + res.stdout
