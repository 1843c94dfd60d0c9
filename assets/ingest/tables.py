"""Warehouse tables written by ingestion: `raw.*` (append-only), the ledger and quarantine.

Every raw table carries the same provenance columns; values are kept as the source wrote them
(`*_raw` strings) beside what could be parsed without interpretation.
"""

from __future__ import annotations

import duckdb

# What every raw row stores about where it came from. The file-level provenance (sha256, path,
# run, time) is stored once per file in raw.loaded_file, not once per row: writing those
# strings 50 M times was most of the cost of ingesting a big historian.
STORED_PROVENANCE = (
    ("_file_id", "INTEGER"),  # raw.loaded_file.file_id
    ("_row_number", "BIGINT"),  # 1-based record position in the file (or in a JSON section)
    ("_position", "VARCHAR"),  # position key when a row number is not enough (JSON pointer…)
)

# What every raw view shows (DESIGN's provenance columns). The record id is deterministic:
# sha256(file sha256 || ':' || position), position = _position or _row_number;
# assets.ingest.core.record_id computes the same value.
VIEW_PROVENANCE = (
    "sha256(f.file_sha256 || ':' || coalesce(r._position, CAST(r._row_number AS VARCHAR))) "
    "AS _record_id",
    "f.file_sha256 AS _file_sha256",
    "f.source_path AS _source_path",
    "r._row_number",
    "r._position",
    "f.ingested_at AS _ingested_at",
    "f.run_id AS _run_id",
)

