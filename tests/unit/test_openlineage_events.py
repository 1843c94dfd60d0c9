"""OpenLineage events and facets built by lineage/ validate against the official JSON schemas
(../shared/openlineage-spec, where https://openlineage.io/spec/ points), each facet against its
own schema as named by its _schemaURL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from lineage import events, facets

SPEC = Path(__file__).resolve().parents[3] / "shared" / "openlineage-spec"
BASE = "https://openlineage.io/spec/"


@pytest.fixture(scope="module")
def registry() -> Registry:
    if not SPEC.is_dir():
        pytest.skip(f"official OpenLineage schemas not found at {SPEC}")
    resources = []
    for path in SPEC.rglob("*.json"):
        uri = BASE + path.relative_to(SPEC).as_posix()
        resources.append((uri, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


def _validate(registry: Registry, instance: dict, schema_url: str) -> None:
    document, _, fragment = schema_url.partition("#")
    schema = {"$ref": schema_url} if fragment else {"$ref": document}
    errors = list(Draft202012Validator(schema, registry=registry).iter_errors(instance))
    assert errors == [], [e.message for e in errors]


def _all_facets(event: dict):
    yield from event["run"]["facets"].values()
    yield from event["job"]["facets"].values()
    for dataset in event["inputs"] + event["outputs"]:
        yield from dataset["facets"].values()


def _event(state: str) -> dict:
    warehouse = "duckdb://biotwin/warehouse"
    run_facets = {"parent": facets.parent(events.run_id("dagster-run-1"), "biotwin", "main")}
    if state == "FAIL":
        run_facets["errorMessage"] = facets.error_message("Binder Error: no column x", "trace")
    event = events.run_event(
        state,
        datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        events.run_id("dagster-run-1", "marts.fct_lab_result"),
        "biotwin",
        "marts.fct_lab_result",
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
def test_event_and_every_facet_validate(registry: Registry, state: str) -> None:
    event = _event(state)
    _validate(registry, event, event["schemaURL"])
    seen = 0
    for facet in _all_facets(event):
        _validate(registry, facet, facet["_schemaURL"])
        seen += 1
    assert seen == (6 if state == "FAIL" else 5)


def test_an_invalid_event_is_refused(registry: Registry) -> None:
    event = _event("COMPLETE")
    event["run"]["runId"] = 42
    with pytest.raises(AssertionError):
        _validate(registry, event, event["schemaURL"])


def test_run_ids_are_deterministic_uuids() -> None:
    import uuid

    one = events.run_id("dagster-run-1", "marts.dim_batch")
    assert one == events.run_id("dagster-run-1", "marts.dim_batch")
    assert one != events.run_id("dagster-run-2", "marts.dim_batch")
    assert uuid.UUID(one).version == 5
