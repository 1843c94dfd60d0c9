"""The dbt glue's pure parts: command lines, asset keys, and the asset graph they produce."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import AssetKey

from orchestration.dbt import TRANSLATOR
from orchestration.dbt_cli import (
    MANIFEST,
    PARSE_STATE,
    build_args,
    dbt_state_dir,
    finish_build_target,
    new_build_target,
)


def test_build_args_pass_the_warehouse_as_a_var_and_full_refresh_on_request() -> None:
    args = build_args(Path("/data/wh.duckdb"))
    assert args[0] == "build" and "--full-refresh" not in args
    assert json.loads(args[args.index("--vars") + 1]) == {"biotwin_warehouse": "/data/wh.duckdb"}
    assert build_args(Path("/x"), full_refresh=True)[-1] == "--full-refresh"


def test_the_spark_engine_builds_the_spark_target_from_the_lake_in_its_own_home() -> None:
    args = build_args(
        Path("/h/w.duckdb"), engine="spark", lake=Path("/h/lake"), spark_home=Path("/h/spark")
    )
    assert args[args.index("--target") + 1] == "spark"
    assert json.loads(args[args.index("--vars") + 1]) == {
        "biotwin_warehouse": "/h/w.duckdb",
        "biotwin_lake": "/h/lake",
        "biotwin_spark_home": "/h/spark",
    }
    assert "--target" not in build_args(Path("/h/w.duckdb"))


def test_a_spark_build_without_the_spark_engine_says_how_to_install_it(monkeypatch) -> None:
    import importlib.util

    import pytest

    from assets.resources import PlantPaths
    from orchestration.dbt import before_spark_build

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    with pytest.raises(RuntimeError, match=r"BIOTWIN_ENGINE=spark, but .* `make install-spark`"):
        before_spark_build(PlantPaths(warehouse="/nonexistent/w.duckdb"), print)


def test_each_build_starts_from_the_last_parse_state_and_only_the_newest_builds_stay(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    first = new_build_target(warehouse, "run-one")
    assert first.parent.parent == dbt_state_dir(warehouse) == tmp_path / "warehouse.dbt"
    assert not (first / PARSE_STATE).exists()  # nothing parsed yet: dbt parses whole
    (first / PARSE_STATE).write_bytes(b"state of build one")
    finish_build_target(first, warehouse, keep=2)
    targets = [first]
    for n in range(3):
        target = new_build_target(warehouse, f"run-{n}")
        assert (target / PARSE_STATE).read_bytes() == b"state of build one"
        targets.append(target)
        finish_build_target(target, warehouse, keep=2)  # dbt wrote no new state: kept as is
    assert sorted((dbt_state_dir(warehouse) / "builds").iterdir()) == targets[-2:]


def test_models_are_keyed_by_schema_and_sources_by_the_asset_that_writes_them() -> None:
    """Keys come from metadata alone: a model's schema, a source's `meta.dagster.asset_key`.
    Every source of the real manifest is keyed to a Python asset that writes it, so no dbt
    source is an asset nothing materialises."""
    from assets.landing import BOOKKEEPING_SPECS, INGESTION_ASSETS, reference_data

    written = {a.key for a in [reference_data, *INGESTION_ASSETS]}
    written |= {spec.key for spec in BOOKKEEPING_SPECS}
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    keys = {uid: TRANSLATOR.get_asset_key(props) for uid, props in manifest["sources"].items()}
    assert {uid: key for uid, key in keys.items() if key not in written} == {}
    assert keys["source.biotwin.mes.mes_phase"] == AssetKey(["raw", "mes"])
    assert keys["source.biotwin.ref.tags"] == AssetKey(["ref", "reference_data"])
    assert keys["source.biotwin.ingest.file_ledger"] == AssetKey(["raw", "file_ledger"])
    model = manifest["nodes"]["model.biotwin.dim_batch"]
    assert TRANSLATOR.get_asset_key(model) == AssetKey(["marts", "dim_batch"])


def test_asset_graph_wires_dbt_to_the_ingestion_assets() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"marts/fct_process_timeseries", "marts/dq_issues", "raw/historian"} <= keys
    phases = graph.get(AssetKey(["staging", "stg_mes__phases"]))
    parents = {p.to_user_string() for p in phases.parent_keys}
    assert parents == {"raw/mes"}
    # reference data reaches the conforming models through its staging models only
    conformed = graph.get(AssetKey(["intermediate", "int_historian__points_conformed"]))
    assert AssetKey(["staging", "stg_ref__tags"]) in conformed.parent_keys
    assert AssetKey(["ref", "reference_data"]) not in conformed.parent_keys
    tags = graph.get(AssetKey(["staging", "stg_ref__tags"]))
    assert tags.parent_keys == {AssetKey(["ref", "reference_data"])}
    checks = {
        c.name for c in graph.asset_check_keys if c.asset_key == AssetKey(["marts", "dim_batch"])
    }
    assert "unique_dim_batch_batch_id" in checks
    dbt_node = graph.get(AssetKey(["marts", "dim_batch"]))
    assert dbt_node.pools == {"warehouse"}


def test_the_main_job_runs_dbt_after_every_ingestion_asset() -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("main")
    invocation = next(n for n in job.dependencies if n.name == "dbt_models")
    upstream = {
        d.node for dep in job.dependencies[invocation].values() for d in dep.get_node_dependencies()
    }
    assert upstream == {
        "ref__reference_data",
        "raw__historian",
        "raw__lims",
        "raw__mes",
        "raw__instruments",
        "raw__custody",
    }


def test_the_dbt_launcher_answers_the_version_without_starting_dbt() -> None:
    """dagster-dbt asks `<dbt_executable> --version` before every command; the launcher
    answers from package metadata (no import of dbt, no lookup of the latest release)."""
    import subprocess
    from importlib.metadata import version

    from dagster_dbt import DbtCliResource

    from orchestration.dbt_cli import DBT_DIR, dbt_executable

    assert dbt_executable().endswith("biotwin-dbt")
    done = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert f"installed: {version('dbt-core')}" in done.stdout
    resource = DbtCliResource(project_dir=str(DBT_DIR), dbt_executable=dbt_executable())
    assert str(resource._cli_version) == version("dbt-core")
