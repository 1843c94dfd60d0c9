"""Shared fixtures: one generated plant per test session (12 batches, seed 7, default period)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from hypothesis import settings as hypothesis_settings

from assets.landing import INGESTION_ASSETS, reference_data
from assets.resources import PlantPaths
from orchestration.dbt_cli import prepare_manifest
from synthetic.generate import DEFAULT_START, generate

# Property tests draw the same examples on every run and keep no example database between runs:
# a pass is not luck and a failure reproduces from the test alone. `pytest
# --hypothesis-profile=explore` searches fresh examples (turn a failure it finds into @example).
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile("deterministic")

PLANT_BATCHES = 12
PLANT_SEED = 7
VALIDATION_BATCHES = 80  # the twin's targets are measured on a plant of this size
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"
_VALIDATION_BUILD = pytest.StashKey[tuple[subprocess.Popen, Path]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """The dbt manifest the Dagster definitions read, prepared explicitly before collection.
    Tests write landing files and ingest them at once, and their files are complete when
    written: no settle window (the default is 3 s), which would only add waits; the tests of
    the rule itself set their own (tests/integration/test_hostile_files.py)."""
    os.environ.setdefault("BIOTWIN_SETTLE_SECONDS", "0")
    prepare_manifest()


def pytest_collection_finish(session: pytest.Session) -> None:
    """When a test needs the validation plant, start building it now in a separate process
    (tests/plant_builder.py): about 4.5 minutes of mostly single-threaded parsing that would
    otherwise run alone after everything else."""
    if not any(item.get_closest_marker("validation_plant") for item in session.items):
        return
    out = Path(tempfile.mkdtemp(prefix="biotwin-validation-plant-"))
    with (out / "build.log").open("w") as log:
        process = subprocess.Popen(
            [
                # at low priority: it uses the core the tests leave idle, instead of slowing
                # the tests that run two processes at once (the suite's wall time)
                "nice",
                "-n",
                "15",
                sys.executable,
                "-m",
                "tests.plant_builder",
                str(out / "plant"),
                str(VALIDATION_BATCHES),
                str(PLANT_SEED),
            ],
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    session.config.stash[_VALIDATION_BUILD] = (process, out)


def pytest_sessionfinish(session: pytest.Session) -> None:
    build = session.config.stash.get(_VALIDATION_BUILD, None)
    if build is not None:
        process, out = build
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def validation_plant(request: pytest.FixtureRequest) -> Path:
    """The home of the 80-batch plant (seed PLANT_SEED) built in the background: landing,
    reference, manifest.json and warehouse.duckdb after the real ingestion and dbt build."""
    build = request.config.stash.get(_VALIDATION_BUILD, None)
    assert build is not None, "mark the test with @pytest.mark.validation_plant"
    process, out = build
    if process.wait() != 0:
        log = (out / "build.log").read_text(encoding="utf-8")
        pytest.fail(f"building the validation plant failed:\n{log[-4000:]}")
    return out / "plant"


@pytest.fixture(scope="session")
def plant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plant")
    generate(out, PLANT_BATCHES, PLANT_SEED, DEFAULT_START)
    return out


@pytest.fixture(scope="session")
def manifest(plant_dir: Path) -> dict:
    return json.loads((plant_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared is missing (looked for {SHARED}): instrument examples and "
            "OpenLineage schemas live there"
        )
    return SHARED


def lineage_dir(warehouse: Path) -> Path:
    """Where a test's runs write OpenLineage events: beside the test's warehouse."""
    return warehouse.parent / "lineage"


def run_assets(landing: Path, warehouse: Path, reference: Path):
    """Materialise reference data and every ingestion asset in-process (real Dagster)."""
    result = materialize(
        [reference_data, *INGESTION_ASSETS],
        resources={
            "paths": PlantPaths(
                landing=str(landing),
                warehouse=str(warehouse),
                reference=str(reference),
                lineage=str(lineage_dir(warehouse)),
            )
        },
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    return result


@pytest.fixture(scope="session")
def ingested(plant_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session plant ingested into a DuckDB warehouse through the Dagster assets."""
    warehouse = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    run_assets(plant_dir / "landing", warehouse, plant_dir / "reference")
    return warehouse


def run_dbt(warehouse: Path, full_refresh: bool = False):
    """The dbt asset (dbt build as the real CLI) materialised in-process against `warehouse`."""
    from orchestration.dbt import dbt_models, dbt_resource

    result = materialize(
        [dbt_models()],
        resources={
            "dbt": dbt_resource(),
            "paths": PlantPaths(warehouse=str(warehouse), lineage=str(lineage_dir(warehouse))),
        },
        instance=DagsterInstance.ephemeral(),
        run_config={"ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}}},
        raise_on_error=False,
    )
    return result


@pytest.fixture(scope="session")
def conformed_run(ingested: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the ingested warehouse after the dbt asset ran: (warehouse, Dagster result)."""
    import shutil

    warehouse = tmp_path_factory.mktemp("conformed") / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    # the ingestion's events beside the copy: the same warehouse, so the same namespace
    lineage_dir(warehouse).mkdir()
    shutil.copy(lineage_dir(ingested) / "events.jsonl", lineage_dir(warehouse) / "events.jsonl")
    return warehouse, run_dbt(warehouse)


@pytest.fixture(scope="session")
def conformed(conformed_run) -> Path:
    """The conformed session warehouse, published for the reader commands."""
    warehouse, result = conformed_run
    assert result.success, "dbt build through Dagster failed"
    publish_for_readers(warehouse)
    return warehouse


def publish_for_readers(warehouse: Path) -> None:
    """Publish `warehouse` as a run's last step does, beside it (where the reader commands
    look when BIOTWIN_WAREHOUSE names it: biotwin query, trace, twin report and simulate)."""
    from biotwin.publication import publish
    from biotwin.warehouse import connect

    con = connect(warehouse)
    try:
        publish(con, warehouse, warehouse.parent / "published", "test-run", "test", keep=5)
    finally:
        con.close()


POSTGRES_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """A real PostgreSQL (scripts/postgres.sh: Debian's package, installed if absent) under a
    fresh home searchable by the server's user, on a free port of 127.0.0.1, stopped when the
    session ends; its credentials as the environment a run gets."""
    home = Path(tempfile.mkdtemp(prefix="biotwin-pg-"))
    home.chmod(0o755)
    env = {**os.environ, "BIOTWIN_HOME": str(home), "BIOTWIN_POSTGRES_PORT": str(_free_port())}
    started = subprocess.run(
        ["bash", str(POSTGRES_SCRIPT), "start"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    creds = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield creds
    finally:
        subprocess.run(
            ["bash", str(POSTGRES_SCRIPT), "stop"], env=env, capture_output=True, check=False
        )
        shutil.rmtree(home, ignore_errors=True)