LOADED_FILE = (
    ("_file_id", "INTEGER"),
    ("file_sha256", "VARCHAR"),
    ("source_path", "VARCHAR"),
    ("system", "VARCHAR"),
    ("site_id", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("ingested_at", "TIMESTAMPTZ"),
)

RAW_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "historian_point": (
        ("site_id", "VARCHAR"),
        ("source_format", "VARCHAR"),
        ("tag", "VARCHAR"),
        ("ts_raw", "VARCHAR"),
        ("ts_utc", "TIMESTAMPTZ"),
        ("ts_local", "TIMESTAMP"),
        ("value", "DOUBLE"),
        ("value_raw", "VARCHAR"),
        ("digital_state", "VARCHAR"),
        ("quality", "VARCHAR"),
        ("units", "VARCHAR"),
    ),
    "mes_batch_record": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("schema_version", "VARCHAR"),
        ("record_site_id", "VARCHAR"),
        ("product_id", "VARCHAR"),
        ("process_type", "VARCHAR"),
        ("recipe_id", "VARCHAR"),
        ("recipe_version", "VARCHAR"),
        ("status", "VARCHAR"),
        ("coi_id", "VARCHAR"),
        ("donor_id", "VARCHAR"),
        ("lims_alias", "VARCHAR"),
        ("last_changed_at_raw", "VARCHAR"),
        ("last_changed_at_utc", "TIMESTAMPTZ"),
        ("document_json", "VARCHAR"),
    ),
    "mes_phase": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("unit_procedure", "VARCHAR"),
        ("operation", "VARCHAR"),
        ("phase", "VARCHAR"),
        ("equipment_id", "VARCHAR"),
        ("start_raw", "VARCHAR"),
        ("start_utc", "TIMESTAMPTZ"),
        ("end_raw", "VARCHAR"),
        ("end_utc", "TIMESTAMPTZ"),
    ),
    "mes_parameter": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("phase", "VARCHAR"),
        ("name", "VARCHAR"),
        ("setpoint", "DOUBLE"),
        ("actual", "DOUBLE"),
        ("unit", "VARCHAR"),
        ("recorded_at_raw", "VARCHAR"),
        ("recorded_at_utc", "TIMESTAMPTZ"),
        ("recorded_by", "VARCHAR"),
    ),
    "mes_material": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("phase", "VARCHAR"),
        ("material_id", "VARCHAR"),
        ("lot", "VARCHAR"),
        ("quantity", "DOUBLE"),
        ("unit", "VARCHAR"),
        ("consumed_at_raw", "VARCHAR"),
        ("consumed_at_utc", "TIMESTAMPTZ"),
    ),
    "mes_signature": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("phase", "VARCHAR"),
        ("signer", "VARCHAR"),
        ("meaning", "VARCHAR"),
        ("signed_at_raw", "VARCHAR"),
        ("signed_at_utc", "TIMESTAMPTZ"),
    ),
    "mes_deviation": (
        ("site_id", "VARCHAR"),
        ("batch_id", "VARCHAR"),
        ("record_version", "INTEGER"),
        ("deviation_id", "VARCHAR"),
        ("classification", "VARCHAR"),
        ("phase", "VARCHAR"),
        ("opened_at_raw", "VARCHAR"),
        ("opened_at_utc", "TIMESTAMPTZ"),
        ("description", "VARCHAR"),
    ),
    "lims_result": (
        ("site_id", "VARCHAR"),
        ("sample_number", "VARCHAR"),
        ("text_id", "VARCHAR"),
        ("batch_ref", "VARCHAR"),
        ("sample_point", "VARCHAR"),
        ("sampled_on_raw", "VARCHAR"),
        ("analysis", "VARCHAR"),
        ("component", "VARCHAR"),
        ("replicate", "VARCHAR"),
        ("result_status", "VARCHAR"),
        ("entry", "VARCHAR"),
        ("numeric_entry_raw", "VARCHAR"),
        ("numeric_entry", "DOUBLE"),
        ("units", "VARCHAR"),
        ("spec_min_raw", "VARCHAR"),
        ("spec_max_raw", "VARCHAR"),
        ("entered_by", "VARCHAR"),
        ("entered_on_raw", "VARCHAR"),
        ("reviewed_by", "VARCHAR"),
        ("reviewed_on_raw", "VARCHAR"),
        ("changed_on_raw", "VARCHAR"),
        ("change_reason", "VARCHAR"),
        # parsed at ingestion (site formats): the instant when written with an offset, else
        # the site's wall clock (resolved with its zone in dbt)
        ("sampled_on_utc", "TIMESTAMPTZ"),
        ("sampled_on_local", "TIMESTAMP"),
        ("changed_on_utc", "TIMESTAMPTZ"),
        ("changed_on_local", "TIMESTAMP"),
    ),
    "instrument_measurement": (
        ("site_id", "VARCHAR"),
        ("vendor", "VARCHAR"),
        ("sample_id", "VARCHAR"),
        ("instrument_batch_id", "VARCHAR"),
        ("measured_at_raw", "VARCHAR"),
        ("measured_at_utc", "TIMESTAMPTZ"),
        ("assumed_timezone", "VARCHAR"),
        ("field", "VARCHAR"),
        ("value", "DOUBLE"),
        ("value_raw", "VARCHAR"),
        ("unit", "VARCHAR"),
        ("censor", "VARCHAR"),
        ("flag", "VARCHAR"),
        ("parser", "VARCHAR"),
        # what a field was measured on: a PCR well's DNA target, a flow population's gate path
        ("target", "VARCHAR"),
        ("well", "VARCHAR"),
    ),
    "custody_event": (
        ("site_id", "VARCHAR"),
        ("coi_id", "VARCHAR"),
        ("event_type", "VARCHAR"),
        ("event_time_raw", "VARCHAR"),
        ("event_time_utc", "TIMESTAMPTZ"),
        ("event_time_local", "TIMESTAMP"),
        ("location", "VARCHAR"),
        ("custodian", "VARCHAR"),
        ("signed_by", "VARCHAR"),
        ("container_id", "VARCHAR"),
        ("temperature_c_raw", "VARCHAR"),
        ("temperature_c", "DOUBLE"),
        ("notes", "VARCHAR"),
    ),
}

