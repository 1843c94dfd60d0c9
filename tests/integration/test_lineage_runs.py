"""A Dagster run's own OpenLineage events (the parent of its assets' events), written by the
`lineage_dagster_runs` sensor from the run records of a real Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import DagsterInstance, asset, build_sensor_context, materialize

from assets.resources import PlantPaths
from lineage.asset_run import openlineage_run
from orchestration.lineage_runs import lineage_dagster_runs
from tests import openlineage_schema as spec


def _assets(outbox: Path):
    @asset
    def works(context) -> None:
        with openlineage_run(outbox, context.run.run_id, context.run.job_name, "works", "t.py"):
            pass

    @asset
    def breaks(context) -> None:
        with openlineage_run(outbox, context.run.run_id, context.run.job_name, "breaks", "t.py"):
            raise ValueError("the flow meter is gone")

    return works, breaks


def _events(outbox: Path) -> list[dict]:
    return [json.loads(line) for line in (outbox / "events.jsonl").read_text().splitlines()]


def test_each_run_gets_its_own_start_and_end_and_its_assets_point_to_it(tmp_path: Path) -> None:
    outbox = tmp_path / "lineage"
    works, breaks = _assets(outbox)
    instance = DagsterInstance.ephemeral()
    good = materialize([works], instance=instance)
    bad = materialize([breaks], instance=instance, raise_on_error=False)
    assert good.success and not bad.success
    before = len(_events(outbox))  # the assets' own events only
    assert before == 4

    def tick(cursor: str | None = None):
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"paths": PlantPaths(lineage=str(outbox))}
        )
        return lineage_dagster_runs(context), context.cursor

    skip, cursor = tick()
    assert "4 lineage events from 2 changed runs" in skip.skip_message
    events = _events(outbox)[before:]
    by_run = {}
    for event in events:
        by_run.setdefault(event["run"]["runId"], []).append(event)
    assert set(by_run) == {good.run_id, bad.run_id}, "the run id is the Dagster run id"
    assert [e["eventType"] for e in by_run[good.run_id]] == ["START", "COMPLETE"]
    assert [e["eventType"] for e in by_run[bad.run_id]] == ["START", "FAIL"]
    assert by_run[good.run_id][0]["job"]["name"].startswith("dagster.job.")
    assert by_run[good.run_id][0]["eventTime"] <= by_run[good.run_id][1]["eventTime"]
    message = by_run[bad.run_id][1]["run"]["facets"]["errorMessage"]["message"]
    assert "breaks" in message, message

    # each asset's parent is its run's own job, by run id and by name
    for event in _events(outbox)[:before]:
        parent = event["run"]["facets"]["parent"]
        own = by_run[parent["run"]["runId"]][0]["job"]
        assert (parent["job"]["namespace"], parent["job"]["name"]) == (
            own["namespace"],
            own["name"],
        )
        assert event["job"]["name"] in ("dagster.asset.works", "dagster.asset.breaks")

    again, _ = tick(cursor)
    assert again.skip_message.startswith("0 lineage events"), "a recorded run adds nothing"
    assert len(_events(outbox)) == before + 4
    if not spec.SPEC.is_dir():
        pytest.skip(spec.MISSING)
    assert [spec.event_errors(e) for e in _events(outbox) if spec.event_errors(e)] == []
