"""Dataset names in OpenLineage: one namespace for the warehouse, one for landing files.

Every emitter (ingestion, reference data, dbt) names a dataset through these functions, so the
output of one job and the input of the next are the same dataset in a lineage backend:
- warehouse tables: namespace `duckdb://<warehouse file>` (the embedded default; another
  warehouse gets its own scheme), name `<schema>.<table>`;
- landing and reference files: namespace `file`, name the file's absolute path.
"""

from __future__ import annotations

from pathlib import Path

FILE_NAMESPACE = "file"


def warehouse_namespace(warehouse: Path | str) -> str:
    return f"duckdb://{Path(warehouse).resolve().as_posix()}"


def table_name(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def file_name(path: Path | str) -> str:
    return Path(path).resolve().as_posix()
