"""OpenLineage events of a real run (ingestion + dbt through Dagster, in-process): they validate,
every mart is the output of a COMPLETE event, and inputs lead from any mart back to the landing
files; a failing dbt model gives FAIL and its downstream does not run."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.resources import PlantPaths
from lineage.naming import FILE_NAMESPACE, warehouse_namespace
from tests import openlineage_schema as spec
from tests.conftest import lineage_dir
from tests.integration.test_conformed import MARTS


def _events(folder: Path) -> list[dict]:
    with (folder / "events.jsonl").open() as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def run_events(conformed: Path) -> list[dict]:
    return _events(lineage_dir(conformed))


def test_every_event_and_facet_validates_against_the_official_schema(
    run_events: list[dict], shared_dir: Path
) -> None:
    assert spec.SPEC.is_dir(), spec.MISSING
    invalid = {
        (e["job"]["name"], e["eventType"]): spec.event_errors(e)[:3]
        for e in run_events
        if spec.event_errors(e)
    }
    assert invalid == {}
    facet_names = {name for e in run_events for name, _ in spec.all_facets(e)}
    assert {
        "parent",
        "errorMessage",
        "schema",
        "columnLineage",
        "dataQualityAssertions",
        "sourceCodeLocation",
        "sql",
        "jobType",
    } - facet_names == {"errorMessage"}, "every facet kind is emitted (no failure in this run)"


def test_every_run_has_start_then_one_end(run_events: list[dict]) -> None:
    by_run = defaultdict(list)
    for event in run_events:
        by_run[event["run"]["runId"]].append(event["eventType"])
    assert by_run and all(types == ["START", "COMPLETE"] for types in by_run.values())
    jobs = {e["job"]["name"] for e in run_events}
    assert {
        "dagster.asset.ref.reference_data",
        "dagster.asset.raw.historian",
        "dagster.asset.raw.lims",
        "dagster.asset.dbt_models",
    } <= jobs
    assert "dbt.model.fct_lab_result" in jobs


def _producers(run_events: list[dict]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Dataset -> the datasets read by the COMPLETE runs that wrote it."""
    out: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for event in run_events:
        if event["eventType"] == "COMPLETE":
            for output in event["outputs"]:
                out[(output["namespace"], output["name"])] |= {
                    (i["namespace"], i["name"]) for i in event["inputs"]
                }
    return out


def test_every_mart_leads_back_to_landing_and_reference_files(
    run_events: list[dict], conformed: Path, plant_dir: Path
) -> None:
    producers = _producers(run_events)
    namespace = warehouse_namespace()
    landing = (plant_dir / "landing").resolve().as_posix()
    for mart in sorted(MARTS):
        start = (namespace, f"marts.{mart}")
        assert start in producers, f"{mart} is not the output of a COMPLETE event"
        files = {name for ns, name in _ancestors(producers, start) if ns == FILE_NAMESPACE}
        if mart in ("dim_site", "dim_parameter"):  # reference data only
            assert f"{mart[4:]}s.csv" in {f.rsplit("/", 1)[-1] for f in files}, mart
        else:
            assert any(f.startswith(landing + "/") for f in files), mart
    walked = _ancestors(producers, (namespace, "marts.fct_process_timeseries"))
    assert any("/landing/historian/" in name for _, name in walked)
    assert (namespace, "ref.units") in walked and (namespace, "ref.tags") in walked


def _ancestors(producers, start):
    seen, todo = set(), [start]
    while todo:
        dataset = todo.pop()
        if dataset not in seen:
            seen.add(dataset)
            todo += producers.get(dataset, ())
    return seen


