"""The raw data as Parquet datasets a second engine reads (docs/scale-out.md).

Ingestion writes one DuckDB file (ledger, contracts, quarantine: nothing changes there). For an
engine that cannot open that file (Spark), `export` copies what dbt's sources read into
`<lake>/<schema>/<table>/`: every raw table as its view shows it (record ids and provenance
included, so both engines see the same rows byte for byte), the file ledger and the reference
tables. Raw tables are append-only, so each export writes one new Parquet file per table with
the rows of the files loaded since the last export (`_file_id` above the watermark kept in
`<lake>/exported.json`); the ledger and the reference tables are small and rewritten whole.
Nothing here runs unless an engine other than DuckDB is used: the embedded default pays nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from assets.contracts.reference import MODELS as REFERENCE_FILES
from assets.ingest.tables import RAW_TABLES, stored_table, view_select
from biotwin.warehouse import one_row, sql_literal

WHOLE_TABLES = (
    ("raw", "file_ledger"),
    ("raw", "quarantine"),
    *(("ref", name.removesuffix(".csv")) for name in REFERENCE_FILES),
)
STATE = "exported.json"


def table_dir(lake: Path, schema: str, table: str) -> Path:
    return lake / schema / table


def export(con: duckdb.DuckDBPyConnection, lake: Path) -> dict[str, int]:
    """Append the raw rows of files loaded since the last export, rewrite the ledger and the
    reference tables; return rows written per table. Safe to repeat: a second export with no
    new file writes no raw rows."""
    lake.mkdir(parents=True, exist_ok=True)
    state_path = lake / STATE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    written: dict[str, int] = {}
    (last_id,) = one_row(con, "SELECT coalesce(max(_file_id), 0) FROM raw.loaded_file")
    for table in RAW_TABLES:
        since = int(state.get(table, 0))
        # whether there is anything new: on the stored rows (no join, no record-id hashing)
        (new,) = one_row(
            con,
            f"SELECT count(*) FROM raw.{stored_table(table)} WHERE _file_id > {since}",  # noqa: S608
        )
        if new:
            folder = table_dir(lake, "raw", table)
            folder.mkdir(parents=True, exist_ok=True)
            target = sql_literal(str(folder / f"part-{since + 1:09d}-{last_id:09d}.parquet"))
            query = f"{view_select(table)} WHERE r._file_id > {since}"
            con.execute(f"COPY ({query}) TO {target} (FORMAT parquet)")
        written[table] = int(new)
        state[table] = int(last_id)
    for schema, table in WHOLE_TABLES:
        folder = table_dir(lake, schema, table)
        folder.mkdir(parents=True, exist_ok=True)
        target = sql_literal(str(folder / "data.parquet"))
        # COPY answers with the rows it wrote
        (written[f"{schema}.{table}"],) = one_row(
            con, f"COPY {schema}.{table} TO {target} (FORMAT parquet)"
        )
    state_path.write_text(json.dumps(state, indent=1) + "\n")
    return written
