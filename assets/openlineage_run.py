"""OpenLineage events around one Dagster asset run (the edge between Dagster and `lineage`).

`openlineage_run` writes START to the outbox when the asset begins, then COMPLETE with the
datasets the body recorded, or FAIL with the error when the body raises (the error is re-raised:
Dagster still fails the step and does not run what depends on it). The run id is derived from
the Dagster run id and the asset, so a re-emitted or replayed run is the same run.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb

from assets.contracts.assertions import contract_assertions, model_checks
from assets.ingest.tables import SYSTEM_TABLES
from biotwin.settings import PROJECT_ROOT, settings
from lineage import events, facets
from lineage.catalogue import read_catalogue, schema_columns
from lineage.code_version import code_version
from lineage.column_lineage import Catalogue
from lineage.naming import (
    FILE_NAMESPACE,
    asset_job_name,
    dagster_job_name,
    file_name,
    table_name,
    warehouse_namespace,
)
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


def ingestion_datasets(
    con: duckdb.DuckDBPyConnection,
    system: str,
    dagster_run_id: str,
    landing: Path,
    contract: ModuleType,
) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs: every landing file this run processed (loaded, quarantined or refused).
    Outputs: the system's raw tables, the ledger and the quarantine; the contract's checks,
    with what this run quarantined, on the table the contract describes."""
    files = con.execute(
        "SELECT DISTINCT source_path FROM raw.file_ledger WHERE system = ? AND run_id = ? "
        "ORDER BY 1",
        [system, dagster_run_id],
    ).fetchall()
    failed = con.execute(
        "SELECT DISTINCT check_name FROM raw.quarantine WHERE contract = ? AND run_id = ?",
        [contract.CONTRACT, dagster_run_id],
    ).fetchall()
    catalogue = read_catalogue(con)
    assertions = facets.quality_assertions(contract_assertions(contract, [f for (f,) in failed]))
    tables = SYSTEM_TABLES[system]
    outputs = [
        table_dataset(
            catalogue,
            "raw",
            table,
            {"dataQualityAssertions": assertions} if table == tables[0] else {},
        )
        for table in tables
    ]
    outputs += [table_dataset(catalogue, "raw", t) for t in ("file_ledger", "quarantine")]
    inputs = [(FILE_NAMESPACE, file_name(landing / path), {}) for (path,) in files]
    return inputs, outputs


def reference_datasets(
    con: duckdb.DuckDBPyConnection, folder: Path, contract: ModuleType
) -> tuple[list[Dataset], list[Dataset]]:
    """Inputs: the reference CSVs; outputs: the ref.* tables (a load that breaks a contract
    raises, so on COMPLETE every declared check passed)."""
    catalogue = read_catalogue(con)
    inputs, outputs = [], []
    for csv_name, model in contract.MODELS.items():
        table = csv_name.removesuffix(".csv")
        checks = [(name, True, column) for name, column in model_checks(model)]
        source = file_name(folder / csv_name)
        inputs.append((FILE_NAMESPACE, source, {}))
        columns = catalogue.get("ref", {}).get(table, {})
        extra = {
            "dataQualityAssertions": facets.quality_assertions(checks),
            # each table is its own CSV, column for column
            "columnLineage": facets.column_lineage(
                {column: [(FILE_NAMESPACE, source, column)] for column in columns}
            ),
        }
        outputs.append(table_dataset(catalogue, "ref", table, extra))
    return inputs, outputs
