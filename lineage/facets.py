"""OpenLineage facets built from biotwin's own facts: pure functions, no I/O.

Each returns an `openlineage.client.facet_v2` object, so the client's serialiser writes the
facet's `_producer` and `_schemaURL`; tests validate the result against the official schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    error_message_run,
    job_type_job,
    parent_run,
    schema_dataset,
    source_code_location_job,
    sql_job,
)


def schema(columns: Iterable[tuple[str, str, str | None]]) -> schema_dataset.SchemaDatasetFacet:
    """Columns as (name, type, description)."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=kind, description=description)
            for name, kind, description in columns
        ]
    )


def column_lineage(
    fields: Mapping[str, Sequence[tuple[str, str, str]]],
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """Output column -> the (namespace, dataset, column) it is computed from."""
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(namespace=ns, name=name, field=field)
                    for ns, name, field in sources
                ]
            )
            for column, sources in fields.items()
        }
    )


def quality_assertions(
    assertions: Iterable[tuple[str, bool, str | None]],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    """Contract checks and dbt tests as (assertion, passed, column or None)."""
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(assertion=name, success=ok, column=column)
            for name, ok, column in assertions
        ]
    )


def error_message(
    message: str, stack_trace: str | None = None
) -> error_message_run.ErrorMessageRunFacet:
    return error_message_run.ErrorMessageRunFacet(
        message=message, programmingLanguage="python", stackTrace=stack_trace
    )


RunRef = tuple[str, str, str]  # (run id, job namespace, job name)


def parent(of: RunRef, root: RunRef | None = None) -> parent_run.ParentRunFacet:
    """Ties a run to the run that started it (an asset's run to its Dagster run, a dbt node's
    to the dbt asset's) and to the root of the tree, the Dagster run (spec 1-2-0 `root`)."""
    run_id, namespace, name = of
    top = None
    if root is not None and root != of:
        top = parent_run.Root(
            run=parent_run.RootRun(runId=root[0]),
            job=parent_run.RootJob(namespace=root[1], name=root[2]),
        )
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=name),
        root=top,
    )


def code_location(version: str, url: str, path: str | None = None):
    """Where the job's code lives and which version ran (git commit)."""
    return source_code_location_job.SourceCodeLocationJobFacet(
        type="git", url=url, path=path, version=version
    )


def sql(query: str) -> sql_job.SQLJobFacet:
    """The statement a dbt model ran (compiled), so a reviewer sees the exact logic."""
    return sql_job.SQLJobFacet(query=query, dialect="duckdb")


def job_type(integration: str, kind: str) -> job_type_job.JobTypeJobFacet:
    """Batch job of `integration` (DAGSTER, DBT) of one kind (ASSET, MODEL, SEED)."""
    return job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration=integration, jobType=kind
    )