def test_dbt_model_runs_are_children_of_the_dagster_asset_run(
    run_events: list[dict], conformed_run
) -> None:
    dbt_asset = [e for e in run_events if e["job"]["name"] == "dagster.asset.dbt_models"]
    asset_run = dbt_asset[0]["run"]["runId"]
    assert dbt_asset[0]["run"]["facets"]["parent"]["run"]["runId"] == conformed_run[1].run_id
    assert dbt_asset[0]["run"]["facets"]["parent"]["job"]["name"].startswith("dagster.job.")
    models = [e for e in run_events if e["job"]["name"].startswith("dbt.model.")]
    assert len(models) >= 2 * len(MARTS)
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in models} == {asset_run}
    assert all(e["job"]["facets"]["sourceCodeLocation"]["version"] for e in models)
    complete = {e["job"]["name"]: e["outputs"][0] for e in models if e["eventType"] == "COMPLETE"}
    lab = complete["dbt.model.fct_lab_result"]["facets"]
    assert lab["dataQualityAssertions"]["assertions"], "dbt tests on the mart"
    assert all(a["success"] for a in lab["dataQualityAssertions"]["assertions"])
    assert {f["name"] for f in lab["schema"]["fields"]} >= {"result_id", "value", "unit"}
    series = complete["dbt.model.fct_process_timeseries"]["facets"]["columnLineage"]
    value_from = {(i["name"], i["field"]) for i in series["fields"]["value"]["inputFields"]}
    # the mart aligns the conformed readings itself (macros/historian_alignment.sql), for the
    # batches a build touches: its values come from them
    assert ("intermediate.int_historian__points_conformed", "value") in value_from
    ingestion = next(e for e in run_events if e["job"]["name"] == "dagster.asset.raw.historian")
    assert ingestion["run"]["facets"]["parent"]["job"]["name"].startswith("dagster.job.")


def test_ingestion_assertions_name_what_the_contract_quarantined(
    run_events: list[dict], conformed: Path
) -> None:
    with duckdb.connect(str(conformed), read_only=True) as con:
        quarantined = con.execute(
            "SELECT DISTINCT contract, check_name FROM raw.quarantine"
        ).fetchall()
    assert quarantined, "the plant has malformed files"
    table = {"lims": "raw.lims_result", "mes": "raw.mes_batch_record"}
    for contract, check in quarantined:
        if contract not in table:
            continue
        complete = next(
            e
            for e in run_events
            if e["job"]["name"] == f"dagster.asset.raw.{contract}" and e["eventType"] == "COMPLETE"
        )
        output = next(o for o in complete["outputs"] if o["name"] == table[contract])
        failed = {
            a["assertion"]
            for a in output["facets"]["dataQualityAssertions"]["assertions"]
            if not a["success"]
        }
        assert set(check.split("; ")) <= failed
        assert any(i["namespace"] == FILE_NAMESPACE for i in complete["inputs"])


def test_a_failing_dbt_model_gives_fail_and_its_downstream_does_not_run(
    ingested: Path, tmp_path: Path
) -> None:
    """Schema drift in a raw table breaks the custody staging model."""
    from orchestration.dbt import dbt_models, dbt_resource

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE OR REPLACE VIEW raw.custody_event AS SELECT 1 AS drifted")
    chain = [
        AssetKey(["staging", "stg_custody__events"]),
        AssetKey(["intermediate", "int_custody__events_ordered"]),
        AssetKey(["marts", "fct_custody_event"]),
        AssetKey(["marts", "fct_chain_of_identity"]),
    ]
    result = materialize(
        [dbt_models()],
        selection=chain,
        resources={
            "dbt": dbt_resource(),
            "paths": PlantPaths(warehouse=str(warehouse), lineage=str(lineage_dir(warehouse))),
        },
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert result.get_asset_materialization_events() == [], "nothing downstream materialised"
    emitted = _events(lineage_dir(warehouse))
    types = defaultdict(list)
    for event in emitted:
        types[event["job"]["name"]].append(event["eventType"])
    assert types["dbt.model.stg_custody__events"] == ["START", "FAIL"]
    fail = next(
        e
        for e in emitted
        if e["job"]["name"] == "dbt.model.stg_custody__events" and e["eventType"] == "FAIL"
    )
    assert "Binder Error" in fail["run"]["facets"]["errorMessage"]["message"]
    for downstream in chain[1:]:
        assert f"dbt.model.{downstream.path[-1]}" not in types
    assert types["dagster.asset.dbt_models"] == ["START", "FAIL"]
    if spec.SPEC.is_dir():
        assert [spec.event_errors(e) for e in emitted if spec.event_errors(e)] == []
