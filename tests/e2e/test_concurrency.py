"""Runs beside other processes, as a plant has them: two first runs on an empty home, a run
while a scientist's read-only client holds the warehouse. Real processes, real files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from biotwin.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
SELECT = "ref/reference_data"  # a run that writes the warehouse and needs no landing zone


def _start(home: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "biotwin"), "run", "--select", SELECT],
        cwd=PROJECT_ROOT,
        env={**os.environ, "BIOTWIN_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _hold_read_only(warehouse: Path, seconds: float) -> subprocess.Popen:
    """A reader in another process (a notebook, a BI tool) holding the file `seconds`."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print('held', flush=True); time.sleep(float(sys.argv[2]))"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "held"
    return reader


def test_two_first_runs_on_an_empty_home_both_create_the_instance(tmp_path: Path) -> None:
    """Where two first runs raced (`table jobs already exists`): three processes open the
    Dagster instance of one empty home at once, as `biotwin run` does before it runs."""
    home = tmp_path / "home"
    code = "from orchestration.cli import _instance; print(len(_instance().get_runs()))"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            env={**os.environ, "BIOTWIN_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for start in starts:
        out, err = start.communicate(timeout=120)
        assert start.returncode == 0 and out.strip() == "0", err[-2000:]


def test_a_run_waits_for_a_reader_then_proceeds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    warehouse = home / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = _hold_read_only(warehouse, 600.0)
    run = _start(home)
    # the reader lets go only once the run says it waits (however slowly the run starts)
    said = []
    for line in run.stderr:
        said.append(line)
        if "waiting up to" in line:
            break
    time.sleep(1.0)  # still held a moment after: the run keeps waiting, it does not fail
    reader.kill()
    reader.wait()
    out, err = run.communicate(timeout=300)
    err = "".join(said) + err
    assert run.returncode == 0 and "succeeded" in out, err[-2000:]
    assert f"the warehouse {warehouse} is held by" in err and "waiting up to 120 s" in err


def test_a_writer_that_waited_too_long_names_the_holder(tmp_path: Path) -> None:
    """The deadline, without a whole run: what the step that waited fails with (the run's
    failure report prints it as its last lines, docs/operations.md)."""
    from biotwin.warehouse import WarehouseBusy, open_waiting

    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    reader = _hold_read_only(warehouse, 30.0)
    said: list[str] = []
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as refused:
            open_waiting(warehouse, read_only=False, wait_s=1.5, say=said.append)
        waited = time.monotonic() - started
    finally:
        reader.kill()
        reader.wait()
    assert 1.0 <= waited < 5.0
    assert len(said) == 1 and "waiting up to 1.5 s" in said[0]
    message = str(refused.value)
    assert f"(PID {reader.pid})" in message and "for more than 1.5 s" in message
    assert "\n" not in message
    open_waiting(warehouse, read_only=False, wait_s=0).close()  # free again once it let go
