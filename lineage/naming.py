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
"""

from __future__ import annotations

from pathlib import Path

FILE_NAMESPACE = "file"


def warehouse_namespace(installation: str | None = None) -> str:
    """`duckdb://<installation>`: the same for every copy of a warehouse, wherever it lies."""
    from biotwin.settings import settings

    return f"duckdb://{installation or settings().openlineage_namespace}"


def table_name(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def file_name(path: Path | str) -> str:
    return Path(path).resolve().as_posix()
