"""Dataset names in OpenLineage: one namespace for the warehouse, one for landing files.

Every emitter (ingestion, reference data, dbt) names a dataset through these functions, so the
output of one job and the input of the next are the same dataset in a lineage backend:
- warehouse tables: namespace `duckdb://<installation>`, name `<schema>.<table>`. The
  installation is `OPENLINEAGE_NAMESPACE` (default `biotwin`; a site sets e.g.
  `bos-prod`). The OpenLineage naming spec makes a namespace the datasource instance
  (`postgres://{host}:{port}`); an embedded DuckDB file has no host or port, and its path is no
  identity: the same warehouse copied or moved, restored from a backup, is the same
  datasource. So the instance is named by the installation, not by the file;
- landing and reference files: namespace `file`, name the file's absolute path.

Job names follow one scheme, `<integration>.<kind>.<name>`, dot-separated like the spec's own
examples (`{dag_id}.{task_id}`), in the installation's namespace:
- a Dagster run: `dagster.job.<job>` (e.g. `dagster.job.main`), the parent of its assets;
- an asset's run: `dagster.asset.<key, dotted>` (`dagster.asset.raw.historian`); an asset is
  named for itself, not for the Dagster job that ran it, so the same asset is one job in a lineage
  backend whichever job, sensor or schedule materialised it;
- a dbt node's run: `dbt.<resource type>.<name>` (`dbt.model.dim_batch`), a child of the dbt
  asset's run.
"""

from __future__ import annotations

from pathlib import Path

FILE_NAMESPACE = "file"


def warehouse_namespace(installation: str | None = None) -> str:
    """`duckdb://<installation>`: the same for every copy of a warehouse, wherever it lies."""
    from biotwin.settings import settings

    return f"duckdb://{installation or settings().openlineage_namespace}"


def dagster_job_name(job: str) -> str:
    """The lineage job of a Dagster run of `job`."""
    return f"dagster.job.{job}"


def asset_job_name(asset: str) -> str:
    """The lineage job of an asset's run: `raw/historian` -> `dagster.asset.raw.historian`."""
    return "dagster.asset." + asset.replace("/", ".")


def dbt_job_name(resource_type: str, name: str) -> str:
    """The lineage job of a dbt node's run: (`model`, `dim_batch`) -> `dbt.model.dim_batch`."""
    return f"dbt.{resource_type}.{name}"


def table_name(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def file_name(path: Path | str) -> str:
    return Path(path).resolve().as_posix()
