"""Connections to the embedded DuckDB warehouse, with the settings every writer needs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest.tables import RAW_TABLES, columns, create_statements, stored_table

MEMORY_LIMIT = "2GB"  # unbounded joins reach 6 GB; DuckDB spills beyond this


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers: one process at a time (DuckDB's rule); readers read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET temp_directory = ?", [str(path.parent / "duckdb_tmp")])
    con.execute("SET preserve_insertion_order = true")
    return con


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