# The raw tables each system's ingestion writes; the first is the one its contract describes.
SYSTEM_TABLES: dict[str, tuple[str, ...]] = {
    system: tuple(t for t in RAW_TABLES if t.startswith(prefix))
    for system, prefix in (
        ("historian", "historian_"),
        ("mes", "mes_"),
        ("lims", "lims_"),
        ("instruments", "instrument_"),
        ("custody", "custody_"),
    )
}

LEDGER = (
    ("file_sha256", "VARCHAR"),
    ("source_path", "VARCHAR"),
    ("size_bytes", "BIGINT"),
    ("system", "VARCHAR"),
    ("site_id", "VARCHAR"),
    ("status", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("contract", "VARCHAR"),
    ("contract_version", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("first_seen_at", "TIMESTAMPTZ"),
    ("processed_at", "TIMESTAMPTZ"),
)

QUARANTINE = (
    ("file_sha256", "VARCHAR"),
    ("source_path", "VARCHAR"),
    ("row_number", "BIGINT"),
    ("raw_content", "VARCHAR"),
    ("contract", "VARCHAR"),
    ("contract_version", "VARCHAR"),
    ("check_name", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("quarantined_at", "TIMESTAMPTZ"),
)


def stored_table(table: str) -> str:
    """Name of the table behind the raw view `table` (internal: read the view)."""
    return f"_{table}"


def columns(table: str) -> tuple[tuple[str, str], ...]:
    """The stored columns of a raw table, provenance first (what an INSERT provides)."""
    return STORED_PROVENANCE + RAW_TABLES[table]


def _cols(cols: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f'"{n}" {t}' for n, t in cols)


def create_statements() -> list[str]:
    """Idempotent DDL for the schemas, tables and views ingestion writes."""
    out = ["CREATE SCHEMA IF NOT EXISTS raw", "CREATE SCHEMA IF NOT EXISTS ref"]
    out.append(f"CREATE TABLE IF NOT EXISTS raw.loaded_file ({_cols(LOADED_FILE)})")
    for name, cols in (("file_ledger", LEDGER), ("quarantine", QUARANTINE)):
        out.append(f"CREATE TABLE IF NOT EXISTS raw.{name} ({_cols(cols)})")
    for table in RAW_TABLES:
        out.append(
            f"CREATE TABLE IF NOT EXISTS raw.{stored_table(table)} ({_cols(columns(table))})"
        )
        out.append(f"CREATE OR REPLACE VIEW raw.{table} AS {view_select(table)}")
    return out


def view_select(table: str) -> str:
    """The SELECT of the raw view `table`: the stored rows (alias `r`) with their file's
    provenance (alias `f`). The lake export (biotwin/lake.py) adds a WHERE on r._file_id."""
    data_cols = ", ".join(f'r."{n}"' for n, _ in RAW_TABLES[table])
    return (
        f"SELECT {', '.join(VIEW_PROVENANCE)}, {data_cols} "  # noqa: S608 - the project's own names
        f"FROM raw.{stored_table(table)} AS r JOIN raw.loaded_file AS f USING (_file_id)"
    )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    old = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
        "AND table_name = 'historian_point' AND table_type = 'BASE TABLE'"
    ).fetchall()[0][0]
    if old:
        msg = (
            "this warehouse was written by an older biotwin (raw tables without "
            "raw.loaded_file); move it aside or delete it and ingest again"
        )
        raise RuntimeError(msg)
    statements = create_statements()
    views = [s for s in statements if s.startswith("CREATE OR REPLACE VIEW")]
    for statement in statements:
        if statement not in views:
            con.execute(statement)
    _add_new_columns(con)
    for statement in views:
        con.execute(statement)


def _add_new_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Columns a newer biotwin added to a raw table (null in the rows loaded before), so a
    warehouse keeps working across an upgrade (the views are created after this)."""
    existing = set(
        con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw'"
        ).fetchall()
    )
    for table in RAW_TABLES:
        stored = stored_table(table)
        for name, kind in columns(table):
            if (stored, name) not in existing:
                con.execute(f'ALTER TABLE raw.{stored} ADD COLUMN "{name}" {kind}')
