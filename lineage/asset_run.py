"""OpenLineage events around one asset run: START when it begins, then COMPLETE with the
datasets the body recorded, or FAIL with the error when the body raises (the error is
re-raised: the orchestrator still fails the step and does not run what depends on it). The run
id is derived from the Dagster run id and the asset, so a re-emitted or replayed run is the
same run. No Dagster here: the caller passes the run's ids; what an asset read and wrote (with
its contract results) it hands over as data (`LineageRun.inputs`, `.outputs`).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from biotwin.settings import PROJECT_ROOT, settings
from lineage import events, facets
from lineage.catalogue import schema_columns
from lineage.code_version import code_version
from lineage.column_lineage import Catalogue
from lineage.naming import asset_job_name, dagster_job_name, table_name, warehouse_namespace
from lineage.outbox import Outbox

Dataset = tuple[str, str, Mapping[str, Any]]


@dataclass
class LineageRun:
    """What the asset body tells the COMPLETE event: datasets read and written."""

    run_id: str
    job_name: str
    namespace: str
    inputs: list[Dataset] = field(default_factory=list)
    outputs: list[Dataset] = field(default_factory=list)


def job_facets(kind: str, path: str) -> dict[str, Any]:
    return {
        "jobType": facets.job_type("DAGSTER", kind),
        "sourceCodeLocation": facets.code_location(code_version(), PROJECT_ROOT.as_uri(), path),
    }


@contextmanager
def openlineage_run(
    outbox_dir: Path,
    dagster_run_id: str,
    dagster_job: str,
    asset: str,
    code_path: str,
) -> Iterator[LineageRun]:
    """START now; COMPLETE or FAIL when the body ends. `asset`: its key (`raw/historian`) or
    op name; `code_path`: the asset's module. The parent is the Dagster run (its own events:
    orchestration/lineage_runs.py)."""
    namespace = settings().openlineage_namespace
    outbox = Outbox(outbox_dir)
    job_name = asset_job_name(asset)
    run = LineageRun(events.run_id(dagster_run_id, job_name), job_name, namespace)
    dagster_run = (dagster_run_id, namespace, dagster_job_name(dagster_job))
    run_facets = {"parent": facets.parent(dagster_run)}
    jobs = job_facets("ASSET", code_path)

    def emit(state: str, extra: Mapping[str, Any] | None = None) -> None:
        event = events.run_event(
            state,
            datetime.now(UTC),
            run.run_id,
            namespace,
            job_name,
            inputs=run.inputs,
            outputs=run.outputs,
            run_facets={**run_facets, **(extra or {})},
            job_facets=jobs,
        )
        outbox.append(events.to_dict(event))

    emit("START")
    try:
        yield run
    except BaseException as exc:
        emit("FAIL", {"errorMessage": facets.error_message(str(exc), traceback.format_exc())})
        raise
    emit("COMPLETE")


def table_dataset(
    catalogue: Catalogue, schema: str, table: str, extra: Mapping[str, Any] = {}
) -> Dataset:
    """A warehouse table as an output dataset with its schema facet."""
    found = {"schema": facets.schema(schema_columns(catalogue, schema, table))}
    return (warehouse_namespace(), table_name(schema, table), {**found, **extra})
