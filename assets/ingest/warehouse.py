"""Connections to the embedded DuckDB warehouse, with the settings every writer needs."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest.tables import create_statements

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
    for statement in create_statements():
        con.execute(statement)
