"""The pure lineage builders alone: column lineage from SQL, dbt artifacts to events, contract
checks to assertions."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.contracts.assertions import contract_assertions
from assets.contracts.lims import CONTRACT as lims
from lineage.column_lineage import column_sources
from lineage.dbt_events import DbtRunContext, dbt_node_events

CATALOGUE = {
    "raw": {"reading": {"tag": "VARCHAR", "value": "DOUBLE", "ts": "TIMESTAMP"}},
    "ref": {"units": {"from_unit": "VARCHAR", "factor": "DOUBLE", "offset": "DOUBLE"}},
    "staging": {"stg_reading": {"tag": "VARCHAR", "value_c": "DOUBLE"}},
}


def test_column_lineage_resolves_stars_ctes_and_expressions() -> None:
    sql = """
        with source as (select * from "wh"."raw"."reading"),
        converted as (
            select s.tag, s.value * u.factor + u."offset" as value_c
            from source s join "wh"."ref"."units" u on u.from_unit = s.tag
        )
        select * from converted
    """
    assert column_sources(sql, CATALOGUE) == {
        "tag": [("raw.reading", "tag")],
        "value_c": [("raw.reading", "value"), ("ref.units", "factor"), ("ref.units", "offset")],
    }


def test_column_lineage_of_unparseable_sql_is_empty() -> None:
    assert column_sources("select from where (", CATALOGUE) == {}


def _manifest() -> dict:
    def model(name: str, schema: str, parents: list[str]) -> dict:
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": schema,
            "original_file_path": f"models/{name}.sql",
            "depends_on": {"nodes": parents},
            "columns": {"value_c": {"description": "value in the canonical unit"}},
        }

    return {
        "sources": {
            "source.p.raw.reading": {
                "resource_type": "source",
                "name": "reading",
                "identifier": "reading",
                "schema": "raw",
            }
        },
        "nodes": {
            "model.p.stg_reading": model("stg_reading", "staging", ["source.p.raw.reading"]),
            "model.p.fct_reading": model("fct_reading", "marts", ["dbt.model.stg_reading"]),
            "model.p.fct_broken": model("fct_broken", "marts", ["dbt.model.stg_reading"]),
            "model.p.fct_after_broken": model("fct_after_broken", "marts", ["model.p.fct_broken"]),
            "dbt.seed.steps": {
                "resource_type": "seed",
                "name": "steps",
                "alias": "steps",
                "schema": "seeds",
                "original_file_path": "seeds/steps.csv",
                "depends_on": {"nodes": []},
            },
            "test.p.not_null_stg_reading_value_c": {
                "resource_type": "test",
                "name": "not_null_stg_reading_value_c",
                "attached_node": "model.p.stg_reading",
                "column_name": "value_c",
                "test_metadata": {"name": "not_null"},
                "depends_on": {"nodes": ["dbt.model.stg_reading"]},
            },
        },
        "unit_tests": {},
    }


def _result(uid: str, status: str, message: str = "OK") -> dict:
    timing = [
        {
            "name": "execute",
            "started_at": "2026-11-26T10:00:00.000000Z",
            "completed_at": "2026-11-26T10:00:02.500000Z",
        }
    ]
    code = 'select tag, value as value_c from "wh"."raw"."reading"' if "stg" in uid else None
    return {
        "unique_id": uid,
        "status": status,
        "message": message,
        "timing": timing,
        "compiled_code": code,
    }


def test_dbt_artifacts_become_start_and_end_events_per_node_that_ran() -> None:
    ctx = DbtRunContext(
        dagster_run_id="2f1d7c52-1d0e-4c55-9a4b-0d9b3a9e7a11",
        parent=("8c3d5f0a-2b4e-4b7e-9f61-3c2a1d0e9b87", "biotwin", "dagster.asset.dbt_models"),
        root=("2f1d7c52-1d0e-4c55-9a4b-0d9b3a9e7a11", "biotwin", "dagster.job.main"),
        job_namespace="biotwin",
        warehouse_namespace="duckdb:///plant/warehouse.duckdb",
        code_version="git:abc",
        project_url="file:///biotwin",
        project_dir=Path("/biotwin/dbt_project"),
    )
    run_results = {
        "results": [
            _result("dbt.seed.steps", "success"),
            _result("model.p.stg_reading", "success"),
            _result("test.p.not_null_stg_reading_value_c", "fail"),
            _result("model.p.fct_reading", "success"),
            _result("model.p.fct_broken", "error", "Binder Error: column x not found"),
            _result("model.p.fct_after_broken", "skipped"),
        ]
    }
    emitted = dbt_node_events(_manifest(), run_results, CATALOGUE, ctx)
    by_job = {}
    for event in emitted:
        by_job.setdefault(event["job"]["name"], []).append(event)
    assert set(by_job) == {
        "dbt.seed.steps",
        "dbt.model.stg_reading",
        "dbt.model.fct_reading",
        "dbt.model.fct_broken",
    }, "a skipped node did not run: no events"
    assert [e["eventType"] for e in by_job["dbt.model.fct_broken"]] == ["START", "FAIL"]
    fail = by_job["dbt.model.fct_broken"][1]
    assert fail["run"]["facets"]["errorMessage"]["message"] == "Binder Error: column x not found"

    start, complete = by_job["dbt.model.stg_reading"]
    assert start["eventTime"].startswith("2026-11-26T10:00:00")
    assert complete["eventTime"].startswith("2026-11-26T10:00:02.5")
    assert start["run"]["runId"] == complete["run"]["runId"]
    parent = complete["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == ctx.parent[0]
    assert parent["root"]["run"]["runId"] == ctx.root[0], "the Dagster run is the root"
    assert parent["root"]["job"]["name"] == "dagster.job.main"
    assert [(i["namespace"], i["name"]) for i in complete["inputs"]] == [
        (ctx.warehouse_namespace, "raw.reading")
    ]
    output = complete["outputs"][0]
    assert output["name"] == "staging.stg_reading"
    fields = output["facets"]["schema"]["fields"]
    assert [(f["name"], f.get("description")) for f in fields] == [
        ("tag", None),
        ("value_c", "value in the canonical unit"),
    ]
    lineage = output["facets"]["columnLineage"]["fields"]["value_c"]["inputFields"]
    assert [(i["name"], i["field"]) for i in lineage] == [("raw.reading", "value")]
    assertions = output["facets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a["column"]) for a in assertions] == [
        ("not_null", False, "value_c")
    ]
    assert complete["job"]["facets"]["sourceCodeLocation"]["version"] == "git:abc"

    seed_complete = by_job["dbt.seed.steps"][1]
    assert seed_complete["inputs"][0]["namespace"] == "file"
    assert seed_complete["inputs"][0]["name"].endswith("/biotwin/dbt_project/seeds/steps.csv")

    again = dbt_node_events(_manifest(), run_results, CATALOGUE, ctx)
    assert [e["run"]["runId"] for e in again] == [e["run"]["runId"] for e in emitted]


def test_contract_assertions_fail_exactly_the_checks_that_quarantined_rows() -> None:
    declared = lims.checks()
    assert ("RESULT_STATUS:not_nullable", "RESULT_STATUS") in declared
    failed = ["SAMPLE_NUMBER:str_matches('^\\d+$'); TEXT_ID:not_nullable", "csv:header"]
    assertions = contract_assertions(lims, failed)
    assert {name for name, ok, _ in assertions if not ok} == {
        "SAMPLE_NUMBER:str_matches('^\\d+$')",
        "TEXT_ID:not_nullable",
        "csv:header",
    }
    assert len(assertions) == len(declared) + 1
    assert all(ok for _, ok, _ in contract_assertions(lims, []))


def test_the_warehouse_namespace_names_the_installation_not_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copied, moved or restored warehouse is the same datasource in a lineage backend."""
    from lineage.naming import warehouse_namespace

    monkeypatch.delenv("OPENLINEAGE_NAMESPACE", raising=False)
    assert warehouse_namespace() == "duckdb://biotwin"
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "bos-prod")
    assert warehouse_namespace() == "duckdb://bos-prod"


def test_column_lineage_is_remembered_by_statement_and_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same model on another copy of the warehouse (another database name in the SQL)
    reuses the answer; a changed schema computes it again."""
    from lineage import column_lineage as cl

    catalogue = {"raw": {"t": {"a": "INTEGER", "b": "VARCHAR"}}}
    sql = 'SELECT a AS x, b FROM "w1"."raw"."t"'
    cache: dict = {}
    digest = cl.catalogue_digest(catalogue)
    first = cl.cached_column_sources(sql, "w1", catalogue, digest, cache)
    assert first == {"x": [("raw.t", "a")], "b": [("raw.t", "b")]}
    monkeypatch.setattr(cl, "column_sources", lambda *a, **k: pytest.fail("not remembered"))
    copy = 'SELECT a AS x, b FROM "w2"."raw"."t"'
    assert cl.cached_column_sources(copy, "w2", catalogue, digest, cache) == first
    wider = {"raw": {"t": {"a": "INTEGER", "b": "VARCHAR", "c": "DOUBLE"}}}
    assert cl.catalogue_digest(wider) != digest
