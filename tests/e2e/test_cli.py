"""The installed command line, as a user runs it."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biotwin.settings import PROJECT_ROOT
from orchestration.recovery import orphaned_dbt, process_start, stop
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


def _run_streaming(args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, dict]:
    """Run, reading stdout as it is written: the result, and for each line's first words
    (`▶ step started`, `■ step done in`) the time the reader got it."""
    import threading

    process = subprocess.Popen(
        args,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    arrived: dict[str, float] = {}
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(process.stderr.read()))
    drain.start()
    for line in process.stdout:
        lines.append(line)
        words = line.split(" ", 1)[-1].rstrip("\n")  # after the HH:MM:SS stamp
        for marker in (" started", " done in"):
            if marker in words:
                arrived.setdefault(words.split(marker)[0] + marker, time.monotonic())
    process.wait(timeout=900)
    drain.join()
    done = subprocess.CompletedProcess(args, process.returncode, "".join(lines), errors[0])
    return done, arrived


def _killed_during_dbt(home: Path) -> int:
    """Start `biotwin run` on `home`, SIGKILL it once its dbt child runs; the pid it had."""
    warehouse = home / "warehouse.duckdb"
    first = subprocess.Popen(
        [str(BIN / "biotwin"), "run"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "BIOTWIN_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not _dbt_children(warehouse) and time.monotonic() < deadline:
        assert first.poll() is None, "the first run ended before dbt started"
        time.sleep(0.2)
    assert _dbt_children(warehouse), "dbt never started"
    first.send_signal(signal.SIGKILL)
    first.wait()
    # dbt dies with the process that started it (biotwin-dbt asks the kernel for SIGTERM)
    deadline = time.monotonic() + 10
    while _dbt_children(warehouse) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _dbt_children(warehouse), "dbt outlived its killed parent"
    return first.pid


def _dbt_children(warehouse: Path) -> list[str]:
    needle = f'"biotwin_warehouse": "{warehouse}"'.encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


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
    assert "batches simulated: 0/4" in gen.stdout and "writing historian exports" in gen.stdout
    doc = json.loads((out / "manifest.json").read_text())
    assert len(doc["batches"]) == 4 + 2
    assert sum(b["site_id"] == "CRK" for b in doc["batches"]) == 2
    # a first run is killed (SIGKILL) while dbt builds: dbt dies with it, its pool slot stays
    # taken; the next run frees it by itself, and completes
    killed = _killed_during_dbt(out)
    # demo on an existing landing zone: ingest, dbt build, then the marts summary
    run, arrived = _run_streaming([str(BIN / "biotwin"), "demo"], env={"BIOTWIN_HOME": str(out)})
    assert run.returncode == 0, run.stderr[-2000:]
    # a line per step as it starts and as it ends, printed while the run works (not buffered
    # to the end): dbt's start reached the reader well before its end
    for step in ("ref/reference_data", "raw/historian", "dbt_models", "twin/outcome_forecast"):
        assert f"▶ {step} started" in arrived and f"■ {step} done in" in arrived, step
    assert arrived["■ dbt_models done in"] - arrived["▶ dbt_models started"] > 5
    assert "  raw/historian: " in run.stdout and " rows loaded" in run.stdout  # its progress
    assert f"(pid {killed} is gone) marked failed, its warehouse pool slot freed" in run.stdout
    assert "dbt process(es) left by a killed run" not in run.stdout  # none was left
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
    """Every OpenLineage event the demo run emitted, against the official schemas; each
    Dagster run (the killed one and the demo's) has its own events, the parent of its assets'."""
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    complete = {o["name"] for e in events if e["eventType"] == "COMPLETE" for o in e["outputs"]}
    assert {"marts.dim_batch", "marts.fct_process_timeseries", "marts.dq_issues"} <= complete
    runs: dict[str, list[str]] = {}
    for event in events:
        if event["job"]["name"] == "dagster.job.main":
            runs.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert sorted(runs.values()) == [["START", "COMPLETE"], ["START", "FAIL"]], runs
    parents = {
        e["run"]["facets"]["parent"]["run"]["runId"]
        for e in events
        if "parent" in e["run"]["facets"] and e["job"]["name"].startswith("dagster.asset.")
    }
    assert parents == set(runs), "every asset's parent is a Dagster run with its own events"
    if not spec.SPEC.is_dir():
        pytest.skip(spec.MISSING)
    assert [(e["job"]["name"], spec.event_errors(e)) for e in events if spec.event_errors(e)] == []


def test_generate_rejects_too_few_batches(tmp_path: Path) -> None:
    gen = _run([str(BIN / "biotwin"), "generate", "--out", str(tmp_path), "--batches", "2"])
    assert gen.returncode != 0
    assert "at least 3" in gen.stderr


def test_a_dbt_that_outlived_its_run_is_stopped_by_the_next_run(tmp_path: Path) -> None:
    """Where dbt could not be bound to its parent (not Linux, or started by another tool), a
    `dbt` building this warehouse whose parent is gone is found and stopped; a dbt building
    another warehouse, and one whose parent lives, are left alone."""
    mine, other = tmp_path / "warehouse.duckdb", tmp_path / "other.duckdb"

    def orphan_dbt(warehouse: Path) -> None:
        arg = shlex.quote(json.dumps({"biotwin_warehouse": str(warehouse)}))
        python = shlex.quote(sys.executable)  # the binary itself (a shim would drop `-a`)
        sleeper = f"exec -a dbt {python} -c 'import time; time.sleep(60)' --vars {arg}"
        # `( … & )`: the shell that started it exits at once, so init adopts it
        subprocess.run(["bash", "-c", f"( {sleeper} & )"], check=True)

    orphan_dbt(mine)
    orphan_dbt(other)
    vars_ = json.dumps({"biotwin_warehouse": str(mine)})
    live = subprocess.Popen(  # a dbt whose parent (this test) lives
        ["dbt", "-c", "import time; time.sleep(60)", "--vars", vars_], executable=sys.executable
    )
    try:
        deadline = time.monotonic() + 5
        while not orphaned_dbt(mine) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = orphaned_dbt(mine)
        assert len(found) == 1 and live.pid not in found and len(orphaned_dbt(other)) == 1
        stop(found)
        assert orphaned_dbt(mine) == [] and all(process_start(p) is None for p in found)
        assert live.poll() is None
    finally:
        live.kill()
        stop(orphaned_dbt(mine) + orphaned_dbt(other))
