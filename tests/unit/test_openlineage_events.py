"""OpenLineage events and facets built by lineage/ validate against the official JSON schemas
(../shared/openlineage-spec, where https://openlineage.io/spec/ points), each facet against its
own schema as named by its _schemaURL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage import events, facets
from tests import openlineage_schema as spec


@pytest.fixture(scope="module", autouse=True)
def _spec() -> None:
    if not spec.SPEC.is_dir():
        pytest.skip(spec.MISSING)


def _event(state: str) -> dict:
    warehouse = "duckdb://biotwin/warehouse"
    dbt_asset = (events.run_id("dagster-run-1", "dbt"), "biotwin", "dagster.asset.dbt_models")
    dagster_run = (events.run_id("dagster-run-1"), "biotwin", "dagster.job.main")
    run_facets = {"parent": facets.parent(dbt_asset, dagster_run)}
    if state == "FAIL":
        run_facets["errorMessage"] = facets.error_message("Binder Error: no column x", "trace")
    event = events.run_event(
        state,
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        events.run_id("dagster-run-1", "marts.fct_lab_result"),
        "biotwin",
        "dbt.model.fct_lab_result",
        inputs=[(warehouse, "intermediate.int_lims__result_versions", {})],
        outputs=[
            (
                warehouse,
                "marts.fct_lab_result",
                {
                    "schema": facets.schema([("value", "DOUBLE", "canonical value")]),
                    "columnLineage": facets.column_lineage(
                        {"value": [(warehouse, "intermediate.int_lims__result_versions", "value")]}
                    ),
                    "dataQualityAssertions": facets.quality_assertions(
                        [("not_null", True, "result_id"), ("unique_combination", False, None)]
                    ),
                },
            )
        ],
        run_facets=run_facets,
        job_facets={"sourceCodeLocation": facets.code_location("git:abc", "file:///biotwin")},
    )
    return events.to_dict(event)


@pytest.mark.parametrize("state", ["START", "COMPLETE", "FAIL"])
def test_event_and_every_facet_validate(state: str) -> None:
    event = _event(state)
    assert spec.event_errors(event) == []
    assert len(list(spec.all_facets(event))) == (6 if state == "FAIL" else 5)


def test_an_invalid_event_or_facet_is_refused() -> None:
    event = _event("COMPLETE")
    event["run"]["runId"] = 42
    assert any(e.startswith("event:") for e in spec.event_errors(event))
    event = _event("COMPLETE")
    event["outputs"][0]["facets"]["schema"]["fields"][0]["name"] = 7
    assert any(e.startswith("schema:") for e in spec.event_errors(event))


def test_run_ids_are_deterministic_uuids() -> None:
    import uuid

    one = events.run_id("dagster-run-1", "marts.dim_batch")
    assert one == events.run_id("dagster-run-1", "marts.dim_batch")
    assert one != events.run_id("dagster-run-2", "marts.dim_batch")
    assert uuid.UUID(one).version == 5
