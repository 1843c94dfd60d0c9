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

from assets.ingest.tables import RAW_TABLES, view_select

REFERENCE_TABLES = (
    "sites",
    "parameters",
    "units",
    "tags",
    "lab_tests",
    "instrument_fields",
    "specifications",
    "processes",
    "site_formats",
    "derived_parameters",
)
WHOLE_TABLES = (
    ("raw", "file_ledger"),
    ("raw", "quarantine"),
    *(("ref", t) for t in REFERENCE_TABLES),
)
STATE = "exported.json"


def table_dir(lake: Path, schema: str, table: str) -> Path:
    return lake / schema / table


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export(con: duckdb.DuckDBPyConnection, lake: Path) -> dict[str, int]:
    """Append the raw rows of files loaded since the last export, rewrite the ledger and the
    reference tables; return rows written per table. Safe to repeat: a second export with no
    new file writes no raw rows."""
    lake.mkdir(parents=True, exist_ok=True)
    state_path = lake / STATE
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    written: dict[str, int] = {}
    (last_id,) = con.execute("SELECT coalesce(max(_file_id), 0) FROM raw.loaded_file").fetchone()
    for table in RAW_TABLES:
        since = int(state.get(table, 0))
        query = f"{view_select(table)} WHERE r._file_id > {since}"
        (n,) = con.execute(f"SELECT count(*) FROM ({query})").fetchone()  # noqa: S608
        if n:
            folder = table_dir(lake, "raw", table)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"part-{since + 1:09d}-{last_id:09d}.parquet"
            con.execute(f"COPY ({query}) TO {_literal(target)} (FORMAT parquet)")
        written[table] = int(n)
        state[table] = int(last_id)
    for schema, table in WHOLE_TABLES:
        folder = table_dir(lake, schema, table)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "data.parquet"
        con.execute(f"COPY {schema}.{table} TO {_literal(target)} (FORMAT parquet)")
        (written[f"{schema}.{table}"],) = con.execute(
            f"SELECT count(*) FROM {schema}.{table}"  # noqa: S608
        ).fetchone()
    state_path.write_text(json.dumps(state, indent=1) + "\n")
    return written
